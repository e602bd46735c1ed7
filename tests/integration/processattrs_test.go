package integration

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runc 1.1.5 predates process.scheduler, process.ioPriority, process.execCPUAffinity, linux.personality and
// linux.memoryPolicy (runc 1.2 to 1.4 added them): it ignores them and runs the container.
const runcLacksExtras = "runc 1.1.5 ignores the runtime-spec 1.2/1.3 process and linux fields"

// Kernel values the probe reports (include/uapi/linux/sched.h, ioprio.h, mempolicy.h, personality.h).
const (
	schedRR, schedBatch, schedIdle, schedDeadline = 2, 3, 5, 6
	ioprioRT, ioprioBE, ioprioIdle                = 1 << 13, 2 << 13, 3 << 13
	mpolPreferred, mpolBind, mpolInterleave       = 1, 2, 3
	mpolFStaticNodes                              = 1 << 15
)

// withRealtime gives the container's cpu cgroup real-time bandwidth: on a kernel with RT group scheduling (this
// host's cpu controller has cpu.rt_runtime_us) a SCHED_FIFO/RR thread is refused in a cgroup without it.
func withRealtime(s *specs.Spec) {
	runtime, period := int64(10000), uint64(1000000)
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	s.Linux.Resources.CPU = &specs.LinuxCPU{RealtimeRuntime: &runtime, RealtimePeriod: &period}
}

// TestProcessAttrs: each runtime-spec 1.3 per-process attribute of the container's init is seen by its process.
func TestProcessAttrs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		check  func(t *testing.T, s Self)
		runc   bool // runs on runc 1.1.5 too
	}{
		{name: "scheduler SCHED_BATCH nice 7", mutate: func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}
		}, check: func(t *testing.T, s Self) {
			if s.SchedPolicy != schedBatch || s.Nice != 7 {
				t.Errorf("policy %d nice %d, want %d 7", s.SchedPolicy, s.Nice, schedBatch)
			}
		}},
		{name: "scheduler SCHED_IDLE", mutate: func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedIdle}
		}, check: func(t *testing.T, s Self) {
			if s.SchedPolicy != schedIdle {
				t.Errorf("policy %d, want %d", s.SchedPolicy, schedIdle)
			}
		}},
		{name: "scheduler SCHED_DEADLINE", mutate: func(s *specs.Spec) {
			// The probe is a Go program: its threads can only be created with reset-on-fork (sched(7)).
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7, Period: 1e7,
				Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
		}, check: func(t *testing.T, s Self) {
			if s.SchedPolicy != schedDeadline {
				t.Errorf("policy %d, want %d", s.SchedPolicy, schedDeadline)
			}
		}},
		{name: "scheduler SCHED_RR with realtime bandwidth", mutate: func(s *specs.Spec) {
			withRealtime(s)
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 5}
		}, check: func(t *testing.T, s Self) {
			if s.SchedPolicy != schedRR || s.RTPriority != 5 {
				t.Errorf("policy %d priority %d, want %d 5", s.SchedPolicy, s.RTPriority, schedRR)
			}
		}},
		{name: "ioPriority BE 3", mutate: func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 3}
		}, check: func(t *testing.T, s Self) {
			if s.IOPrio != ioprioBE|3 {
				t.Errorf("ioprio %#x, want %#x", s.IOPrio, ioprioBE|3)
			}
		}},
		{name: "ioPriority RT 0", mutate: func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT}
		}, check: func(t *testing.T, s Self) {
			if s.IOPrio != ioprioRT {
				t.Errorf("ioprio %#x, want %#x", s.IOPrio, ioprioRT)
			}
		}},
		{name: "ioPriority IDLE", mutate: func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE}
		}, check: func(t *testing.T, s Self) {
			if s.IOPrio != ioprioIdle {
				t.Errorf("ioprio %#x, want %#x", s.IOPrio, ioprioIdle)
			}
		}},
		{name: "personality LINUX32", mutate: func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		}, check: func(t *testing.T, s Self) {
			if s.Personality != "00000008" {
				t.Errorf("personality %s, want 00000008 (PER_LINUX32)", s.Personality)
			}
			if runtime.GOARCH == "amd64" && s.Machine != "i686" {
				t.Errorf("uname machine %q, want i686", s.Machine)
			}
		}},
		{name: "personality LINUX", mutate: func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
		}, check: func(t *testing.T, s Self) {
			if s.Personality != "00000000" {
				t.Errorf("personality %s, want 00000000 (PER_LINUX)", s.Personality)
			}
		}},
		{name: "memoryPolicy MPOL_BIND 0", mutate: func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
		}, check: func(t *testing.T, s Self) {
			if s.MemPolicy != mpolBind || s.MemPolicyNodes != 1 {
				t.Errorf("mempolicy %#x nodes %#x, want %#x 0x1", s.MemPolicy, s.MemPolicyNodes, mpolBind)
			}
		}},
		{name: "memoryPolicy MPOL_INTERLEAVE static", mutate: func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0",
				Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}
		}, check: func(t *testing.T, s Self) {
			if want := mpolInterleave | mpolFStaticNodes; s.MemPolicy != want || s.MemPolicyNodes != 1 {
				t.Errorf("mempolicy %#x nodes %#x, want %#x 0x1", s.MemPolicy, s.MemPolicyNodes, want)
			}
		}},
		{name: "memoryPolicy MPOL_PREFERRED 0", mutate: func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0"}
		}, check: func(t *testing.T, s Self) {
			if s.MemPolicy != mpolPreferred || s.MemPolicyNodes != 1 {
				t.Errorf("mempolicy %#x nodes %#x, want %#x 0x1", s.MemPolicy, s.MemPolicyNodes, mpolPreferred)
			}
		}},
		{name: "none set: the defaults", runc: true, check: func(t *testing.T, s Self) {
			if s.SchedPolicy != 0 || s.Nice != 0 || s.Personality != "00000000" || s.MemPolicy != 0 {
				t.Errorf("policy %d nice %d personality %s mempolicy %d, want 0 0 00000000 0",
					s.SchedPolicy, s.Nice, s.Personality, s.MemPolicy)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.runc {
				oldRunc(t, runcLacksExtras)
			}
			var s Self
			runProbe(t, tc.mutate, &s)
			tc.check(t, s)
		})
	}
}

