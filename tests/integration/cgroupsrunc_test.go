package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// These tests pin cgroup behaviours of runc 1.5 that its own suite checks (cgroups.bats, exec.bats, update.bats,
// events.bats), with a linux.cgroupsPath of the test's own, so that the cgroup can be prepared and inspected from
// the host. They run on a v1, hybrid or v2 host.

var cgSeq atomic.Int64

// ownCgroupsPath returns a fresh absolute linux.cgroupsPath for t, and registers, before anything else of the
// test (so it runs after the containers are deleted), the removal of every directory under it in every hierarchy.
func ownCgroupsPath(t *testing.T) string {
	t.Helper()
	rel := fmt.Sprintf("/rt-it%d-cg%d", os.Getpid(), cgSeq.Add(1))
	t.Cleanup(func() {
		for _, top := range cgroupHierarchyDirs(t, rel) {
			removeCgroupTree(t, top)
		}
	})
	return rel
}

// cgroupHierarchyDirs returns rel in every cgroup hierarchy mounted under /sys/fs/cgroup (the unified one too).
func cgroupHierarchyDirs(t *testing.T, rel string) []string {
	t.Helper()
	if exists("/sys/fs/cgroup/cgroup.controllers") {
		return []string{filepath.Join("/sys/fs/cgroup", rel)} // pure v2
	}
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if fi, err := os.Stat(filepath.Join("/sys/fs/cgroup", e.Name())); err == nil && fi.IsDir() {
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name(), rel))
		}
	}
	return out
}

// removeCgroupTree thaws and removes dir and the cgroups below it, deepest first, polling while they empty.
func removeCgroupTree(t *testing.T, dir string) {
	t.Helper()
	if !exists(dir) {
		return
	}
	_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			removeCgroupTree(t, filepath.Join(dir, e.Name()))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("remove test cgroup: %v", err)
			return
		}
		reapOrphans()
		time.Sleep(10 * time.Millisecond)
	}
}

// withCgroupsPath is a bundle mutator: sleeper in the cgroup p.
func withCgroupsPath(p string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		sleeper(s)
		s.Linux.CgroupsPath = p
	}
}

// TestCgroupCreateRefusesInUse: create and run refuse a cgroupsPath whose cgroup has processes, also when they are
// only in a cgroup below it, or that is frozen, in runc's words (runc 1.5's cgroups.bats "should error for a
// non-empty cgroup", "should refuse pre-existing frozen cgroup"), and leave nothing behind.
func TestCgroupCreateRefusesInUse(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1 reuses a non-empty or frozen cgroup")
	parent := ownCgroupsPath(t)
	runDetached(t, bundle(t, withCgroupsPath(parent+"/sub")))
	for _, cmd := range []string{"run", "create"} {
		id := newID(t)
		args := []string{cmd, "--bundle", bundle(t, withCgroupsPath(parent)), id}
		if cmd == "run" {
			args = append(args[:1], append([]string{"-d"}, args[1:]...)...)
		}
		r := rt(t, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "container's cgroup is not empty") {
			t.Errorf("%s in the parent of a container's cgroup: %v, want runc's \"container's cgroup is not empty\"", cmd, r)
		}
		if exists(filepath.Join(stateRoot(t), id)) {
			t.Errorf("%s refused, but left its state directory", cmd)
		}
	}

	frozen := ownCgroupsPath(t)
	if v1 := filepath.Join("/sys/fs/cgroup/freezer", frozen); exists("/sys/fs/cgroup/freezer") {
		if err := os.Mkdir(v1, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(v1, "freezer.state"), []byte("FROZEN"), 0); err != nil {
			t.Fatal(err)
		}
	} else {
		v2 := filepath.Join("/sys/fs/cgroup", frozen)
		if err := os.Mkdir(v2, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(v2, "cgroup.freeze"), []byte("1"), 0); err != nil {
			t.Fatal(err)
		}
	}
	id := newID(t)
	r := rt(t, "create", "--bundle", bundle(t, withCgroupsPath(frozen)), id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "container's cgroup unexpectedly frozen") {
		t.Errorf("create in a frozen cgroup: %v, want runc's \"container's cgroup unexpectedly frozen\"", r)
	}
	if exists(filepath.Join(stateRoot(t), id)) {
		t.Errorf("create refused, but left its state directory")
	}
}

