package libcontainer

// process.execCPUAffinity of an exec'd process: initial is set by the parent on the bootstrap child before it is
// told anything (place, parent.go), so that all of `rt init`, every thread it starts and the process it clones run
// on those CPUs until the cgroup is joined, as runc sets it on its init at start; final is set on the thread that
// execs, once it is in the container's cgroup (execve, init.go). sched_setaffinity(2) survives clone and execve.
// Without either, every new process is reset to all CPUs (resetAffinity), so it does not inherit rt's caller's
// affinity (taskset rt ...).

import (
	"bytes"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/cpulist"
)

// setAffinity calls sched_setaffinity(2) on pid (0: the calling thread) with the CPU list list, field naming its
// JSON path.
func setAffinity(pid int, list, field string) error {
	ids, err := cpulist.Parse(list)
	if err != nil {
		return fieldError(field, "%v", err)
	}
	set := unix.NewCPUSet(ids[len(ids)-1] + 1)
	for _, id := range ids {
		set.Set(id)
	}
	if err := unix.SchedSetaffinityDynamic(pid, set); err != nil {
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
