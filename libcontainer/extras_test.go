package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestValidateExtras: every config rt accepts passes, and every refusal is a config error that names its JSON path.
func TestValidateExtras(t *testing.T) {
	// Point the host checks at an empty directory: no resctrl, no AppArmor, no SELinux, whatever the test host has.
	dir := t.TempDir()
	oldResctrl, oldApparmor, oldSelinux := resctrlPath, apparmorPaths, selinuxfsPath
	resctrlPath = filepath.Join(dir, "resctrl")
	apparmorPaths = [2]string{filepath.Join(dir, "apparmor"), filepath.Join(dir, "enabled")}
	selinuxfsPath = filepath.Join(dir, "selinux")
	t.Cleanup(func() { resctrlPath, apparmorPaths, selinuxfsPath = oldResctrl, oldApparmor, oldSelinux })

	sched := func(s specs.Scheduler) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.Scheduler = &s }
	}
	ioprio := func(class specs.IOPriorityClass, prio int) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.IOPriority = &specs.LinuxIOPriority{Class: class, Priority: prio} }
	}
	affinity := func(initial, final string) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: initial, Final: final} }
	}
	mempol := func(mode specs.MemoryPolicyModeType, nodes string, flags ...specs.MemoryPolicyFlagType) func(*specs.Spec) {
		return func(sp *specs.Spec) {
			sp.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: mode, Nodes: nodes, Flags: flags}
		}
	}
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string // "" means valid; otherwise the JSON path the error must name
		want   string // more text the error must contain
	}{
		{name: "none of the fields"},
		{name: "no process", mutate: func(s *specs.Spec) { s.Process = nil }},
		{name: "SCHED_OTHER with nice", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: -5})},
		{name: "SCHED_BATCH", mutate: sched(specs.Scheduler{Policy: specs.SchedBatch, Nice: 19})},
		{name: "SCHED_IDLE", mutate: sched(specs.Scheduler{Policy: specs.SchedIdle})},
		{name: "SCHED_FIFO", mutate: sched(specs.Scheduler{Policy: specs.SchedFIFO, Priority: 1})},
		{name: "SCHED_RR", mutate: sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 99, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}})},
		{name: "SCHED_DEADLINE", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7, Period: 1e8})},
		{name: "SCHED_DEADLINE without a period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7})},
		{name: "no policy", mutate: sched(specs.Scheduler{Nice: 1}), field: "process.scheduler.policy", want: "must be set"},
		{name: "unknown policy", mutate: sched(specs.Scheduler{Policy: "SCHED_FOO"}), field: "process.scheduler.policy", want: `unknown policy "SCHED_FOO"`},
		{name: "SCHED_ISO", mutate: sched(specs.Scheduler{Policy: specs.SchedISO}), field: "process.scheduler.policy", want: "not implemented"},
		{name: "nice too low", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: -21}), field: "process.scheduler.nice", want: "-21"},
		{name: "nice too high", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: 20}), field: "process.scheduler.nice", want: "20"},
		{name: "priority with SCHED_OTHER", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Priority: 5}), field: "process.scheduler.priority", want: "only SCHED_FIFO and SCHED_RR"},
		{name: "SCHED_FIFO without priority", mutate: sched(specs.Scheduler{Policy: specs.SchedFIFO}), field: "process.scheduler.priority", want: "1 to 99"},
		{name: "SCHED_RR priority 100", mutate: sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 100}), field: "process.scheduler.priority", want: "1 to 99"},
		{name: "runtime without SCHED_DEADLINE", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Runtime: 1}), field: "process.scheduler", want: "only for SCHED_DEADLINE"},
		{name: "SCHED_DEADLINE without deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6}), field: "process.scheduler.deadline", want: "must be set"},
		{name: "SCHED_DEADLINE runtime too small", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1000, Deadline: 1e7}), field: "process.scheduler.runtime", want: "minimum"},
		{name: "SCHED_DEADLINE runtime above deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2e7, Deadline: 1e7}), field: "process.scheduler.runtime", want: "above the deadline"},
		{name: "SCHED_DEADLINE deadline above period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e8, Period: 1e7}), field: "process.scheduler.deadline", want: "above the period"},
		{name: "SCHED_DEADLINE huge period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7, Period: 1 << 63}), field: "process.scheduler", want: "2^63"},
		{name: "unknown scheduler flag", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagKeepParams, "SCHED_FLAG_FOO"}}), field: "process.scheduler.flags[1]", want: `"SCHED_FLAG_FOO"`},

		{name: "ioPriority RT", mutate: ioprio(specs.IOPRIO_CLASS_RT, 0)},
		{name: "ioPriority BE", mutate: ioprio(specs.IOPRIO_CLASS_BE, 7)},
		{name: "ioPriority IDLE", mutate: ioprio(specs.IOPRIO_CLASS_IDLE, 0)},
		{name: "ioPriority unknown class", mutate: ioprio("IOPRIO_CLASS_NONE", 0), field: "process.ioPriority.class", want: `"IOPRIO_CLASS_NONE"`},
		{name: "ioPriority 8", mutate: ioprio(specs.IOPRIO_CLASS_BE, 8), field: "process.ioPriority.priority", want: "0 to 7"},
		{name: "ioPriority negative", mutate: ioprio(specs.IOPRIO_CLASS_BE, -1), field: "process.ioPriority.priority", want: "0 to 7"},

		{name: "affinity both", mutate: affinity("0-1", "0")},
		{name: "affinity empty", mutate: affinity("", "")},
		{name: "affinity initial bad", mutate: affinity("0-", ""), field: "process.execCPUAffinity.initial", want: `"0-"`},
		{name: "affinity final bad", mutate: affinity("0", "a"), field: "process.execCPUAffinity.final", want: `"a"`},
		{name: "affinity backwards", mutate: affinity("3-1", ""), field: "process.execCPUAffinity.initial", want: "backwards"},

		{name: "apparmor without AppArmor", mutate: func(s *specs.Spec) { s.Process.ApparmorProfile = "runtime/default" }, field: "process.apparmorProfile", want: "AppArmor is not enabled on this host"},
		{name: "selinux without SELinux", mutate: func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" }, field: "process.selinuxLabel", want: "selinux label is specified in config, but selinux is disabled or not supported"},

		{name: "personality LINUX", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux} }},
		{name: "personality LINUX32", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32} }},
		{name: "personality unknown domain", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "SVR4"} }, field: "linux.personality.domain", want: `"SVR4"`},
		{name: "personality flag", mutate: func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, field: "linux.personality.flags[0]", want: `"ADDR_NO_RANDOMIZE"`},

		{name: "mempolicy default", mutate: mempol(specs.MpolDefault, "")},
		{name: "mempolicy local", mutate: mempol(specs.MpolLocal, "")},
		{name: "mempolicy bind", mutate: mempol(specs.MpolBind, "0", specs.MpolFNumaBalancing)},
		{name: "mempolicy interleave static", mutate: mempol(specs.MpolInterleave, "0-3,7", specs.MpolFStaticNodes)},
		{name: "mempolicy preferred no nodes", mutate: mempol(specs.MpolPreferred, "")},
		{name: "mempolicy weighted interleave", mutate: mempol(specs.MpolWeightedInterleave, "0", specs.MpolFRelativeNodes)},
		{name: "mempolicy unknown mode", mutate: mempol("MPOL_FOO", ""), field: "linux.memoryPolicy.mode", want: `"MPOL_FOO"`},
		{name: "mempolicy unknown flag", mutate: mempol(specs.MpolBind, "0", "MPOL_F_FOO"), field: "linux.memoryPolicy.flags[0]", want: `"MPOL_F_FOO"`},
		{name: "mempolicy static and relative", mutate: mempol(specs.MpolBind, "0", specs.MpolFStaticNodes, specs.MpolFRelativeNodes), field: "linux.memoryPolicy.flags", want: "exclude each other"},
		{name: "mempolicy numa balancing without bind", mutate: mempol(specs.MpolInterleave, "0", specs.MpolFNumaBalancing), field: "linux.memoryPolicy.flags", want: "MPOL_BIND"},
		{name: "mempolicy default with nodes", mutate: mempol(specs.MpolDefault, "0"), field: "linux.memoryPolicy.nodes", want: "must be empty"},
		{name: "mempolicy local static", mutate: mempol(specs.MpolLocal, "", specs.MpolFStaticNodes), field: "linux.memoryPolicy.flags", want: "MPOL_LOCAL"},
		{name: "mempolicy preferred relative without nodes", mutate: mempol(specs.MpolPreferred, "", specs.MpolFRelativeNodes), field: "linux.memoryPolicy.nodes", want: "needs a node"},
		{name: "mempolicy bind without nodes", mutate: mempol(specs.MpolBind, ""), field: "linux.memoryPolicy.nodes", want: "at least one node"},
		{name: "mempolicy bad nodes", mutate: mempol(specs.MpolBind, "0,,1"), field: "linux.memoryPolicy.nodes", want: "not a number"},

		{name: "intelRdt without resctrl", mutate: func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c"} }, field: "linux.intelRdt", want: "the host has no resctrl filesystem (mount -t resctrl)"},
		{name: "netDevices duplicate container name", mutate: func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}, "eth0": {Name: "eth1"}}
		}, field: `linux.netDevices["eth1"]`, want: `container name "eth1" is also the container name of linux.netDevices["eth0"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			if tt.mutate != nil {
				tt.mutate(spec)
			}
			err := validateExtras(spec)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("validateExtras: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validateExtras: nil, want an error naming %s", tt.field)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %q is not ErrConfig", err)
			}
			if prefix := "config.json: " + tt.field + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestValidateExtrasHost: on this host (no resctrl, no AppArmor, no SELinux, as the issue says) the LSM and RDT
// fields are refused through the real host checks, naming the field. (Where AppArmor is enabled the profile is
// accepted: TestValidateAppArmorEnabled.)
func TestValidateExtrasHost(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string
	}{
		{name: "apparmorProfile", mutate: func(s *specs.Spec) { s.Process.ApparmorProfile = "p" }, field: "process.apparmorProfile"},
		{name: "selinuxLabel", mutate: func(s *specs.Spec) { s.Process.SelinuxLabel = "l" }, field: "process.selinuxLabel"},
		{name: "intelRdt", mutate: func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{} }, field: "linux.intelRdt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(spec)
			err := validateExtras(spec)
			if !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), "config.json: "+tt.field+": ") {
				t.Errorf("validateExtras = %v, want a config error naming %s", err, tt.field)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "empty", in: ""},
		{name: "blank", in: "  "},
		{name: "one", in: "7", want: []int{7}},
		{name: "range", in: "0-3", want: []int{0, 1, 2, 3}},
		{name: "spec example", in: "0-3,7", want: []int{0, 1, 2, 3, 7}},
		{name: "single-element range", in: "2-2", want: []int{2}},
		{name: "unsorted and overlapping", in: "5,1-3,2", want: []int{1, 2, 3, 5}},
		{name: "spaces around parts", in: " 1 , 3 - 4 ", want: []int{1, 3, 4}},
		{name: "leading zeros", in: "007", want: []int{7}},
		{name: "maximum", in: "65535", want: []int{65535}},
		{name: "above maximum", in: "65536", wantErr: true},
		{name: "huge range", in: "0-4000000000", wantErr: true},
		{name: "overflow", in: "99999999999999999999999", wantErr: true},
		{name: "backwards", in: "3-1", wantErr: true},
		{name: "open range", in: "1-", wantErr: true},
		{name: "open start", in: "-1", wantErr: true},
		{name: "empty element", in: "1,,2", wantErr: true},
		{name: "trailing comma", in: "1,", wantErr: true},
		{name: "letters", in: "cpu0", wantErr: true},
		{name: "sign", in: "+1", wantErr: true},
		{name: "stride is not supported", in: "0-7:2/4", wantErr: true},
		{name: "two dashes", in: "1-2-3", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseList(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errList) {
					t.Fatalf("parseList(%q) = %v, %v; want an errList error", tt.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("parseList(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMemoryPolicyArgs(t *testing.T) {
	tests := []struct {
		name     string
		mp       specs.LinuxMemoryPolicy
		wantMode int
		wantMask []uint
	}{
		{name: "default", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, wantMode: 0},
		{name: "bind 0", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, wantMode: 2, wantMask: []uint{1}},
		{name: "interleave static", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0-3,7", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, wantMode: 3 | 1<<15, wantMask: []uint{0x8f}},
		{name: "node in the second word", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "64"}, wantMode: 1, wantMask: []uint{0, 1}},
		{name: "bind balancing", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1", Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}}, wantMode: 2 | 1<<13, wantMask: []uint{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if unsafe.Sizeof(uint(0)) != 8 && len(tt.wantMask) > 1 {
				t.Skip("the mask layout is checked for 64-bit words")
			}
			mode, mask, err := memoryPolicyArgs(&tt.mp)
			if err != nil || mode != tt.wantMode || !slices.Equal(mask, tt.wantMask) {
				t.Fatalf("memoryPolicyArgs = %#x, %#x, %v; want %#x, %#x", mode, mask, err, tt.wantMode, tt.wantMask)
			}
		})
	}
}

// onFreshThread runs f on an OS thread of its own that is thrown away afterwards (a goroutine that exits while
// locked takes its thread with it), so that the attributes f sets never leak into the test binary.
func onFreshThread(t *testing.T, f func() error) {
	t.Helper()
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		done <- f()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestApplyExtras applies each attribute on a throw-away thread and reads it back from the kernel.
func TestApplyExtras(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: SCHED_FIFO, IOPRIO_CLASS_RT and raising nice need CAP_SYS_NICE / CAP_SYS_ADMIN")
	}
	var online unix.CPUSet
	if err := unix.SchedGetaffinity(0, &online); err != nil {
		t.Fatal(err)
	}
	firstCPU := 0
	for !online.IsSet(firstCPU) {
		firstCPU++
	}
	tests := []struct {
		name  string
		p     specs.Process
		final bool
		check func() error
	}{
		{name: "SCHED_BATCH nice 7", p: specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}}, check: func() error {
			return wantSched(unix.SCHED_BATCH, 7, 0)
		}},
		{name: "SCHED_IDLE", p: specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedIdle}}, check: func() error {
			return wantSched(unix.SCHED_IDLE, 0, 0)
		}},
		{name: "SCHED_RR 3", p: specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedRR, Priority: 3}}, check: func() error {
			return wantSched(unix.SCHED_RR, 0, 3)
		}},
		{name: "ioprio BE 6", p: specs.Process{IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}}, check: func() error {
			return wantIOPrio(2<<13 | 6)
		}},
		{name: "ioprio IDLE", p: specs.Process{IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE}}, check: func() error {
			return wantIOPrio(3 << 13)
		}},
		{name: "initial affinity", p: specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: strconv.Itoa(firstCPU)}}, check: func() error {
			return wantAffinity([]int{firstCPU})
		}},
		{name: "final affinity is not applied first", p: specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Final: strconv.Itoa(firstCPU)}}, check: func() error {
			return wantAffinity(setIDs(&online))
		}},
		{name: "final affinity", final: true, p: specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "0-1023", Final: strconv.Itoa(firstCPU)}}, check: func() error {
			return wantAffinity([]int{firstCPU})
		}},
		{name: "final call leaves the rest alone", final: true, p: specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedBatch, Nice: 3}}, check: func() error {
			return wantSched(unix.SCHED_NORMAL, 0, 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onFreshThread(t, func() error {
				if err := applyExtras(&tt.p, tt.final); err != nil {
					return err
				}
				return tt.check()
			})
		})
	}
}

// TestApplyExtrasErrors: what the kernel refuses comes back as a syscall error under the field's path.
func TestApplyExtrasErrors(t *testing.T) {
	tests := []struct {
		name string
		p    specs.Process
		want string
	}{
		{name: "affinity on no online CPU", p: specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "65000"}}, want: `process.execCPUAffinity.initial "65000": sched_setaffinity: invalid argument`},
		{name: "unknown policy", p: specs.Process{Scheduler: &specs.Scheduler{Policy: "SCHED_FOO"}}, want: "process.scheduler.policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			onFreshThread(t, func() error { err = applyExtras(&tt.p, false); return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("applyExtras = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestApplyPersonality(t *testing.T) {
	tests := []struct {
		name string
		per  *specs.LinuxPersonality
		want uintptr
	}{
		{name: "LINUX32", per: &specs.LinuxPersonality{Domain: specs.PerLinux32}, want: 0x0008},
		{name: "LINUX", per: &specs.LinuxPersonality{Domain: specs.PerLinux}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onFreshThread(t, func() error {
				if err := applyPersonality(tt.per); err != nil {
					return err
				}
				got, _, _ := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0) // 0xffffffff queries
				if got != tt.want {
					return fmt.Errorf("personality = %#x, want %#x", got, tt.want)
				}
				return nil
			})
		})
	}
}

func TestApplyMemoryPolicy(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/node/node0"); err != nil {
		t.Skip("no NUMA node 0 (a kernel without CONFIG_NUMA)")
	}
	tests := []struct {
		name     string
		mp       specs.LinuxMemoryPolicy
		wantMode int
		wantMask uint
	}{
		{name: "bind 0", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, wantMode: 2, wantMask: 1},
		{name: "interleave 0", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0"}, wantMode: 3, wantMask: 1},
		{name: "preferred 0 static", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, wantMode: 1 | 1<<15, wantMask: 1},
		{name: "default", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, wantMode: 0, wantMask: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onFreshThread(t, func() error {
				if err := applyMemoryPolicy(&tt.mp); err != nil {
					return err
				}
				// get_mempolicy(2) with flags 0: the calling thread's mode (with its mode flags) and nodemask.
				var mode int32
				mask := make([]uint, 16)
				_, _, errno := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)),
					uintptr(unsafe.Pointer(&mask[0])), uintptr(len(mask))*64, 0, 0, 0)
				if errno != 0 {
					return os.NewSyscallError("get_mempolicy", errno)
				}
				if int(mode) != tt.wantMode || mask[0] != tt.wantMask {
					return fmt.Errorf("get_mempolicy: mode %#x mask %#x, want %#x %#x", mode, mask[0], tt.wantMode, tt.wantMask)
				}
				return nil
			})
		})
	}
}

// wantSched checks the calling thread's policy, nice and static priority (sched_getattr(2)).
func wantSched(policy uint32, nice int32, prio uint32) error {
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return os.NewSyscallError("sched_getattr", err)
	}
	if a.Policy != policy || a.Nice != nice || a.Priority != prio {
		return fmt.Errorf("sched_getattr: policy %d nice %d priority %d, want %d %d %d", a.Policy, a.Nice, a.Priority, policy, nice, prio)
	}
	return nil
}

// wantIOPrio checks the calling thread's I/O priority (ioprio_get(2), IOPRIO_WHO_PROCESS, who 0).
func wantIOPrio(want int) error {
	got, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
	if errno != 0 {
		return os.NewSyscallError("ioprio_get", errno)
	}
	if int(got) != want {
		return fmt.Errorf("ioprio_get = %#x, want %#x", got, want)
	}
	return nil
}

// wantAffinity checks the calling thread's CPU affinity.
func wantAffinity(want []int) error {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return os.NewSyscallError("sched_getaffinity", err)
	}
	if got := setIDs(&set); !slices.Equal(got, want) {
		return fmt.Errorf("affinity %v, want %v", got, want)
	}
	return nil
}

// setIDs lists the CPUs of set.
func setIDs(set *unix.CPUSet) []int {
	var ids []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			ids = append(ids, i)
		}
	}
	return ids
}
