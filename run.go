package main

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and exit with its status",
	ArgsUsage: "CONTAINER_ID",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container has started"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a subreaper of the container's orphans"},
	}, createFlags...),
	Action: func(cliCtx *cli.Context) error {
		detach := cliCtx.Bool("detach")
		var signals chan os.Signal
		if !detach {
			if !cliCtx.Bool("no-subreaper") {
				// Orphans of a container without its own pid namespace come back to rt, which reaps them.
				if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
					return os.NewSyscallError("prctl PR_SET_CHILD_SUBREAPER", err)
				}
			}
			// Before the init exists, so that neither its SIGCHLD nor a signal for it is missed.
			signals = make(chan os.Signal, 128)
			signal.Notify(signals)
		}
		c, relay, err := createContainer(cliCtx, detach)
		if err != nil {
			return err
		}
		defer relay.stop()
		if err := c.Start(); err != nil {
			_ = c.Delete(true)
			c.Close()
			return err
		}
		// Unlock while the container runs, so that state, kill, exec and the rest can act on it.
		pid := c.State().InitPid // even if it has exited already: it is still ours to reap
		if err := c.Close(); err != nil {
			return err
		}
		if detach {
			return c.AwaitReady(false)
		}
		// In the foreground readiness is passed on while rt relays signals and waits.
		go func() {
			if err := c.AwaitReady(true); err != nil {
				slog.Warn(err.Error())
			}
		}()
		relay.start()
		code, err := forwardAndWait(pid, signals, relay)
		if err != nil {
			return err
		}
		if !cliCtx.Bool("keep") {
			if err := deleteAfterRun(cliCtx.String("root"), c.ID()); err != nil {
				return err
			}
		}
		return &exitError{code: code}
	},
}

// deleteAfterRun removes the container once its init has exited; a concurrent `rt delete` may have done it already.
func deleteAfterRun(root, id string) error {
	c, err := libcontainer.Load(root, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Delete(true)
}

// forwardAndWait relays every signal rt gets to pid and reaps children until pid exits; it returns pid's exit code
// (128+signal when killed). SIGCHLD is rt's own, SIGURG belongs to the Go runtime's preemption, and with a
// terminal relay SIGWINCH resizes the pty instead.
func forwardAndWait(pid int, signals chan os.Signal, relay *ttyRelay) (int, error) {
	defer signal.Stop(signals)
	for {
		if code, done, err := reap(pid); done || err != nil {
			return code, err
		}
		sig := (<-signals).(unix.Signal)
		switch {
		case sig == unix.SIGCHLD || sig == unix.SIGURG:
		case sig == unix.SIGWINCH && relay != nil:
			relay.resize()
		default:
			_ = unix.Kill(pid, sig)
		}
	}
}

// reap collects every exited child without blocking and reports pid's status once it is among them.
func reap(pid int) (code int, done bool, err error) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			return 0, false, errors.New("container init is not a child of rt")
		case err != nil:
			return 0, false, os.NewSyscallError("wait4", err)
		case got <= 0:
			return 0, false, nil
		case got == pid:
			return libcontainer.ExitCode(ws), true, nil
		}
	}
}
