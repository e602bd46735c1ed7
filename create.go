package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/libcontainer"
)

// create's flags, which run takes too (runFlags). Each is a package-level pointer and the lists name them, so that
// the compiler lays the command tree out as data: nothing is built at start-up, in rt init (which never parses a
// command line) or anywhere else (main.init was 47 allocations).
var (
	bundleFlag        = &cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the bundle directory"}
	consoleSocketFlag = &cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to (process.terminal)"}
	pidfdSocketFlag   = &cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket to send a pidfd of the container's init to"}
	pidFileFlag       = &cli.StringFlag{Name: "pid-file", Usage: "file to write the container init's pid to"}
	noPivotFlag       = &cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for a rootfs on a ramdisk)"}
	noNewKeyringFlag  = &cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring"}
	preserveFDsFlag   = &cli.IntFlag{Name: "preserve-fds", Usage: "pass N more fds (3 to 3+N-1) to the container"}
)

// createFlags are create's flags; runFlags lists the same after run's own.
var createFlags = []cli.Flag{
	bundleFlag, consoleSocketFlag, pidfdSocketFlag, pidFileFlag, noPivotFlag, noNewKeyringFlag, preserveFDsFlag,
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container, ready to be started",
	ArgsUsage: "CONTAINER_ID",
	Flags:     createFlags,
	Action: func(cliCtx *cli.Context) error {
		id, err := idArg(cliCtx)
		if err != nil {
			return err
		}
		c, _, err := createContainer(cliCtx, id, cliCtx.String("bundle"), true)
		if err != nil {
			return err
		}
		return c.Close()
	},
}

// createContainer is create's work, shared with run: the container is left created and locked. A foreground run
// with a terminal gets the relay for its pty.
func createContainer(cliCtx *cli.Context, id, bundleArg string, detach bool) (*libcontainer.Container, *ttyRelay, error) {
	if err := libcontainer.ValidateID(id); err != nil {
		return nil, nil, err
	}
	bundle, err := filepath.Abs(bundleArg)
	if err != nil {
		return nil, nil, fmt.Errorf("--bundle: %w", err)
	}
	spec, err := libcontainer.LoadSpec(bundle)
	if err != nil {
		return nil, nil, err
	}
	terminal := spec.Process != nil && spec.Process.Terminal
	toConsole, relay, err := consoleFor(terminal, detach, cliCtx.String("console-socket"))
	if err != nil {
		return nil, nil, err
	}
	pidfdConn, err := dialPidfdSocket(cliCtx)
	if err != nil {
		return nil, nil, err
	}
	if pidfdConn != nil {
		defer pidfdConn.Close()
	}
	io, listenFds, err := passedFiles(cliCtx.Int("preserve-fds"))
	if err != nil {
		return nil, nil, err
	}
	io.Console = toConsole
	if listenFds > 0 && spec.Process != nil {
		// systemd socket activation passes on: the fds are 3.. in the container too, and its init is pid 1 there.
		spec.Process.Env = append(spec.Process.Env, "LISTEN_FDS="+strconv.Itoa(listenFds), "LISTEN_PID=1")
	}
	slog.Debug("create", "id", id, "bundle", bundle, "cgroups", cgroups.Mode())
	c, err := libcontainer.Create(cliCtx.String("root"), id, &libcontainer.CreateOpts{
		Bundle:  bundle,
		Spec:    spec,
		NoPivot: cliCtx.Bool("no-pivot"),
		// A global flag, read by create and run only: later commands use the driver recorded in the state.
		SystemdCgroup: cliCtx.Bool("systemd-cgroup"),
		NoNewKeyring:  cliCtx.Bool("no-new-keyring"),
		IO:            io,
	})
	if err != nil {
		return nil, nil, err
	}
	if slog.Default().Enabled(context.Background(), slog.LevelDebug) { // c.Pid reads /proc and the freezer state
		slog.Debug("created", "id", id, "init_pid", c.Pid(), "cgroup_paths", c.State().CgroupPaths)
	}
	if pidfdConn != nil {
		if err := libcontainer.SendPidfd(pidfdConn, c.Pid(), "standard"); err != nil {
			_ = c.Delete(true)
			c.Close()
			return nil, nil, err
		}
	}
	if path := cliCtx.String("pid-file"); path != "" {
		if err := writePidFile(path, c.Pid()); err != nil {
			_ = c.Delete(true)
			c.Close()
			return nil, nil, err
		}
	}
	return c, relay, nil
}

// dialPidfdSocket connects to --pidfd-socket, if given, before anything is created (runc's order): the pidfd of
// the container's process goes there once it exists.
func dialPidfdSocket(cliCtx *cli.Context) (*os.File, error) {
	path := cliCtx.String("pidfd-socket")
	if path == "" {
		return nil, nil
	}
	return libcontainer.DialSocket("--pidfd-socket", path)
}

// passedFiles collects the fds rt passes on as 3, 4, ...: systemd's LISTEN_FDS when they are meant for this
// process (their count is returned), then --preserve-fds more (runc's order).
func passedFiles(preserve int) (libcontainer.ProcessIO, int, error) {
	var io libcontainer.ProcessIO
	if preserve < 0 {
		return io, 0, fmt.Errorf("--preserve-fds %d: must not be negative", preserve)
	}
	n := 0
	if pid, err := strconv.Atoi(os.Getenv("LISTEN_PID")); err == nil && pid == os.Getpid() {
		if fds, err := strconv.Atoi(os.Getenv("LISTEN_FDS")); err == nil && fds > 0 {
			n = fds
		}
	}
	for fd := 3; fd < 3+n+preserve; fd++ {
		f := os.NewFile(uintptr(fd), "fd"+strconv.Itoa(fd))
		if _, err := f.Stat(); err != nil {
			return io, 0, fmt.Errorf("--preserve-fds %d: fd %d is not open", preserve, fd)
		}
		io.ExtraFiles = append(io.ExtraFiles, f)
	}
	return io, n, nil
}

// writePidFile writes pid in decimal without a newline, atomically (temp file + rename), as runc does.
func writePidFile(path string, pid int) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	defer os.Remove(tmp.Name())
	// 0644 as runc's (0666 less the usual umask): monitoring tools read pid files as other users.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("--pid-file: %w", err)
	}
	if _, err := tmp.WriteString(strconv.Itoa(pid)); err != nil {
		tmp.Close()
		return fmt.Errorf("--pid-file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}
