package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Readiness (sd_notify(3)) through rt: when rt is started with NOTIFY_SOCKET (a systemd Type=notify unit), the
// container gets a socket of rt's own instead of the caller's, as runc does: <state>/notify/notify.sock, bound
// read-only at /run/notify in the container, with NOTIFY_SOCKET=/run/notify/notify.sock. `rt start` (or the
// foreground `rt run`) listens on it and passes READY=1 on to the caller's socket, then completes systemd's
// BARRIER=1 handshake, so that the unit becomes active only once the workload says it is ready. MAINPID is the
// container init's host pid when rt returns (start, run -d), and rt's own pid when it stays in the foreground, where
// it is the unit's main process that relays signals and the exit status (runc does the same).
const (
	notifyDirName       = "notify"
	notifySockName      = "notify.sock"
	containerNotifyDir  = "/run/notify"
	containerNotifySock = containerNotifyDir + "/" + notifySockName
)

// setupNotify prepares the notify socket directory and the container's view of it when the caller has a
// NOTIFY_SOCKET. It changes spec (a mount and an env entry), which is saved with the state. The directory is made
// in the state directory being prepared (c.dir); the mount names it where it will be, under stateDir.
func (c *Container) setupNotify(spec *specs.Spec, stateDir string) error {
	if os.Getenv("NOTIFY_SOCKET") == "" || spec.Process == nil {
		return nil
	}
	if err := os.Mkdir(filepath.Join(c.dir, notifyDirName), 0o755); err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: containerNotifyDir, Type: "bind", Source: filepath.Join(stateDir, notifyDirName),
		Options: []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	spec.Process.Env = append(spec.Process.Env, "NOTIFY_SOCKET="+containerNotifySock)
	c.state.Notify = true
	return nil
}

// listenNotify binds the container's notify socket; it is done by the process that will wait for READY=1 (start
// or run), before the workload can send anything.
func (c *Container) listenNotify() (int, error) {
	path := filepath.Join(c.dir, notifyDirName, notifySockName)
	_ = os.Remove(path) // a socket left by an earlier start attempt
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("notify socket: %w", os.NewSyscallError("socket", err))
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("notify socket %s: %w", path, os.NewSyscallError("bind", err))
	}
	// The workload may run as any user.
	if err := os.Chmod(path, 0o777); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("notify socket: %w", err)
	}
	return fd, nil
}

// forwardReady waits on the container's notify socket until the workload sends READY=1 (or the init exits), then
// tells the caller's NOTIFY_SOCKET, with MAINPID=mainPid, and waits for the caller to have seen it (BARRIER=1).
// With follow, it goes on relaying STATUS= until the init exits.
//
// Only READY=1 and STATUS= pass, and rt alone picks MAINPID: everything reaches the caller from rt, as root, and
// systemd believes root (sd_notify(3)), so a relayed MAINPID= would let the workload name any host process as the
// unit's main process (which `systemctl stop` then signals), and WATCHDOG=trigger, STOPPING=1,
// EXTEND_TIMEOUT_USEC= or FDSTORE= would steer the unit from inside the container. runc relays READY= only. The
// socket is read without a control buffer, so fds the workload attaches are closed by the kernel (MSG_CTRUNC).
//
// pidfd is the init's, opened before it could exit: a pidfd opened here could miss an init that a foreground run
// has reaped meanwhile, and what the workload sent before it exited would be dropped. sock and pidfd are closed.
//
// Once the init has exited the socket is shut for reading and what is queued is relayed: the queue then ends.
// Without that, a process that outlives the init (a container in the host's pid namespace) could keep the socket
// readable for ever, and keep a foreground run, which waits for the relay, from exiting; runc stops on the init's
// exit too (it polls /proc/<pid>).
func forwardReady(sock, pidfd, mainPid int, follow bool) error {
	defer unix.Close(sock)
	defer unix.Close(pidfd)
	buf := make([]byte, 4096)
	ready := false
	// relay handles one datagram; done is true when forwardReady is done with the socket.
	relay := func(msg []byte) (done bool, err error) {
		status, isReady := notifyFilter(msg)
		if status != nil {
			_ = sendCaller(status)
		}
		if isReady && !ready {
			if err := notifyCaller(mainPid); err != nil || !follow {
				return true, err
			}
			ready = true
		}
		return false, nil
	}
	for {
		fds := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return os.NewSyscallError("poll", err)
		}
		if fds[1].Revents != 0 {
			// The init has exited: what it sent is queued, and a send from now on fails with EPIPE.
			if err := unix.Shutdown(sock, unix.SHUT_RD); err != nil {
				return fmt.Errorf("notify socket: %w", os.NewSyscallError("shutdown", err))
			}
			for {
				n, _, err := unix.Recvfrom(sock, buf, unix.MSG_DONTWAIT)
				if err == unix.EINTR {
					continue
				}
				if err == unix.EAGAIN {
					return nil
				}
				if err != nil {
					return fmt.Errorf("notify socket: %w", os.NewSyscallError("recvfrom", err))
				}
				if done, err := relay(buf[:n]); done {
					return err
				}
			}
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			n, _, err := unix.Recvfrom(sock, buf, 0)
			if err != nil {
				return fmt.Errorf("notify socket: %w", os.NewSyscallError("recvfrom", err))
			}
			if done, err := relay(buf[:n]); done {
				return err
			}
		}
	}
}

