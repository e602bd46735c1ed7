// Command subreaper runs one command as a child subreaper and exits with its status.
//
// The conformance programs and the benchmark start runtimes whose container processes outlive the runtime
// command that made them (`create` returns while the init waits on the exec fifo). Orphans are reparented to
// the nearest subreaper, and this machine's PID 1 reaps them slowly, so a stopped container would linger as a
// zombie and its status would lag. Marking this process a subreaper (prctl(2) PR_SET_CHILD_SUBREAPER, Linux
// 3.4) and reaping every child keeps "stopped" prompt. It is a helper of tests/conformance/run.sh and
// tests/bench/run.sh, not part of rt.
//
// Usage: subreaper COMMAND [ARG...]
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	"golang.org/x/sys/unix"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "subreaper: %v\n", err)
	}
	os.Exit(code)
}

// run starts args as a child, forwards termination signals to it, and reaps every process that exits under
// it until the command itself has exited. It returns the command's exit code, 128+signal when killed, as a
// shell does.
func run(args []string) (int, error) {
	if len(args) == 0 {
		return 2, errors.New("usage: subreaper COMMAND [ARG...]")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 1, os.NewSyscallError("prctl", err)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return 127, fmt.Errorf("look up command: %w", err)
	}
	// Signals are caught before the start so that none is lost; the child gets the default dispositions
	// back on execve(2).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	proc, err := os.StartProcess(path, args, &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		return 126, fmt.Errorf("start command: %w", err)
	}
	go func() {
		for s := range sigs {
			_ = proc.Signal(s)
		}
	}()
	for {
		var ws unix.WaitStatus
		// Wait4 on -1 rather than on the child's pid: orphans reparented here must be reaped too.
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 1, os.NewSyscallError("wait4", err)
		}
		if pid != proc.Pid {
			continue
		}
		reapRest()
		switch {
		case ws.Exited():
			return ws.ExitStatus(), nil
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		}
	}
}

// reapRest collects the zombies already present without waiting for the children still running: those are
// reparented to init when this process exits.
func reapRest() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}
