package libcontainer

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

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

	// The caller answers the barrier by closing its fd, as systemd does, while the relay waits for it; the test
	// ends the reader with a datagram of its own once the relay has returned.
	got := make(chan []string, 1)
	go func() {
		var msgs []string
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		for {
			n, oobn, _, _, err := unix.Recvmsg(caller, buf, oob, unix.MSG_CMSG_CLOEXEC)
			if err != nil || string(buf[:n]) == "END" {
				break
			}
			msgs = append(msgs, string(buf[:n]))
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
	if err := forwardReady(sock, pidfd, 4242, true); err != nil {
		t.Error(err)
	}
	if err := unix.Sendto(workload, []byte("END"), 0, &unix.SockaddrUnix{Name: filepath.Join(dir, "caller.sock")}); err != nil {
		t.Fatal(err)
	}
	want := []string{"STATUS=starting", "READY=1\nMAINPID=4242\n", "BARRIER=1"}
	if msgs := <-got; !slices.Equal(msgs, want) {
		t.Errorf("the caller got %q, want %q", msgs, want)
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