// TestProcessAttrsExec: a process given to exec gets its own scheduler, I/O priority and CPU affinity; execCPUAffinity
// (runtime-spec config.md) is meant for exec'd processes: initial before the move into the cgroup, final after.
func TestProcessAttrsExec(t *testing.T) {
	t.Parallel()
	oldRunc(t, runcLacksExtras)
	cpus := onlineCPUs(t)
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		withRealtime(s)
	})
	id, _ := runDetached(t, b)
	tests := []struct {
		name  string
		p     func(p *specs.Process)
		check func(t *testing.T, s Self)
	}{
		{name: "execCPUAffinity initial and final", p: func(p *specs.Process) {
			p.ExecCPUAffinity = &specs.CPUAffinity{Initial: cpus[len(cpus)-1], Final: cpus[0]}
		}, check: func(t *testing.T, s Self) {
			if s.CpusAllowed != cpus[0] {
				t.Errorf("Cpus_allowed_list %q, want the final %q", s.CpusAllowed, cpus[0])
			}
		}},
		{name: "execCPUAffinity initial only", p: func(p *specs.Process) {
			// "If omitted or empty, runtime SHOULD NOT change process' CPU affinity after the process is moved to
			// container's cgroup": the initial one stays.
			p.ExecCPUAffinity = &specs.CPUAffinity{Initial: cpus[0]}
		}, check: func(t *testing.T, s Self) {
			if s.CpusAllowed != cpus[0] {
				t.Errorf("Cpus_allowed_list %q, want the initial %q", s.CpusAllowed, cpus[0])
			}
		}},
		{name: "scheduler SCHED_RR 3", p: func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 3}
		}, check: func(t *testing.T, s Self) {
			if s.SchedPolicy != schedRR || s.RTPriority != 3 {
				t.Errorf("policy %d priority %d, want %d 3", s.SchedPolicy, s.RTPriority, schedRR)
			}
		}},
		{name: "ioPriority BE 5", p: func(p *specs.Process) {
			p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 5}
		}, check: func(t *testing.T, s Self) {
			if s.IOPrio != ioprioBE|5 {
				t.Errorf("ioprio %#x, want %#x", s.IOPrio, ioprioBE|5)
			}
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := specs.Process{Args: []string{"/probe", "self"}, Env: []string{"PATH=/bin"}, Cwd: "/"}
			tc.p(&p)
			file := filepath.Join(env(t).base, "process-"+strconv.Itoa(i)+".json")
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := rt(t, "exec", "-p", file, id)
			if r.Code != 0 {
				t.Fatalf("exec: %v", r)
			}
			var s Self
			decode(t, r.Stdout, &s)
			tc.check(t, s)
		})
	}
}