// TestCgroupUnifiedOnV1: linux.resources.unified with keys is refused where the container's cgroup is not a v2 one
// alone (a v1 or hybrid host), in runc's words ("invalid configuration", runc's cgroups.bats "cgroup v1 + unified
// resources should fail"), and nothing is left; an empty map is accepted. On a pure v2 host the keys are written.
func TestCgroupUnifiedOnV1(t *testing.T) {
	t.Parallel()
	if exists("/sys/fs/cgroup/cgroup.controllers") {
		t.Skip("pure cgroup v2 host: unified keys are valid here (make test-cgroupv2 covers them)")
	}
	id := newID(t)
	b := bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Unified = map[string]string{"memory.min": "131072"}
	}))
	r := rt(t, "run", "-d", "--bundle", b, id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "invalid configuration") {
		t.Errorf("run with unified keys on a v1/hybrid host: %v, want runc's \"invalid configuration\"", r)
	}
	if !isRunc {
		oneLine(t, r, "invalid configuration: cannot use unified on cgroup v1")
	}
	assertNoLeak(t, stateRoot(t), id, b)
	runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Unified = map[string]string{}
	})))
}

// cgroupLine returns the path of controller's line in a /proc/PID/cgroup text ("" for the v2 line), or "" with
// ok false when there is none.
func cgroupLine(text, controller string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], true
		}
		if controller != "" && slices.Contains(strings.Split(parts[1], ","), controller) {
			return parts[2], true
		}
	}
	return "", false
}

// TestExecSubCgroupV1: `exec --cgroup` puts the process in an existing cgroup below the container's, on a v1 or
// hybrid host: PATH for every hierarchy, CONTROLLER[,CONTROLLER]:PATH (repeatable) for some, the others staying in
// the container's; a path leaving the container's cgroup (its parent, a sibling sharing its name as a prefix), a
// missing one and an unknown controller are refused in runc's words (runc's exec.bats "exec --cgroup sub-cgroups
// [v1]").
func TestExecSubCgroupV1(t *testing.T) {
	t.Parallel()
	if exists("/sys/fs/cgroup/cgroup.controllers") {
		t.Skip("pure cgroup v2 host: per-controller sub-cgroups need v1 hierarchies")
	}
	oldRunc(t, "runc 1.1 has no exec --cgroup")
	cgPath := ownCgroupsPath(t) + "/ct"
	id, _ := runDetached(t, bundle(t, withCgroupsPath(cgPath)))
	paths := cgroupPaths(t, id)
	if err := os.Mkdir(paths["cpu"]+"-sibling", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{name: "parent", flags: []string{"--cgroup", ".."}, want: []string{"bad sub cgroup path"}},
		{name: "sibling", flags: []string{"--cgroup", "../ct-sibling"}, want: []string{"bad sub cgroup path"}},
		{name: "sibling of one controller", flags: []string{"--cgroup", "cpu:../ct-sibling"}, want: []string{"bad sub cgroup path"}},
		{name: "missing", flags: []string{"--cgroup", "nonexistent"}, want: []string{" adding pid ", "o such file or directory"}},
		{name: "missing in one controller", flags: []string{"--cgroup", "cpu:nonexistent"}, want: []string{" adding pid ", "o such file or directory"}},
		{name: "unknown controller", flags: []string{"--cgroup", "whaaat:/"}, want: []string{"unknown controller "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rt(t, append(append([]string{"exec"}, tc.flags...), id, "true")...)
			if r.Code == 0 {
				t.Fatalf("exec %v succeeded", tc.flags)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("exec %v: stderr %q, want it to say %q", tc.flags, r.Stderr, w)
				}
			}
		})
	}

	base := mustRT(t, "exec", id, "cat", "/proc/self/cgroup").Stdout
	for _, d := range []string{paths["memory"] + "/submem", paths["cpu"] + "/subcpu", paths["cpuacct"] + "/subcpu"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		flags []string
		sub   map[string]string // controller -> the sub-cgroup it must be in; every other one: the container's
	}{
		{name: "top explicitly", flags: []string{"--cgroup", "/"}},
		{name: "per controller", flags: []string{"--cgroup", "memory:submem", "--cgroup", "cpu,cpuacct:subcpu"},
			sub: map[string]string{"memory": "/submem", "cpu": "/subcpu", "cpuacct": "/subcpu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRT(t, append(append([]string{"exec"}, tc.flags...), id, "cat", "/proc/self/cgroup")...).Stdout
			for _, ctrl := range []string{"memory", "cpu", "cpuacct", "pids", "freezer", ""} {
				want, ok := cgroupLine(base, ctrl)
				if !ok {
					continue
				}
				if s, in := tc.sub[ctrl]; in {
					want = path.Join(want, s)
				}
				if line, _ := cgroupLine(got, ctrl); line != want {
					t.Errorf("exec %v: %q cgroup %q, want %q (in %q)", tc.flags, ctrl, line, want, got)
				}
			}
		})
	}
}

