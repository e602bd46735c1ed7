package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer"
)

// runFlags are run's own flags, then create's (createFlags), named rather than appended so that the list is data.
var runFlags = []cli.Flag{
	&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container has started"},
	&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
	&cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a subreaper of the container's orphans"},
	bundleFlag, consoleSocketFlag, pidfdSocketFlag, pidFileFlag, noPivotFlag, noNewKeyringFlag, preserveFDsFlag,
}

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and exit with its status",
	ArgsUsage: "CONTAINER_ID | BUNDLE_DIR/",
	Flags:     runFlags,
	Action: func(cliCtx *cli.Context) error {
		detach := cliCtx.Bool("detach")
		var signals *sigRelay
		if !detach {
			if !cliCtx.Bool("no-subreaper") {
				// Orphans of a container without its own pid namespace come back to rt, which reaps them.
				if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
					return os.NewSyscallError("prctl PR_SET_CHILD_SUBREAPER", err)
				}
			}
			// Before the init exists, so that neither its SIGCHLD nor a signal for it is missed.
			var err error
			if signals, err = catchSignals(); err != nil {
				return err
			}
		}
		id, bundle, named, err := runTarget(cliCtx)
		if err != nil {
			return err
		}
		c, relay, err := createContainer(cliCtx, id, bundle, detach)
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
			if err := c.AwaitReady(false); err != nil {
				return err
			}
			if named {
				fmt.Println(c.ID()) // the caller has no other way to learn the id it was given
			}
			return nil
		}
		// In the foreground readiness is passed on while rt relays signals and waits; a goroutine for it only when
		// there is a READY=1 to wait for (its start would wake a thread of the Go runtime for nothing).
		readyDone := make(chan struct{})
		if c.WaitsReady() {
			go func() {
				defer close(readyDone)
				if err := c.AwaitReady(true); err != nil {
					slog.Warn(err.Error())
				}
			}()
		} else {
			close(readyDone)
		}
		relay.start()
		code, err := forwardAndWait(pid, signals, relay)
		if err != nil {
			return err
		}
		// The relay ends once it has seen the init's exit, after passing on what the workload sent before it:
		// rt must not exit with a READY=1 still unsent.
		<-readyDone
		if !cliCtx.Bool("keep") {
			if err := deleteAfterRun(c); err != nil {
				return err
			}
		}
		return &exitError{code: code}
	},
}

// runTarget is run's container id and bundle. `rt run ID` is runc's (the bundle is --bundle); an argument with a
// slash can never be an id, so `rt run DIR/` runs the bundle in DIR under an id made from the directory's name
// and a short random suffix (named is true: `run -d` prints it).
func runTarget(cliCtx *cli.Context) (id, bundle string, named bool, err error) {
	if id, err = idArg(cliCtx); err != nil {
		return "", "", false, err
	}
	if !strings.Contains(id, "/") {
		return id, cliCtx.String("bundle"), false, nil
	}
	dir := id
	if st, statErr := os.Stat(filepath.Join(dir, "config.json")); statErr != nil || !st.Mode().IsRegular() {
		return "", "", false, fmt.Errorf("run: %q is neither a container id (no slash allowed) nor a bundle directory (no config.json)", dir)
	}
	if cliCtx.IsSet("bundle") {
		return "", "", false, fmt.Errorf("run: %q is a bundle directory, and so is --bundle %q: give one", dir, cliCtx.String("bundle"))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false, fmt.Errorf("run %s: %w", dir, err)
	}
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		return "", "", false, fmt.Errorf("run %s: %w", dir, err)
	}
	// Characters an id may not have become '-'; a name that would start with '.' gets none of its dots.
	name := strings.TrimLeft(idSafe(filepath.Base(abs)), ".")
	if name == "" || name == "-" {
		name = "rt"
	}
	return name + "-" + hex.EncodeToString(suffix), abs, true, nil
}

// idSafe replaces each run of characters a container id may not contain (libcontainer.IDChar) by one '-'.
func idSafe(s string) string {
	var b strings.Builder
	unsafeRun := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if libcontainer.IDChar(c, false) {
			b.WriteByte(c)
			unsafeRun = false
		} else if !unsafeRun {
			b.WriteByte('-')
			unsafeRun = true
		}
	}
	return b.String()
}

// deleteAfterRun removes the container once its init has exited; a concurrent `rt delete` may have done it already.
func deleteAfterRun(created *libcontainer.Container) error {
	c, err := created.Reload()
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Delete(true)
}

// forwardAndWait relays every signal rt gets (catchSignals) to pid and reaps children until pid exits; it returns
// pid's exit code (128+signal when killed). SIGCHLD is rt's own, and with a terminal relay SIGWINCH resizes the pty
// instead. The signals stay caught until rt exits (the handlers are never reset, which would only precede the
// exit): one that comes while a foreground run deletes the container waits in the pipe rather than killing rt
// half-way.
func forwardAndWait(pid int, signals *sigRelay, relay *ttyRelay) (int, error) {
	var buf [64]byte
	for {
		if code, done, err := reap(pid); done || err != nil {
			return code, err
		}
		sigs, err := signals.next(buf[:])
		if err != nil {
			return 0, err
		}
		for _, b := range sigs {
			sig := unix.Signal(b)
			switch {
			case sig == unix.SIGCHLD:
			case sig == unix.SIGWINCH && relay != nil:
				relay.resize()
			default:
				_ = unix.Kill(pid, sig)
			}
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
