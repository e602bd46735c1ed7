package libcontainer

// onFreshThread runs f on an OS thread of its own that is thrown away afterwards (a goroutine that exits while
// locked takes its thread with it), so that the attributes f sets never leak into the test binary.

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

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

// TestApplyThreadAttrs applies each attribute on a throw-away thread and reads it back from the kernel.
func TestApplyThreadAttrs(t *testing.T) {
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
		{name: "initial affinity is the parent's (place)", p: specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: strconv.Itoa(firstCPU)}}, check: func() error {
			return wantAffinity(setIDs(&online))
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
				if err := applyThreadAttrs(&tt.p, tt.final); err != nil {
					return err
				}
				return tt.check()
			})
		})
	}
}

// TestApplyThreadAttrsErrors: what the kernel refuses comes back as a syscall error under the field's path.
func TestApplyThreadAttrsErrors(t *testing.T) {
	tests := []struct {
		name  string
		p     specs.Process
		final bool
		want  string
	}{
		{name: "affinity on no online CPU", final: true, p: specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Final: "65000"}}, want: `process.execCPUAffinity.final "65000": sched_setaffinity: invalid argument`},
		{name: "unknown policy", p: specs.Process{Scheduler: &specs.Scheduler{Policy: "SCHED_FOO"}}, want: "process.scheduler.policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			onFreshThread(t, func() error { err = applyThreadAttrs(&tt.p, tt.final); return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("applyThreadAttrs = %v, want an error containing %q", err, tt.want)
			}
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

// TestSetUserIDs: ids the thread already has as its real, effective and saved ones are not set again: setresuid
// and setresgid apply a change to every thread of the process (glibc's setxid broadcast, a signal to each), which
// the init of a container running as rt's own user (root) paid for nothing. Other ids are set, gid first.
func TestSetUserIDs(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	if r, e, s := unix.Getresuid(); r != uid || e != uid || s != uid {
		t.Skipf("real, effective and saved uids differ: %d %d %d", r, e, s)
	}
	if r, e, s := unix.Getresgid(); r != gid || e != gid || s != gid {
		t.Skipf("real, effective and saved gids differ: %d %d %d", r, e, s)
	}
	var calls []string
	defer func(g, u func(int, int, int) error) { setresgid, setresuid = g, u }(setresgid, setresuid)
	setresgid = func(r, e, s int) error { calls = append(calls, fmt.Sprintf("setresgid %d %d %d", r, e, s)); return nil }
	setresuid = func(r, e, s int) error { calls = append(calls, fmt.Sprintf("setresuid %d %d %d", r, e, s)); return nil }
	tests := []struct {
		name     string
		uid, gid int
		want     []string
	}{
		{name: "both in place", uid: uid, gid: gid},
		{name: "other gid", uid: uid, gid: gid + 1, want: []string{fmt.Sprintf("setresgid %d %d %d", gid+1, gid+1, gid+1)}},
		{name: "other uid", uid: uid + 1, gid: gid, want: []string{fmt.Sprintf("setresuid %d %d %d", uid+1, uid+1, uid+1)}},
		{name: "both other", uid: uid + 1, gid: gid + 1, want: []string{
			fmt.Sprintf("setresgid %d %d %d", gid+1, gid+1, gid+1), fmt.Sprintf("setresuid %d %d %d", uid+1, uid+1, uid+1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			if err := setUserIDs(tt.uid, tt.gid); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(calls, tt.want) {
				t.Errorf("setUserIDs(%d, %d) calls %q, want %q", tt.uid, tt.gid, calls, tt.want)
			}
		})
	}
}