// TestUpdateAsRunc15: `update` follows runc 1.5 (update.bats) where a flag leaves something unsaid: `--memory -1`
// lifts the swap limit too; `--cpu-idle` drops the config's shares (an idle cgroup refuses them) and a later update
// of something else keeps the cgroup idle; the realtime period and runtime are written in whichever order the kernel
// takes (runc issue 4094); and the device rules are never rewritten, so a rule added from outside (as a GPU plugin
// does) survives an update. Each on a v1 or hybrid host, where the files show it.
func TestUpdateAsRunc15(t *testing.T) {
	t.Parallel()
	if exists("/sys/fs/cgroup/cgroup.controllers") {
		t.Skip("pure cgroup v2 host: these files are v1's (make test-cgroupv2 runs the v2 side)")
	}
	oldRunc(t, "runc 1.1's update differs")
	t.Run("memory -1 lifts swap", func(t *testing.T) {
		t.Parallel()
		if !exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") {
			t.Skip("no swap accounting (memory.memsw.*) on this host")
		}
		id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: ptrInt64(64 << 20), Swap: ptrInt64(64 << 20)}
		})))
		paths := cgroupPaths(t, id)
		mustRT(t, "update", "--memory", "-1", id)
		for _, f := range []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"} {
			if v, err := strconv.ParseUint(cgroupFile(t, paths, "memory", f), 10, 64); err != nil || v < 1<<62 {
				t.Errorf("after update --memory -1: %s = %d (%v), want no limit", f, v, err)
			}
		}
	})
	t.Run("cpu idle", func(t *testing.T) {
		t.Parallel()
		if !exists("/sys/fs/cgroup/cpu/cpu.idle") {
			t.Skip("no cpu.idle (Linux 5.15+) in the v1 cpu controller")
		}
		id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{Shares: ptrUint64(512)}
		})))
		paths := cgroupPaths(t, id)
		for _, v := range []string{"1", "0", "1"} {
			mustRT(t, "update", "--cpu-idle", v, id)
			if got := cgroupFile(t, paths, "cpu", "cpu.idle"); got != v {
				t.Errorf("after update --cpu-idle %s: cpu.idle %s", v, got)
			}
		}
		for _, v := range []string{"0", "1"} {
			if r := rtStdin(t, []byte(`{"cpu":{"idle":`+v+`}}`), "update", "-r", "-", id); r.Code != 0 {
				t.Fatalf("update -r {cpu.idle %s}: %v", v, r)
			}
			if got := cgroupFile(t, paths, "cpu", "cpu.idle"); got != v {
				t.Errorf("after update -r {cpu.idle %s}: cpu.idle %s", v, got)
			}
		}
		if r := rt(t, "update", "--cpu-idle", "2", id); r.Code == 0 {
			t.Errorf("update --cpu-idle 2 succeeded; the kernel takes only 0 and 1")
		}
		mustRT(t, "update", "--cpu-period", "10000", id)
		if got := cgroupFile(t, paths, "cpu", "cpu.idle"); got != "1" {
			t.Errorf("after update --cpu-period: cpu.idle %s, want 1 still", got)
		}
	})
	t.Run("realtime period and runtime", func(t *testing.T) {
		t.Parallel()
		if !exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us") {
			t.Skip("no realtime group scheduling (CONFIG_RT_GROUP_SCHED) in the v1 cpu controller")
		}
		// A new cgroup has no realtime runtime, and a child cannot have more than its parent: give both levels some
		// before the container is made, as runc's test does.
		rel := ownCgroupsPath(t)
		for _, d := range []string{rel, rel + "/ct"} {
			dir := filepath.Join("/sys/fs/cgroup/cpu", d)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for f, v := range map[string]string{"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "700000"} {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0); err != nil {
					t.Skipf("cannot give the test cgroup realtime runtime (the host's is taken?): %v", err)
				}
			}
		}
		id, _ := runDetached(t, bundle(t, withCgroupsPath(rel+"/ct")))
		paths := cgroupPaths(t, id)
		check := func(what, period, runtime string) {
			t.Helper()
			p, r := cgroupFile(t, paths, "cpu", "cpu.rt_period_us"), cgroupFile(t, paths, "cpu", "cpu.rt_runtime_us")
			if p != period || r != runtime {
				t.Errorf("after %s: rt period %s runtime %s, want %s %s", what, p, r, period, runtime)
			}
		}
		if r := rtStdin(t, []byte(`{"cpu":{"realtimeRuntime":500001}}`), "update", "-r", "-", id); r.Code != 0 {
			t.Fatalf("update -r {realtimeRuntime}: %v", r)
		}
		check("update -r {realtimeRuntime 500001}", "1000000", "500001")
		for _, pr := range [][2]string{{"900001", "600001"}, {"10000", "3000"}, {"100000", "20000"}} {
			mustRT(t, "update", id, "--cpu-rt-period", pr[0], "--cpu-rt-runtime", pr[1])
			check("update --cpu-rt-period "+pr[0]+" --cpu-rt-runtime "+pr[1], pr[0], pr[1])
		}
	})
	t.Run("device rules untouched", func(t *testing.T) {
		t.Parallel()
		id, _ := runDetached(t, bundle(t, sleeper))
		paths := cgroupPaths(t, id)
		const extra = "c 10:237 rwm" // /dev/loop-control, not in the default allow list
		if strings.Contains(cgroupFile(t, paths, "devices", "devices.list"), extra) {
			t.Fatalf("%s is allowed already", extra)
		}
		if err := os.WriteFile(filepath.Join(paths["devices"], "devices.allow"), []byte(extra), 0); err != nil {
			t.Fatal(err)
		}
		mustRT(t, "update", "--pids-limit", "30", id)
		if got := cgroupFile(t, paths, "devices", "devices.list"); !strings.Contains(got, extra) {
			t.Errorf("update rewrote the device rules: %q lost from %q", extra, got)
		}
	})
}

