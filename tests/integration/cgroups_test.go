package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests check linux.resources on this machine's hybrid host natively: the limits land in the v1 controller
// directories named by state.json's "cgroup_paths" (the key runc 1.1.5 uses too), and the kernel enforces them.
// The pure cgroup v2 equivalents run inside User-mode Linux (make test-cgroupv2).

// cgroupPaths returns the container's cgroup directories by controller, from <root>/<id>/state.json.
func cgroupPaths(t *testing.T, id string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(stateRoot(t), id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		CgroupPaths map[string]string `json:"cgroup_paths"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("state.json of %s: %v", id, err)
	}
	if len(st.CgroupPaths) == 0 {
		t.Fatalf("state.json of %s has no cgroup_paths", id)
	}
	return st.CgroupPaths
}

// cgroupFile returns the trimmed content of file in the container's directory of controller, failing the test
// when the controller or the file is missing.
func cgroupFile(t *testing.T, paths map[string]string, controller, file string) string {
	t.Helper()
	dir, ok := paths[controller]
	if !ok {
		t.Fatalf("no %s cgroup in %v", controller, paths)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// flatKeyed returns the value of key in a "key value" per line cgroup file (memory.oom_control, pids.events).
func flatKeyed(t *testing.T, content, key string) int64 {
	t.Helper()
	for _, line := range strings.Split(content, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("%s in %q: %v", key, content, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %q", key, content)
	return 0
}

func ptrInt64(v int64) *int64    { return &v }
func ptrUint64(v uint64) *uint64 { return &v }

// withResources is a bundle mutator that runs sleeper with the given linux.resources (keeping the device rules).
func withResources(set func(r *specs.LinuxResources)) func(*specs.Spec) {
	return func(s *specs.Spec) {
		sleeper(s)
		set(s.Linux.Resources)
	}
}

// TestCgroupMemoryOOM: a 32 MiB memory limit is enforced by the kernel: a process that touches 64 MiB is
// OOM-killed, `run` exits 137 (128+SIGKILL), and the memory cgroup counts the kill (memory.oom_control's
// oom_kill, kernel 4.13+) and the failed charges (memory.failcnt). There is no swap here, so nothing can be paged
// out instead.
func TestCgroupMemoryOOM(t *testing.T) {
	t.Parallel()
	const limit = 32 << 20
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"/probe", "alloc", "64"}
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptrInt64(limit)}
	})
	id := newID(t)
	r := rt(t, "run", "--keep", "--bundle", b, id)
	if r.Code != 137 {
		t.Fatalf("run of a 64 MiB allocation under a 32 MiB limit: %v, want exit 137 (OOM-killed)", r)
	}
	paths := cgroupPaths(t, id)
	if got := cgroupFile(t, paths, "memory", "memory.limit_in_bytes"); got != strconv.Itoa(limit) {
		t.Errorf("memory.limit_in_bytes = %s, want %d", got, limit)
	}
	if n := flatKeyed(t, cgroupFile(t, paths, "memory", "memory.oom_control"), "oom_kill"); n < 1 {
		t.Errorf("memory.oom_control oom_kill = %d, want >= 1", n)
	}
	if n, _ := strconv.Atoi(cgroupFile(t, paths, "memory", "memory.failcnt")); n < 1 {
		t.Errorf("memory.failcnt = %d, want >= 1", n)
	}
	mustRT(t, "delete", id)
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestCgroupPidsLimit: pids.max refuses forks: a shell that starts background sleeps under a limit of 8 tasks
// cannot finish its loop (ash exits with "can't fork"), and pids.events counts the refusals.
func TestCgroupPidsLimit(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "i=0; while [ $i -lt 16 ]; do sleep 1000 & i=$((i+1)); done; echo survived"}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptrInt64(8)}
	})
	id := newID(t)
	r := rt(t, "run", "--keep", "--bundle", b, id)
	if r.Code == 0 || strings.Contains(r.Stdout, "survived") || !strings.Contains(r.Stderr, "can't fork") {
		t.Errorf("16 forks under pids.max 8: %v, want the shell to fail with \"can't fork\"", r)
	}
	paths := cgroupPaths(t, id)
	if got := cgroupFile(t, paths, "pids", "pids.max"); got != "8" {
		t.Errorf("pids.max = %s, want 8", got)
	}
	if n := flatKeyed(t, cgroupFile(t, paths, "pids", "pids.events"), "max"); n < 1 {
		t.Errorf("pids.events max = %d, want >= 1", n)
	}
	mustRT(t, "delete", id)
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestCgroupLimitsWritten: each linux.resources field reaches its v1 file (runc's fs driver file names).
func TestCgroupLimitsWritten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		set        func(r *specs.LinuxResources)
		controller string
		file       string
		want       string
	}{
		{name: "cpu quota", set: func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{Quota: ptrInt64(50000), Period: ptrUint64(100000)}
		}, controller: "cpu", file: "cpu.cfs_quota_us", want: "50000"},
		{name: "cpu period", set: func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{Quota: ptrInt64(20000), Period: ptrUint64(40000)}
		}, controller: "cpu", file: "cpu.cfs_period_us", want: "40000"},
		{name: "cpu shares", set: func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{Shares: ptrUint64(512)}
		}, controller: "cpu", file: "cpu.shares", want: "512"},
		{name: "memory limit", set: func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: ptrInt64(64 << 20)}
		}, controller: "memory", file: "memory.limit_in_bytes", want: strconv.Itoa(64 << 20)},
		{name: "memory reservation", set: func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: ptrInt64(64 << 20), Reservation: ptrInt64(16 << 20)}
		}, controller: "memory", file: "memory.soft_limit_in_bytes", want: strconv.Itoa(16 << 20)},
		{name: "pids limit", set: func(r *specs.LinuxResources) {
			r.Pids = &specs.LinuxPids{Limit: ptrInt64(42)}
		}, controller: "pids", file: "pids.max", want: "42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, _ := runDetached(t, bundle(t, withResources(tc.set)))
			if got := cgroupFile(t, cgroupPaths(t, id), tc.controller, tc.file); got != tc.want {
				t.Errorf("%s = %s, want %s", tc.file, got, tc.want)
			}
		})
	}
}

// TestCgroupUpdate: `update` changes the limits of a running container live, each flag in its v1 file, and the
// container sees the new memory limit in its own (namespaced, read-only) /sys/fs/cgroup.
func TestCgroupUpdate(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Memory = &specs.LinuxMemory{Limit: ptrInt64(64 << 20)}
		r.Pids = &specs.LinuxPids{Limit: ptrInt64(100)}
		r.CPU = &specs.LinuxCPU{Quota: ptrInt64(50000), Period: ptrUint64(100000)}
	})))
	paths := cgroupPaths(t, id)
	tests := []struct {
		name       string
		flags      []string
		controller string
		file       string
		want       string
	}{
		{name: "memory", flags: []string{"--memory", "48M"}, controller: "memory", file: "memory.limit_in_bytes", want: strconv.Itoa(48 << 20)},
		{name: "memory in bytes", flags: []string{"--memory", "41943040"}, controller: "memory", file: "memory.limit_in_bytes", want: "41943040"},
		{name: "pids", flags: []string{"--pids-limit", "50"}, controller: "pids", file: "pids.max", want: "50"},
		{name: "cpu quota", flags: []string{"--cpu-quota", "25000"}, controller: "cpu", file: "cpu.cfs_quota_us", want: "25000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustRT(t, append(append([]string{"update"}, tc.flags...), id)...)
			if got := cgroupFile(t, paths, tc.controller, tc.file); got != tc.want {
				t.Errorf("after update %v: %s = %s, want %s", tc.flags, tc.file, got, tc.want)
			}
		})
	}
	t.Run("seen inside", func(t *testing.T) {
		r := mustRT(t, "exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
		if got := strings.TrimSpace(r.Stdout); got != "41943040" {
			t.Errorf("memory.limit_in_bytes inside = %q, want 41943040", got)
		}
	})
}

// TestCgroupPauseResume: pause freezes the container's v1 freezer cgroup (freezer.state FROZEN, status paused),
// resume thaws it (THAWED, running).
func TestCgroupPauseResume(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	paths := cgroupPaths(t, id)
	for _, step := range []struct {
		cmd, status, freezer string
	}{
		{cmd: "pause", status: "paused", freezer: "FROZEN"},
		{cmd: "resume", status: "running", freezer: "THAWED"},
	} {
		mustRT(t, step.cmd, id)
		if got := status(t, id); got != step.status {
			t.Errorf("after %s: status %q, want %s", step.cmd, got, step.status)
		}
		if got := cgroupFile(t, paths, "freezer", "freezer.state"); got != step.freezer {
			t.Errorf("after %s: freezer.state %s, want %s", step.cmd, got, step.freezer)
		}
	}
}

// eventsStats is the part of runc's `events --stats` JSON the tests read (runc types.Event / types.Stats).
type eventsStats struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		Memory struct {
			Usage struct {
				Usage uint64 `json:"usage"`
				Limit uint64 `json:"limit"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

// TestCgroupEventsStats: `events --stats` prints one stats event whose memory usage and limit, and pids count
// and limit, are the cgroup's.
func TestCgroupEventsStats(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Memory = &specs.LinuxMemory{Limit: ptrInt64(64 << 20)}
		r.Pids = &specs.LinuxPids{Limit: ptrInt64(20)}
	})))
	r := mustRT(t, "events", "--stats", id)
	var ev eventsStats
	decode(t, r.Stdout, &ev)
	if ev.Type != "stats" || ev.ID != id {
		t.Errorf("event type %q id %q, want stats %s", ev.Type, ev.ID, id)
	}
	if ev.Data.Memory.Usage.Usage == 0 {
		t.Errorf("memory usage 0 in %s", r.Stdout)
	}
	if ev.Data.Memory.Usage.Limit != 64<<20 {
		t.Errorf("memory limit %d, want %d", ev.Data.Memory.Usage.Limit, 64<<20)
	}
	if ev.Data.Pids.Current != 1 || ev.Data.Pids.Limit != 20 {
		t.Errorf("pids current %d limit %d, want 1 and 20", ev.Data.Pids.Current, ev.Data.Pids.Limit)
	}
}

