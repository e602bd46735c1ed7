package libcontainer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotifyFilter: of what the workload sends, only READY=1 and the last STATUS= line pass; MAINPID=, WATCHDOG=,
// STOPPING=, EXTEND_TIMEOUT_USEC=, FDSTORE= and the rest are dropped (issue 17).
func TestNotifyFilter(t *testing.T) {
	tests := []struct {
		name, msg  string
		wantStatus string
		wantReady  bool
	}{
		{name: "ready", msg: "READY=1", wantReady: true},
		{name: "ready with a trailing newline", msg: "READY=1\n", wantReady: true},
		{name: "ready with steering", msg: "MAINPID=1\nREADY=1\nSTOPPING=1\nWATCHDOG=trigger", wantReady: true},
		{name: "status", msg: "STATUS=up\nMAINPID=1", wantStatus: "STATUS=up"},
		{name: "last status wins", msg: "STATUS=a\nSTATUS=b\nREADY=1", wantStatus: "STATUS=b", wantReady: true},
		{name: "status not UTF-8", msg: "STATUS=\xff"},
		{name: "not quite ready", msg: "READY=0\nREADY=1x\n READY=1"},
		{name: "steering only", msg: "MAINPID=1\nWATCHDOG=trigger\nSTOPPING=1\nEXTEND_TIMEOUT_USEC=1\nFDSTORE=1"},
		{name: "empty", msg: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, ready := notifyFilter([]byte(tc.msg))
			if string(status) != tc.wantStatus || ready != tc.wantReady {
				t.Errorf("notifyFilter(%q) = %q, %v; want %q, %v", tc.msg, status, ready, tc.wantStatus, tc.wantReady)
			}
		})
	}
}

// TestForwardReadyReapedInit: a workload that sends READY=1 and exits at once may be reaped (a foreground run's
// wait loop) before the relay looks at it; what it sent is still passed on, with the barrier, from the pidfd
// Start opened. The relay once opened its pidfd itself, failed on the reaped pid and relayed nothing.
func TestForwardReadyReapedInit(t *testing.T) {
	dir := t.TempDir()
	caller := listenDgram(t, filepath.Join(dir, "caller.sock"))
	defer unix.Close(caller)
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "caller.sock"))
	sock := listenDgram(t, filepath.Join(dir, "container.sock")) // forwardReady closes it, and the pidfd

	// The init: a child that exits at once, and is reaped.
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(os.NewSyscallError("pidfd_open", err))
	}
	// What the workload sent before it exited.
	workload, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(workload)
	for _, msg := range []string{"STATUS=starting", "READY=1"} {
		if err := unix.Sendto(workload, []byte(msg), 0, &unix.SockaddrUnix{Name: filepath.Join(dir, "container.sock")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	// The caller answers the barrier by closing its fd, as systemd does, while the relay waits for it.
	got := readCaller(caller, nil)
	if err := forwardReady(sock, pidfd, 4242, true); err != nil {
		t.Error(err)
	}
	want := []string{"STATUS=starting", "READY=1\nMAINPID=4242\n", "BARRIER=1"}
	if msgs := endCaller(t, dir, got); !slices.Equal(msgs, want) {
		t.Errorf("the caller got %q, want %q", msgs, want)
	}
}

// TestForwardReadyOutlivedInit: once the relay has seen the init's exit, it passes on what is queued and returns,
// and refuses (EPIPE) what is sent after: processes that outlived the init (a container in the host's pid
// namespace) could otherwise keep the socket readable for ever, and a foreground run waits for the relay. Here a
// survivor sends while the relay waits for the caller's barrier, after the init's exit; the relay once went on
// reading, and relayed it.
func TestForwardReadyOutlivedInit(t *testing.T) {
	dir := t.TempDir()
	caller := listenDgram(t, filepath.Join(dir, "caller.sock"))
	defer unix.Close(caller)
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "caller.sock"))
	sockPath := filepath.Join(dir, "container.sock")
	sock := listenDgram(t, sockPath)

	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(os.NewSyscallError("pidfd_open", err))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	sendDgram(t, sockPath, "READY=1") // the init's, before it exited

	survivor, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(survivor)
	var lateErr error // set by the reader before it answers the barrier
	got := readCaller(caller, func() {
		lateErr = unix.Sendto(survivor, []byte("STATUS=late"), 0, &unix.SockaddrUnix{Name: sockPath})
	})
	if err := forwardReady(sock, pidfd, 4242, true); err != nil {
		t.Error(err)
	}
	msgs := endCaller(t, dir, got)
	if want := []string{"READY=1\nMAINPID=4242\n", "BARRIER=1"}; !slices.Equal(msgs, want) {
		t.Errorf("the caller got %q, want %q", msgs, want)
	}
	if lateErr != unix.EPIPE {
		t.Errorf("a send after the init's exit: %v, want EPIPE", lateErr)
	}
}