// TestEventsOOM: `events` reports an OOM kill as it happens, not at its next interval (here an hour away), in
// runc's line {"type":"oom","id":ID}, and ends with status 0 once the container is deleted (runc's events.bats
// "events oom"). No stats line says "oom": runc's test greps the stream for it, and its stats shape has no such
// field.
func TestEventsOOM(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, withResources(func(r *specs.LinuxResources) {
		r.Memory = &specs.LinuxMemory{Limit: ptrInt64(32 << 20)}
		if exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") {
			r.Memory.Swap = ptrInt64(32 << 20) // no swap to page out to instead
		}
	})))
	if out := mustRT(t, "events", "--stats", id).Stdout; strings.Contains(out, "oom") {
		t.Errorf("events --stats says \"oom\": %s", out)
	}
	cmd, out, errPath := rtBackground(t, "events", "--interval", "1h", id)
	// An OOM before events watches the cgroup is not reported, and with this interval nothing is printed before one:
	// wait until it holds the watch, an inotify fd (v2) or an eventfd besides the one of the Go runtime's poller (v1).
	waitFor(t, "events to watch the cgroup", func() bool {
		eventfds := 0
		dir := fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			switch l, _ := os.Readlink(filepath.Join(dir, e.Name())); l {
			case "anon_inode:inotify":
				return true
			case "anon_inode:[eventfd]":
				eventfds++
			}
		}
		return eventfds >= 2
	})
	// The fd exists a moment before the kernel has it registered (eventfd, then cgroup.event_control; inotify_init,
	// then the watches), so an OOM that finds no event is made again: a runtime that never reports one still fails.
	want := fmt.Sprintf(`{"type":"oom","id":%q}`, id)
	waitFor(t, "an oom event", func() bool {
		if strings.Contains(readFile(out), want) {
			return true
		}
		if r := rt(t, "exec", id, "sh", "-c", "x=$(dd if=/dev/urandom bs=1M count=128)"); r.Code == 0 {
			t.Fatalf("a 128 MiB shell variable under a 32 MiB limit was not OOM-killed: %v", r)
		}
		return strings.Contains(readFile(out), want)
	})
	mustRT(t, "delete", "--force", id)
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("events exited %d after the container was deleted, want 0; stderr %q", code, readFile(errPath))
	}
}