// TestCgroupPs: `ps -f json` lists exactly the pids in the container's cgroup (the pids controller's
// cgroup.procs), the init among them.
func TestCgroupPs(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, withArgs("sh", "-c", "sleep 1000 & sleep 1001 & wait")))
	paths := cgroupPaths(t, id)
	var procs []int
	waitFor(t, "three processes in the cgroup", func() bool {
		procs = procs[:0]
		for _, f := range strings.Fields(readFile(filepath.Join(paths["pids"], "cgroup.procs"))) {
			pid, _ := strconv.Atoi(f)
			procs = append(procs, pid)
		}
		return len(procs) == 3
	})
	var pids []int
	decode(t, mustRT(t, "ps", "-f", "json", id).Stdout, &pids)
	slices.Sort(pids)
	slices.Sort(procs)
	if !slices.Equal(pids, procs) {
		t.Errorf("ps -f json = %v, want cgroup.procs %v", pids, procs)
	}
	if init := state(t, id).Pid; !slices.Contains(pids, init) {
		t.Errorf("ps -f json = %v lacks the init %d", pids, init)
	}
}

// TestCgroupDeleteRemoves: every cgroup directory the container was given exists while it runs and is gone after
// delete.
func TestCgroupDeleteRemoves(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id, _ := runDetached(t, b)
	paths := cgroupPaths(t, id)
	for ctrl, dir := range paths {
		if !exists(dir) {
			t.Errorf("%s cgroup %s does not exist while the container runs", ctrl, dir)
		}
	}
	mustRT(t, "delete", "--force", id)
	for ctrl, dir := range paths {
		if exists(dir) {
			t.Errorf("%s cgroup %s left after delete", ctrl, dir)
		}
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestUpdateMemoryKeepsSwap: `update --memory` without --memory-swap leaves the swap limit alone, as runc treats an
// unset swap, also when the config had memory+swap equal to the memory limit (no swap): lowering the memory limit
// works, and memory+swap keeps its value.
func TestUpdateMemoryKeepsSwap(t *testing.T) {
	t.Parallel()
	if !exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") {
		t.Skip("no swap accounting (memory.memsw.*) on this host")
	}
	id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Memory = &specs.LinuxMemory{Limit: ptrInt64(64 << 20), Swap: ptrInt64(64 << 20)}
	})))
	paths := cgroupPaths(t, id)
	mustRT(t, "update", "--memory", "32M", id)
	if got := cgroupFile(t, paths, "memory", "memory.limit_in_bytes"); got != strconv.Itoa(32<<20) {
		t.Errorf("memory.limit_in_bytes = %s, want %d", got, 32<<20)
	}
	if got := cgroupFile(t, paths, "memory", "memory.memsw.limit_in_bytes"); got != strconv.Itoa(64<<20) {
		t.Errorf("memory.memsw.limit_in_bytes = %s, want %d (unchanged)", got, 64<<20)
	}
}