// TestExecContainerLinuxAttrs: a process exec'd into a container gets the parts of the container's linux config that
// apply to each of its processes: the seccomp filter, the personality and the memory policy.
func TestExecContainerLinuxAttrs(t *testing.T) {
	t.Parallel()
	oldRunc(t, runcLacksExtras)
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Linux.Seccomp = denyProfile("sethostname")
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
	})
	id, _ := runDetached(t, b)
	var s Self
	decode(t, mustRT(t, "exec", id, "/probe", "self").Stdout, &s)
	if s.Seccomp != 2 {
		t.Errorf("seccomp mode %d, want 2 (the container's filter)", s.Seccomp)
	}
	if s.Personality != "00000008" {
		t.Errorf("personality %s, want 00000008 (PER_LINUX32)", s.Personality)
	}
	if s.MemPolicy != mpolBind || s.MemPolicyNodes != 1 {
		t.Errorf("mempolicy %#x nodes %#x, want %#x 0x1", s.MemPolicy, s.MemPolicyNodes, mpolBind)
	}
}

// onlineCPUs lists the host's online CPUs (/sys/devices/system/cpu/online, e.g. "0-1") as decimal strings.
func onlineCPUs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(strings.TrimSpace(readFile("/sys/devices/system/cpu/online")), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA != nil || errB != nil {
			t.Fatalf("online CPU list part %q: not a number", part)
		}
		for c := a; c <= b; c++ {
			out = append(out, strconv.Itoa(c))
		}
	}
	if len(out) == 0 {
		t.Fatal("no online CPUs")
	}
	return out
}

// TestProcessAttrsRefused: what rt cannot honour is refused at create with exit 1 and one line naming the JSON path, and
// nothing is left behind.
func TestProcessAttrsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		want   string
		rtOnly string // non-empty: runc accepts this config, for the given reason
		old    string // non-empty: runc before 1.5 accepts this config, for the given reason
	}{
		{name: "intelRdt without resctrl", mutate: func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "rt-test"} },
			want: "linux.intelRdt: the host has no resctrl filesystem (mount -t resctrl)",
			old:  "runc 1.1.5 runs a container with only intelRdt.closID set on a host without resctrl"},
		{name: "netDevices loopback", mutate: func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"lo": {Name: "lo1"}}
		}, want: `linux.netDevices["lo"]: the loopback device cannot leave its network namespace`,
			old: "runc 1.1.5 ignores linux.netDevices"},
		{name: "apparmorProfile without AppArmor", mutate: func(s *specs.Spec) { s.Process.ApparmorProfile = "runtime/default" },
			want: "process.apparmorProfile"},
		{name: "selinuxLabel without SELinux", mutate: func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" },
			want: `process.selinuxLabel: "system_u:system_r:container_t:s0": selinux label is specified in config, but selinux is disabled or not supported`},
		{name: "unknown scheduler policy", mutate: func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FOO"} },
			want: `process.scheduler.policy: unknown policy "SCHED_FOO"`, old: runcLacksExtras},
		{name: "ioPriority out of range", mutate: func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		}, want: "process.ioPriority.priority", old: runcLacksExtras},
		{name: "bad execCPUAffinity", mutate: func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0-"} },
			want: "process.execCPUAffinity.final", old: runcLacksExtras},
		{name: "personality flag", mutate: func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, want: "linux.personality.flags[0]", rtOnly: "runc 1.5 only warns about a personality flag it does not support"},
		{name: "memoryPolicy MPOL_BIND without nodes", mutate: func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind}
		}, want: "linux.memoryPolicy.nodes", old: runcLacksExtras},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.rtOnly != "" {
				rtOnly(t, tc.rtOnly)
			}
			if tc.old != "" {
				oldRunc(t, tc.old)
			}
			b := bundle(t, tc.mutate)
			id := newID(t)
			root := stateRoot(t)
			r := rt(t, "create", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("create: %v, want exit 1", r)
			}
			oneLine(t, r, tc.want)
			assertNoLeak(t, root, id, b)
		})
	}
}

