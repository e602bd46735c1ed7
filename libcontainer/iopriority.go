package libcontainer

// process.ioPriority: applied in `rt init` on the thread that execs (setIOPriority, from applyThreadAttrs in
// init.go): ioprio_set(2) with who 0 is per thread and survives execve.

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// ioprioClasses maps process.ioPriority.class to IOPRIO_CLASS_* (include/uapi/linux/ioprio.h).
var ioprioClasses = table.Table[specs.IOPriorityClass, int]{
	{Key: specs.IOPRIO_CLASS_RT, Val: 1},
	{Key: specs.IOPRIO_CLASS_BE, Val: 2},
	{Key: specs.IOPRIO_CLASS_IDLE, Val: 3},
}

const (
	// ioprioWhoProcess is IOPRIO_WHO_PROCESS: with who 0, ioprio_set(2) changes the calling thread.
	ioprioWhoProcess = 1
	// ioprioClassShift is IOPRIO_CLASS_SHIFT: the value is class<<13 | level (ioprio_set(2)).
	ioprioClassShift = 13
	// ioprioLevels is IOPRIO_NR_LEVELS: levels 0 (highest) to 7 (lowest) for the RT and BE classes.
	ioprioLevels = 8
)

// setIOPriority calls ioprio_set(2) on the calling thread with process.ioPriority, as runc does (who 0).
func setIOPriority(io *specs.LinuxIOPriority) error {
	class, ok := ioprioClasses.Get(io.Class)
	if !ok {
		return fieldError("process.ioPriority.class", "unknown class %q", io.Class)
	}
	value := class<<ioprioClassShift | io.Priority
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(value)); errno != 0 {
		return fmt.Errorf("process.ioPriority: %w", os.NewSyscallError("ioprio_set", errno))
	}
	return nil
}