// TestExecAtPidsLimit: exec into a container whose pids.max leaves room for exactly one more task (current + 1)
// works, every time, and the new process is in the container's cgroup (its pids line reads "/" in the container's
// cgroup namespace): the runtime's own helpers (its bootstrap clone, the Go init's threads) must not count against
// the container's limit. Health checks (`docker exec` of a probe) in a tightly limited container rely on it. runc
// moves its Go init in whole before that has started all its threads, and its init sometimes dies there
// ("runtime/cgo: pthread_create failed"), so on runc only one exec in five has to succeed.
func TestExecAtPidsLimit(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Pids = &specs.LinuxPids{Limit: ptrInt64(2)}
	})))
	paths := cgroupPaths(t, id)
	if got := cgroupFile(t, paths, "pids", "pids.current"); got != "1" {
		t.Fatalf("pids.current = %s before exec, want 1 (the sleep)", got)
	}
	const tries = 5 // more than once: each exec's task must be gone again before the next
	ok := 0
	for i := 0; i < tries; i++ {
		r := rt(t, "exec", id, "cat", "/proc/self/cgroup")
		if r.Code != 0 {
			if isRunc {
				t.Logf("runc: exec %d at pids.max = pids.current + 1 failed: %.200s", i, r.Stderr)
				continue
			}
			t.Fatalf("exec %d at pids.max = pids.current + 1: %v", i, r)
		}
		ok++
		var pidsLine string
		for _, line := range strings.Split(r.Stdout, "\n") {
			if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), "pids") {
				pidsLine = parts[2]
			}
		}
		if pidsLine != "/" {
			t.Errorf("exec'd process's pids cgroup = %q, want / (the container's): %q", pidsLine, r.Stdout)
		}
	}
	if ok == 0 {
		t.Errorf("no exec of %d succeeded", tries)
	}
	if got := cgroupFile(t, paths, "pids", "pids.current"); got != "1" {
		t.Errorf("pids.current = %s after the execs, want 1", got)
	}
}