// TestForwardReadyCallerNotReading: a caller that never reads its NOTIFY_SOCKET cannot keep the relay (and so a
// foreground run) for longer than barrierTimeout: the workload's STATUS= lines that find the caller's queue full
// are dropped, and READY=1 waits for room until the deadline. The relay once blocked in sendmsg(2) for ever on
// the STATUS= line after the queue (net.unix.max_dgram_qlen, 10 by default) was full.
func TestForwardReadyCallerNotReading(t *testing.T) {
	defer func(d time.Duration) { barrierTimeout = d }(barrierTimeout)
	barrierTimeout = 200 * time.Millisecond
	dir := t.TempDir()
	caller := listenDgram(t, filepath.Join(dir, "caller.sock")) // never read
	defer unix.Close(caller)
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "caller.sock"))
	sockPath := filepath.Join(dir, "container.sock")
	sock := listenDgram(t, sockPath)

	// The init: a child that lives until its stdin closes.
	cmd := exec.Command("/bin/cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // on failure: forwardReady, and so the workload, are stuck
		_ = cmd.Wait()
	}()
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		stdin.Close()
		t.Fatal(os.NewSyscallError("pidfd_open", err))
	}
	done := make(chan error, 1)
	go func() { done <- forwardReady(sock, pidfd, 4242, true) }()
	// The workload: more STATUS= lines than the caller's queue holds, READY=1, and its exit.
	go func() {
		defer stdin.Close()
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		for i := range 30 {
			if unix.Sendto(fd, []byte("STATUS="+strconv.Itoa(i)), 0, &unix.SockaddrUnix{Name: sockPath}) != nil {
				return
			}
		}
		_ = unix.Sendto(fd, []byte("READY=1"), 0, &unix.SockaddrUnix{Name: sockPath})
	}()
	select {
	case err := <-done:
		// READY=1 found no room before the deadline.
		if !errors.Is(err, unix.EAGAIN) {
			t.Errorf("forwardReady: %v, want EAGAIN (the caller's queue is full)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("forwardReady still blocked 10 s after the workload sent READY=1 to a caller that does not read")
	}
}

// readCaller reads the caller's socket until endCaller's "END", answering each BARRIER=1 by closing its fd, after
// calling onBarrier if it is not nil.
func readCaller(caller int, onBarrier func()) <-chan []string {
	got := make(chan []string, 1)
	go func() {
		var msgs []string
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		for {
			n, oobn, _, _, err := unix.Recvmsg(caller, buf, oob, unix.MSG_CMSG_CLOEXEC)
			if err == unix.EINTR {
				continue
			}
			if err != nil || string(buf[:n]) == "END" {
				break
			}
			msgs = append(msgs, string(buf[:n]))
			if string(buf[:n]) == "BARRIER=1" && onBarrier != nil {
				onBarrier()
			}
			cmsgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			for _, m := range cmsgs {
				fds, _ := unix.ParseUnixRights(&m)
				for _, fd := range fds {
					unix.Close(fd)
				}
			}
		}
		got <- msgs
	}()
	return got
}

// endCaller ends readCaller's reader of dir/caller.sock and returns what it read.
func endCaller(t *testing.T, dir string, got <-chan []string) []string {
	t.Helper()
	sendDgram(t, filepath.Join(dir, "caller.sock"), "END")
	return <-got
}

// sendDgram sends msg to the datagram socket at path.
func sendDgram(t *testing.T, path, msg string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, []byte(msg), 0, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
}

// listenDgram binds a datagram socket at path; the caller closes it.
func listenDgram(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return fd
}
