package nsenter

// #define _GNU_SOURCE
// #include "nsenter.h"
import "C"

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// timerSlack is the timer slack of rt's own threads (RT_TIMERSLACK_NS).
const timerSlack = C.RT_TIMERSLACK_NS

// callerTimerSlack is the timer slack rt's caller gave it, which the constructor raised to RT_TIMERSLACK_NS for rt's
// own threads (nsenter.c raise_timerslack); 0 when it left the slack as it was, or once RestoreCallerTimerSlack
// has given the process's main thread the caller's slack back.
var callerTimerSlack = uintptr(C.rt_caller_timerslack)

// WithCallerTimerSlack calls start, which starts a child process, on a thread that has the caller's timer slack
// again: a child inherits the slack of the thread that forks it (prctl(2) PR_SET_TIMERSLACK), so it gets the value
// it would have had without rt in between. Every fork of a program other than rt itself goes through here.
func WithCallerTimerSlack(start func() error) error {
	if callerTimerSlack == 0 {
		return start()
	}
	// The fork happens on this goroutine's thread (syscall.forkExec), so the goroutine stays on it.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, callerTimerSlack, 0, 0, 0); err != nil {
		runtime.UnlockOSThread()
		return os.NewSyscallError("prctl PR_SET_TIMERSLACK", err)
	}
	err := start()
	// The thread goes back to the scheduler only with rt's slack again: other goroutines run on it, and the threads
	// it starts inherit its slack. Should that fail, the goroutine keeps the thread, which ends with it.
	if unix.Prctl(unix.PR_SET_TIMERSLACK, timerSlack, 0, 0, 0) == nil {
		runtime.UnlockOSThread()
	}
	return err
}

// RestoreCallerTimerSlack gives the calling thread the caller's timer slack back for good, so that what it forks or
// execs later has it with no WithCallerTimerSlack. `rt init` calls it first, on the thread its main goroutine is
// locked to and that execs the container's process, before a seccomp filter could deny prctl(2). Its runtime's
// other threads keep the raised slack. Not safe to call concurrently with WithCallerTimerSlack.
func RestoreCallerTimerSlack() error {
	if callerTimerSlack == 0 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, callerTimerSlack, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_TIMERSLACK", err)
	}
	callerTimerSlack = 0
	return nil
}
