package integration

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// acceptPidfd listens on a new pidfd socket and returns its path and what arrives on it.
func acceptPidfd(t *testing.T) (string, <-chan fdMsg) {
	t.Helper()
	sockPath, l := listenUnix(t, "pidfd.sock")
	c := make(chan fdMsg, 1)
	go func() { c <- receiveFd(l) }()
	return sockPath, c
}

// awaitPidfd returns the pidfd that arrived on c, failing the test when none did.
func awaitPidfd(t *testing.T, c <-chan fdMsg) fdMsg {
	t.Helper()
	var m fdMsg
	select {
	case m = <-c:
	case <-time.After(cmdTimeout):
	}
	if m.fd == nil {
		t.Fatal("no fd received on the pidfd socket")
	}
	t.Cleanup(func() { m.fd.Close() })
	return m
}

// TestPidfdSocket: with --pidfd-socket, create, run and exec send a pidfd of the container's process over the
// socket (runc's pidfd-socket.bats): a signal sent through it reaches that process and no other.
func TestPidfdSocket(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 has no --pidfd-socket (runc 1.2 added it)")
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		sock, c := acceptPidfd(t)
		id := newID(t)
		mustRT(t, "create", "--pidfd-socket", sock, "--bundle", bundle(t, sleeper), id)
		m := awaitPidfd(t, c)
		if m.payload != "standard" {
			t.Errorf("message %q with the pidfd, want runc's %q", m.payload, "standard")
		}
		// SIGTERM, as runc's pidfd-socket.bats: a created init dies of it too.
		if err := unix.PidfdSendSignal(int(m.fd.Fd()), unix.SIGTERM, nil, 0); err != nil {
			t.Fatalf("pidfd_send_signal: %v", err)
		}
		waitStatus(t, id, "stopped")
	})
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		sock, c := acceptPidfd(t)
		id, _ := runDetached(t, bundle(t, sleeper), "--pidfd-socket", sock)
		m := awaitPidfd(t, c)
		if err := unix.PidfdSendSignal(int(m.fd.Fd()), unix.SIGKILL, nil, 0); err != nil {
			t.Fatalf("pidfd_send_signal: %v", err)
		}
		waitStatus(t, id, "stopped")
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		id, _ := runDetached(t, bundle(t, sleeper))
		sock, c := acceptPidfd(t)
		pidFile := filepath.Join(t.TempDir(), "pid")
		mustRT(t, "exec", "-d", "--pid-file", pidFile, "--pidfd-socket", sock, id, "sleep", "100000")
		m := awaitPidfd(t, c)
		if m.payload != "setns" {
			t.Errorf("message %q with the pidfd, want runc's %q", m.payload, "setns")
		}
		pid, err := strconv.Atoi(strings.TrimSpace(readFile(pidFile)))
		if err != nil {
			t.Fatalf("--pid-file: %v", err)
		}
		if err := unix.PidfdSendSignal(int(m.fd.Fd()), unix.SIGKILL, nil, 0); err != nil {
			t.Fatalf("pidfd_send_signal: %v", err)
		}
		waitFor(t, "the exec'd process to die", func() bool { return !processAlive(pid) || isZombie(pid) })
		if got := status(t, id); got != "running" {
			t.Errorf("container %s after its exec'd process was killed, want running", got)
		}
	})
}

// TestSocketNeverAccepts: a --console-socket or --pidfd-socket whose listener never accepts and whose queue is full
// fails the command at once (the connect does not block, as runc's net.Dial), and no container is left.
func TestSocketNeverAccepts(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--console-socket", "--pidfd-socket"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			if flag == "--pidfd-socket" {
				oldRunc(t, "runc 1.1.5 has no --pidfd-socket (runc 1.2 added it)")
			}
			sock := fullListener(t)
			b := bundle(t, func(s *specs.Spec) {
				sleeper(s)
				s.Process.Terminal = flag == "--console-socket"
			})
			id := newID(t)
			r := rt(t, "create", flag, sock, "--bundle", b, id)
			if r.Code == 0 {
				t.Fatalf("create with a listener that never accepts: %v, want a failure", r)
			}
			if r := rt(t, "state", id); r.Code == 0 {
				t.Errorf("container left after the failed create: %v", r)
			}
		})
	}
}

// fullListener returns the path of a unix socket listening with a backlog of 0 whose queue is full: it holds the
// one connection it takes without accepting it, so a blocking connect to it would wait for ever.
func fullListener(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "full.sock")
	l, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(l) })
	if err := unix.Bind(l, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(l, 0); err != nil {
		t.Fatal(err)
	}
	for {
		c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = unix.Connect(c, &unix.SockaddrUnix{Name: path})
		if err == unix.EAGAIN {
			unix.Close(c)
			return path
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(c) })
	}
}

// TestSocketsAcceptedLate: listeners that accept only once create has returned, as containerd's shim does with its
// console socket, still get the pty master and the pidfd: the connection is made without waiting for an accept
// and the message waits in it.
func TestSocketsAcceptedLate(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 has no --pidfd-socket (runc 1.2 added it)")
	consoleSock, consoleL := listenUnix(t, "console.sock")
	pidfdSock, pidfdL := listenUnix(t, "pidfd.sock")
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Process.Terminal = true
	})
	id := newID(t)
	mustRT(t, "create", "--console-socket", consoleSock, "--pidfd-socket", pidfdSock, "--bundle", b, id)
	master := receiveFd(consoleL)
	if master.fd == nil {
		t.Fatal("no pty master on the console socket accepted after create")
	}
	defer master.fd.Close()
	if _, err := unix.IoctlGetTermios(int(master.fd.Fd()), unix.TCGETS); err != nil {
		t.Errorf("the fd received on the console socket is not a terminal: %v", err)
	}
	pidfd := receiveFd(pidfdL)
	if pidfd.fd == nil {
		t.Fatal("no pidfd on the pidfd socket accepted after create")
	}
	defer pidfd.fd.Close()
	if err := unix.PidfdSendSignal(int(pidfd.fd.Fd()), unix.SIGKILL, nil, 0); err != nil {
		t.Fatalf("pidfd_send_signal: %v", err)
	}
	waitStatus(t, id, "stopped")
}