// TestMemoryPolicyErrors: a bad linux.memoryPolicy fails create with runc 1.5's words, which its users match (rt's
// line names the field too), and leaves nothing.
func TestMemoryPolicyErrors(t *testing.T) {
	t.Parallel()
	oldRunc(t, runcLacksExtras)
	tests := []struct {
		name string
		mp   specs.LinuxMemoryPolicy
		want string
	}{
		{name: "mode", mp: specs.LinuxMemoryPolicy{Mode: "MPOL_FOO"}, want: `invalid memory policy mode "MPOL_FOO"`},
		{name: "flag", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_FOO"}},
			want: `invalid memory policy flag "MPOL_F_FOO"`},
		{name: "nodes", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "x"}, want: `invalid memory policy nodes "x"`},
		{name: "default with nodes", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0"},
			want: "memory policy mode requires 0 nodes but got 1"},
		{name: "bind without nodes", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind},
			want: "memory policy mode requires at least one node but got 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) { s.Linux.MemoryPolicy = &tc.mp })
			id := newID(t)
			r := rt(t, "create", "--bundle", b, id)
			// runc's logrus line quotes the message, escaping its quotes.
			if r.Code != 1 || !strings.Contains(strings.ReplaceAll(r.Stderr, `\"`, `"`), tc.want) {
				t.Errorf("create: %v, want exit 1 and %q", r, tc.want)
			}
			oneLine(t, r, "linux.memoryPolicy")
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestAffinityReset: a process started by a runtime whose own CPU affinity is narrowed (taskset -c 0 rt ...) runs
// on every CPU of its cgroup's cpuset, not on the runtime's: runc resets the affinity of a container's init and of
// an exec'd process without execCPUAffinity.
func TestAffinityReset(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 leaves the process the runtime's affinity")
	want, err := os.ReadFile("/sys/fs/cgroup/cpuset/cpuset.effective_cpus")
	if err != nil {
		t.Skipf("no v1 cpuset to compare with: %v", err)
	}
	if strings.TrimSpace(string(want)) == "0" {
		t.Skip("one CPU: nothing to narrow")
	}
	b := bundle(t, withArgs("sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 100000"))
	id := newID(t)
	tasksetRT := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", "0", runtimeBin, "--root", stateRoot(t)}, args...)...)
		cmd.Stderr = io.Discard
		out, err := outputTracked(cmd)
		if err != nil {
			t.Fatalf("taskset -c 0 %v: %v", args, err)
		}
		return string(out)
	}
	outFile := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("taskset", "-c", "0", runtimeBin, "--root", stateRoot(t), "run", "-d", "--bundle", b, id)
	cmd.Stdout, cmd.Stderr = f, f
	if err := runTracked(cmd); err != nil {
		t.Fatalf("taskset -c 0 run -d: %v: %s", err, readFile(outFile))
	}
	wantLine := "Cpus_allowed_list:\t" + strings.TrimSpace(string(want)) + "\n"
	waitOutput(t, outFile, wantLine)
	if got := tasksetRT("exec", id, "grep", "Cpus_allowed_list", "/proc/self/status"); got != wantLine {
		t.Errorf("exec'd process: %q, want %q (the cgroup's cpuset)", got, wantLine)
	}
}

