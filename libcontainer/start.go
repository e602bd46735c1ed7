package libcontainer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Start releases a created container's init to exec the workload: it opens the exec fifo for reading, which the init
// is blocked opening for writing, and reads the init's byte. Then the poststart hooks run; one that fails stops the
// container and fails Start. With a notify socket, Start leaves it and a pidfd of the init open for AwaitReady
// when it succeeds, and closes them when it fails.
func (c *Container) Start() (retErr error) {
	// The pidfd before the status, as Signal does: the status's check of the init's start time then also proves the
	// pidfd is the init's and not a process that took its pid since, with one read of /proc/PID/stat, not two. And
	// before the fifo: once the fifo is open the workload may run, exit and be reaped (by a subreaper) before a
	// pidfd could be had, and start would fail on a container that started.
	pidfd, pidfdErr := -1, error(unix.ESRCH)
	if c.state.InitPid > 0 {
		if pidfd, pidfdErr = unix.PidfdOpen(c.state.InitPid, 0); pidfdErr == nil {
			defer unix.Close(pidfd)
		}
	}
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return classErr(ErrState, "container %q has stopped: cannot start it", c.ID())
	default:
		return classErr(ErrState, "container %q is %s: cannot start it", c.ID(), st)
	}
	if pidfdErr == unix.ESRCH {
		return classErr(ErrState, "container %q has stopped: cannot start it", c.ID())
	}
	if pidfdErr != nil {
		return fmt.Errorf("container %q init: %w", c.ID(), os.NewSyscallError("pidfd_open", pidfdErr))
	}
	if c.state.Config.Process == nil && !c.hasProcess {
		return classErr(ErrConfig, "container %q has no process to start (config.json: process)", c.ID())
	}
	if c.state.Notify {
		sock, err := c.listenNotify()
		if err != nil {
			return err
		}
		c.notifyFd = sock
		defer func() {
			if retErr != nil {
				c.closeNotify()
			}
		}()
	}
	if c.notifyFd != 0 {
		dup, err := unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("container %q init: %w", c.ID(), os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err))
		}
		c.notifyPidfd = dup
	}
	path := filepath.Join(c.dir, fifoName)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	crashpoint("start:opened")
	if err := c.awaitFifo(fd, pidfd); err != nil {
		return err
	}
	crashpoint("start:started")
	if err := os.Remove(path); err != nil {
		return err
	}
	crashpoint("start:removed")
	if h := c.state.Config.Hooks; h != nil && len(h.Poststart) > 0 {
		// The state is the one start produced, even if the process has exited meanwhile.
		state := c.OCIState()
		state.Status, state.Pid = specs.StateRunning, c.state.InitPid
		if err := runHooks("poststart", h.Poststart, state); err != nil {
			// runtime-spec 1.3 runtime.md "Lifecycle" step 9: "If any poststart hook fails, the runtime MUST
			// generate an error, stop the container, and continue the lifecycle at step 12" (delete); runc 1.5
			// kills the init the same way and fails start with the hook's error.
			if kerr := c.kill(); kerr != nil {
				slog.Warn(fmt.Sprintf("stop container %q after its poststart hook failed: %v", c.ID(), kerr))
			}
			return err
		}
	}
	return nil
}

// WaitsReady reports whether AwaitReady has a READY=1 to wait for: the container was created with the caller's
// NOTIFY_SOCKET and AwaitReady has not been called yet. Without one AwaitReady returns at once, so a caller that
// would run it beside other work (a foreground `rt run`) need not start a goroutine for it.
func (c *Container) WaitsReady() bool { return c.notifyFd != 0 }

// AwaitReady passes the workload's READY=1 on to the caller's NOTIFY_SOCKET when the container was created with
// one (see notify.go); otherwise it returns at once. Call it after Start, with the container unlocked (Close): it
// waits for as long as the workload takes. foreground is for a caller that stays as the unit's main process (a
// foreground `rt run`): MAINPID is then the caller's pid, and later messages are passed on too.
func (c *Container) AwaitReady(foreground bool) error {
	if c.notifyFd == 0 {
		return nil
	}
	fd, pidfd := c.notifyFd, c.notifyPidfd
	c.notifyFd, c.notifyPidfd = 0, 0
	if foreground {
		return forwardReady(fd, pidfd, os.Getpid(), true)
	}
	return forwardReady(fd, pidfd, c.state.InitPid, false)
}

// closeNotify closes what Start opened for AwaitReady.
func (c *Container) closeNotify() {
	for _, fd := range []*int{&c.notifyFd, &c.notifyPidfd} {
		if *fd != 0 {
			unix.Close(*fd)
			*fd = 0
		}
	}
}

// awaitFifo waits until the init has written its byte into the fifo and then closed it, or has died. A fifo with no
// writer yet does not report POLLHUP (fs/pipe.c), so the poll sleeps until the init opens it. The init keeps its
// end open, close-on-exec, until it execs the process, so `start` returns once the process runs (runc reads the fifo
// to EOF the same way): a signal sent right after `start` reaches the workload, not the Go init, which would drop
// it (runtime.md "kill": the signal goes to the container process).
func (c *Container) awaitFifo(fifo, pidfd int) error {
	fds := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	started := false
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return os.NewSyscallError("poll", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			var b [1]byte
			if n, err := unix.Read(fifo, b[:]); err == nil && n == 1 {
				started = true
			}
		}
		if fds[1].Revents != 0 || fds[0].Revents&unix.POLLHUP != 0 {
			if started {
				return nil // exec'd (the fifo closed on exec), or it died after starting: start's part is done
			}
			return classErr(ErrState, "container %q init exited before it was started", c.ID())
		}
	}
}
