package libcontainer

// process.execCPUAffinity: applied in an exec'd process on the thread that execs (setAffinity, from
// applyThreadAttrs in init.go): sched_setaffinity(2) is per thread and survives execve. Before that, every new
// process is reset to all CPUs (resetAffinity), so it does not inherit rt's caller's affinity (taskset rt ...).

import (
	"bytes"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/cpulist"
)

// setAffinity calls sched_setaffinity(2) on the calling thread with the CPU list list, field naming its JSON path.
func setAffinity(list, field string) error {
	ids, err := cpulist.Parse(list)
	if err != nil {
		return fieldError(field, "%v", err)
	}
	set := unix.NewCPUSet(ids[len(ids)-1] + 1)
	for _, id := range ids {
		set.Set(id)
	}
	if err := unix.SchedSetaffinityDynamic(0, set); err != nil {
		return fmt.Errorf("%s %q: %w", field, list, os.NewSyscallError("sched_setaffinity", err))
	}
	return nil
}

// resetAffinity lets the process pid (single-threaded: blocked in the nsenter constructor) run on every CPU of its
// cgroup's cpuset, as runc does after placing a process: rt's own affinity, which the caller may have narrowed, is
// not the container's. The mask has a bit set for as many CPUs as the Go runtime allows for (64 Ki): the kernel
// clamps it to the CPUs it supports and masks it with the task's cpuset, keeping the rest for a later cpuset. A
// failure leaves the inherited affinity, which is no reason to fail (runc warns).
func resetAffinity(pid int) {
	all := bytes.Repeat([]byte{0xff}, 64*1024/8)
	_, _, _ = unix.RawSyscall(unix.SYS_SCHED_SETAFFINITY, uintptr(pid), uintptr(len(all)), uintptr(unsafe.Pointer(&all[0])))
}
