package libcontainer

// process.execCPUAffinity: applied in an exec'd process on the thread that execs (setAffinity, from
// applyThreadAttrs in init.go): sched_setaffinity(2) is per thread and survives execve.

import (
	"fmt"
	"os"

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