// TestExecLSMRefused: on this host (no AppArmor, no SELinux) exec --apparmor and --process-label fail with 255
// (runc's exec failure status), rt's one line naming the field, and no process is left in the container.
func TestExecLSMRefused(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id, _ := runDetached(t, b)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "apparmor", args: []string{"--apparmor", "runtime/default"}, want: `process.apparmorProfile: "runtime/default"`},
		{name: "process-label", args: []string{"--process-label", "system_u:system_r:container_t:s0"},
			want: `process.selinuxLabel: "system_u:system_r:container_t:s0": selinux label is specified in config, but selinux is disabled or not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"exec"}, tc.args...), id, "true")
			r := rt(t, args...)
			if r.Code != 255 {
				t.Errorf("exec %v: %v, want exit 255", tc.args, r)
			}
			oneLine(t, r, tc.want)
			if pids := processesRootedIn(b); len(pids) != 1 {
				t.Errorf("processes in the container after the failed exec: %v, want only its init", pids)
			}
		})
	}
}

// TestExecCPUAffinityInitialWholeRuntime: execCPUAffinity.initial holds for all of the runtime's process that
// enters the container, every thread of it, not only the one that execs (runtime-spec config.md: "a list of CPUs a
// runtime parent process to be run on initially, before the transition to container's cgroup"; runc sets it on its
// init at start). Seen while that process is held frozen in a paused container's cgroup (exec --ignore-paused).
func TestExecCPUAffinityInitialWholeRuntime(t *testing.T) {
	t.Parallel()
	oldRunc(t, runcLacksExtras)
	cpus := onlineCPUs(t)
	if len(cpus) < 2 {
		t.Skip("one CPU: an initial affinity cannot differ from all CPUs")
	}
	id, _ := runDetached(t, bundle(t, sleeper))
	initPid := state(t, id).Pid
	// The threads in the container's cgroup: the v1 freezer's tasks, or the v2 cgroup's threads.
	paths := cgroupPaths(t, id)
	tasksFile := filepath.Join(paths[""], "cgroup.threads")
	cpuset := readFile(filepath.Join(paths[""], "cpuset.cpus.effective"))
	if paths["freezer"] != "" {
		tasksFile = filepath.Join(paths["freezer"], "tasks")
	}
	if paths["cpuset"] != "" {
		cpuset = readFile(filepath.Join(paths["cpuset"], "cpuset.effective_cpus"))
	}
	cpuset = strings.TrimSpace(cpuset)
	mustRT(t, "pause", id)
	proc, err := json.Marshal(specs.Process{
		Args: []string{"/bin/true"}, Cwd: "/", ExecCPUAffinity: &specs.CPUAffinity{Initial: cpus[0]},
	})
	if err != nil {
		t.Fatal(err)
	}
	procFile := filepath.Join(t.TempDir(), "process.json")
	writeFile(t, procFile, string(proc))
	cmd, _, errPath := rtBackground(t, "exec", "--ignore-paused", "-p", procFile, id)
	// The entering process's first thread in the frozen cgroup names it; the container's own is only its init.
	var entering string
	waitFor(t, "the exec'd process in the container's freezer cgroup", func() bool {
		if e := readFile(errPath); e != "" {
			t.Fatalf("exec --ignore-paused: %s", e)
		}
		for _, tid := range strings.Fields(readFile(tasksFile)) {
			if tid != strconv.Itoa(initPid) {
				for _, line := range strings.Split(readFile("/proc/"+tid+"/status"), "\n") {
					if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
						entering = strings.TrimSpace(v)
					}
				}
			}
		}
		return entering != ""
	})
	tasks, err := os.ReadDir("/proc/" + entering + "/task")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Fields(readFile(tasksFile))
	for _, task := range tasks {
		status := readFile("/proc/" + entering + "/task/" + task.Name() + "/status")
		for _, line := range strings.Split(status, "\n") {
			v, ok := strings.CutPrefix(line, "Cpus_allowed_list:")
			got := strings.TrimSpace(v)
			// Before Linux 6.2 joining a cpuset reset a task's affinity to the cpuset's CPUs.
			if !ok || got == cpus[0] || got == cpuset && slices.Contains(joined, task.Name()) {
				continue
			}
			t.Errorf("thread %s of the entering process runs on %q, want the initial %q", task.Name(), got, cpus[0])
		}
	}
	mustRT(t, "resume", id)
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("exec --ignore-paused: exit %d: %s", code, readFile(errPath))
	}
}