// TestSchedulerDeadlineNarrowedCpus: SCHED_DEADLINE with a cpuset narrower than the machine is refused in runc's
// words (runc's scheduler.bats "scheduler vs cpus"): the cpuset is in place before the init sets its scheduler,
// and the kernel refuses a deadline task that may not run on every CPU (sched_setattr(2) EPERM). Nothing is left.
func TestSchedulerDeadlineNarrowedCpus(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: a cpuset cannot be narrower than the machine")
	}
	id := newID(t)
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "0"}
		s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Nice: 19, Runtime: 42000, Deadline: 1000000, Period: 1000000}
	})
	r := rt(t, "run", "-d", "--bundle", b, id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "process scheduler can't be used together with AllowedCPUs") {
		t.Errorf("run of SCHED_DEADLINE with cpus 0: %v, want runc's refusal", r)
	}
	assertNoLeak(t, stateRoot(t), id, b)

	// exec the same: the process is in the cpuset before it sets its scheduler.
	b = bundle(t, withResources(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Cpus: "0"} }))
	id, _ = runDetached(t, b)
	p := specs.Process{
		Args: []string{"true"}, Cwd: "/", Env: []string{"PATH=/bin"},
		Scheduler: &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 42000, Deadline: 1000000, Period: 1000000},
	}
	data, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(b, "process.json")
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = rt(t, "exec", "-p", pf, id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "process scheduler can't be used together with AllowedCPUs") {
		t.Errorf("exec of SCHED_DEADLINE into a container with cpus 0: %v, want runc's refusal", r)
	}
}

// TestCgroupJoinRefused: a cgroup that refuses the container's first process fails create with one line naming that
// cgroup and exit status 1, and leaves no state directory, no cgroup the runtime made and no process: a v2 cgroup
// that refuses processes ("domain invalid": a sibling is threaded, EOPNOTSUPP; rt's clone into it is refused, and it
// moves the child by pid instead, as runc always does) and a v1 one that refuses the process's own join (a
// SCHED_FIFO runtime joining a cpu cgroup with no realtime bandwidth, EINVAL: rt's bootstrap writes the tasks file).
func TestCgroupJoinRefused(t *testing.T) {
	t.Parallel()
	unified := ""
	for _, m := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var fs unix.Statfs_t
		if unix.Statfs(m, &fs) == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
			unified = m
		}
	}
	refused := func(t *testing.T, wrapper []string, cgroupsPath, want, premade string) {
		t.Helper()
		id := newID(t)
		b := bundle(t, withCgroupsPath(cgroupsPath))
		r := rtUnder(t, wrapper, nil, "create", "--bundle", b, id)
		if r.Code != 1 {
			t.Errorf("create in a cgroup that refuses the process: %v, want exit 1", r)
		}
		oneLine(t, r, want)
		assertNoLeak(t, stateRoot(t), id, b)
		for _, dir := range cgroupHierarchyDirs(t, cgroupsPath) {
			if dir != premade {
				waitFor(t, "no cgroup "+dir, func() bool { return !exists(dir) })
			}
		}
	}
	t.Run("v2 domain invalid", func(t *testing.T) {
		t.Parallel()
		if unified == "" {
			t.Skip("no cgroup2 mount")
		}
		if isRunc && unified != "/sys/fs/cgroup" {
			t.Skip("runc 1.5 leaves the container out of a hybrid host's unified hierarchy")
		}
		parent := ownCgroupsPath(t)
		top := filepath.Join(unified, parent)
		for _, d := range []string{top, top + "/threaded", top + "/leaf"} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(top+"/threaded/cgroup.type", []byte("threaded"), 0); err != nil {
			t.Fatal(err)
		}
		refused(t, nil, parent+"/leaf", top+"/leaf", top+"/leaf")
	})
	t.Run("v1 join refused", func(t *testing.T) {
		t.Parallel()
		if !exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us") {
			t.Skip("no cgroup v1 cpu controller with realtime group scheduling")
		}
		if _, err := exec.LookPath("chrt"); err != nil {
			t.Fatal("chrt (util-linux):", err)
		}
		cg := ownCgroupsPath(t)
		refused(t, []string{"chrt", "-f", "1"}, cg, "/sys/fs/cgroup/cpu"+cg, "")
	})
}