// notifyFilter reads one datagram from the workload: whether it says READY=1, and its last STATUS= line as a
// message of its own (nil when it has none). Every other line is dropped (see forwardReady).
func notifyFilter(msg []byte) (status []byte, ready bool) {
	for _, l := range bytes.Split(msg, []byte("\n")) {
		switch {
		case string(l) == "READY=1":
			ready = true
		case bytes.HasPrefix(l, []byte("STATUS=")) && utf8.Valid(l):
			status = l
		}
	}
	return status, ready
}

// callerSocket opens a datagram socket and names the caller's NOTIFY_SOCKET ("@name" is an abstract socket).
func callerSocket() (int, *unix.SockaddrUnix, error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return -1, nil, errors.New("NOTIFY_SOCKET is not set")
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("NOTIFY_SOCKET: %w", os.NewSyscallError("socket", err))
	}
	return fd, &unix.SockaddrUnix{Name: addr}, nil
}

// sendCaller passes one message on to the caller's NOTIFY_SOCKET as it is. It never waits: a STATUS= line that
// finds the caller's queue full is dropped, or a workload could fill the queue of a caller that reads slowly (or
// never) and keep rt, and a foreground run with it, blocked in sendmsg(2) for ever.
func sendCaller(msg []byte) error {
	fd, to, err := callerSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendmsg(fd, msg, nil, to, unix.MSG_DONTWAIT)
}

// barrierTimeout bounds notifyCaller as a whole: its sends (which wait while the caller's queue is full) and the
// BARRIER=1 handshake. 5 s as sd_notify_barrier's callers use (systemd-notify --barrier); runc waits 30 s for the
// barrier alone. A variable for tests.
var barrierTimeout = 5 * time.Second

// notifyCaller sends READY=1 and MAINPID to the caller's NOTIFY_SOCKET, then does the BARRIER=1 handshake: the
// caller closes the pipe's other end once it has processed what came before. It returns within barrierTimeout.
func notifyCaller(mainPid int) error {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	fd, to, err := callerSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(barrierTimeout)
	// send waits for room in the caller's queue until the deadline (SO_SNDTIMEO; EAGAIN once it has passed). A
	// socket call with a timeout fails with EINTR on any signal, even SA_RESTART ones (signal(7)), such as the Go
	// runtime's preemption signal: the timeout is set again from the deadline.
	send := func(msg []byte, oob []byte) error {
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return unix.EAGAIN
			}
			tv := unix.NsecToTimeval(left.Nanoseconds())
			if tv.Sec == 0 && tv.Usec == 0 {
				tv.Usec = 1 // 0 would be no timeout at all (socket(7))
			}
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
				return err
			}
			if err := unix.Sendmsg(fd, msg, oob, to, 0); err != unix.EINTR {
				return err
			}
		}
	}
	msg := []byte("READY=1\nMAINPID=" + strconv.Itoa(mainPid) + "\n")
	if err := send(msg, nil); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", os.Getenv("NOTIFY_SOCKET"), os.NewSyscallError("sendmsg", err))
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET barrier: %w", os.NewSyscallError("pipe2", err))
	}
	defer unix.Close(p[0])
	err = send([]byte("BARRIER=1"), unix.UnixRights(p[1]))
	unix.Close(p[1])
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET barrier: %w", os.NewSyscallError("sendmsg", err))
	}
	// The caller closes its copy of the write end when it has handled the barrier. A caller that does not is
	// waited for until the deadline, and ignored (runc logs a warning after its 30 s and goes on).
	fds := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		_, err := unix.Poll(fds, int((left+time.Millisecond-1)/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		return nil
	}
}
