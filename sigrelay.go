package main

// #cgo CFLAGS: -Wall -Wextra -Werror
// #include "sigrelay.h"
import "C"

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// sigRelay is the read end of the pipe into which rt's C signal handler (sigrelay.c) writes the number of each
// signal a foreground run or exec gets, for forwardAndWait.
//
// Not os/signal: its Notify of every signal enables them one at a time, each a round trip to the runtime's
// signal-mask thread (runtime.sigenable -> ensureSigM), ~56 of them and ~2 thread switches each, and starts two
// more threads. Nothing else in rt may call signal.Notify once the relay is set: the runtime would not take a
// caught signal back from the C handler (its handlingSig is already set), so that Notify would never fire.
type sigRelay struct{ fd int }

// catchSignals makes rt catch, from now until it exits, every signal it forwards, as runc's signal.Notify() does:
// every catchable signal but SIGURG (the runtime's preemption), SIGPROF (its profiler) and 32 to 34 (the libc's),
// with SIGCHLD and SIGWINCH among them for forwardAndWait. A signal that comes before the container's process
// exists waits in the pipe.
func catchSignals() (*sigRelay, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	if err := unix.SetNonblock(p[1], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, os.NewSyscallError("fcntl", err)
	}
	// The runtime kills a process whose write to stdout or stderr fails with EPIPE unless SIGPIPE is notified or
	// ignored (runtime.sigpipe); with os/signal it was notified, so rt lived on. Ignored here, then caught by the
	// handler below (a handler replaces SIG_IGN), the kernel's SIGPIPE is forwarded and such a write only fails.
	signal.Ignore(unix.SIGPIPE)
	if errno := C.rt_catch_signals(C.int(p[1])); errno != 0 {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, os.NewSyscallError("sigaction", unix.Errno(errno))
	}
	return &sigRelay{fd: p[0]}, nil
}

// next blocks until signals have come and returns their numbers in order, into buf.
func (r *sigRelay) next(buf []byte) ([]byte, error) {
	for {
		n, err := unix.Read(r.fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("read", err)
		}
		return buf[:n], nil
	}
}
