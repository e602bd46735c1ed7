package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotifySocket: with NOTIFY_SOCKET set (a systemd Type=notify unit), `run -d` returns once the workload has
// sent READY=1 on the socket the runtime gave it, and the caller's socket gets READY=1 with MAINPID = the
// container init's host pid, then a BARRIER=1 carrying a pipe fd.
func TestNotifySocket(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("/probe", "notify", "READY=1"))
	id := newID(t)
	sockPath := filepath.Join(t.TempDir(), "notify.sock")
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	if err := unix.Bind(sock, &unix.SockaddrUnix{Name: sockPath}); err != nil {
		t.Fatal(err)
	}
	// Answer the barrier as systemd does: close the fd that came with BARRIER=1.
	got := make(chan []string, 1)
	go func() {
		var msgs []string
		// runc 1.1.5 sends READY=1 and MAINPID in separate datagrams and has no barrier.
		complete := func() bool {
			all := strings.Join(msgs, "\n")
			return strings.Contains(all, "READY=1") && strings.Contains(all, "MAINPID=") &&
				(isOldRunc() || strings.Contains(all, "BARRIER=1"))
		}
		for !complete() {
			buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
			n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				break
			}
			msgs = append(msgs, string(buf[:n]))
			if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range cmsgs {
					fds, _ := unix.ParseUnixRights(&m)
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
		}
		got <- msgs
	}()

	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, "--root", stateRoot(t), "run", "-d", "--bundle", b, id)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sockPath)
	// A file, not a pipe: the detached container keeps its stdout open.
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := runTracked(cmd); err != nil {
		t.Fatalf("run -d with NOTIFY_SOCKET: %v: %s", err, readFile(out.Name()))
	}
	var msgs []string
	select {
	case msgs = <-got:
	case <-time.After(cmdTimeout):
		t.Fatal("no READY=1 and BARRIER=1 on the caller's socket")
	}
	pid := state(t, id).Pid
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "READY=1") || !strings.Contains(all, "MAINPID="+strconv.Itoa(pid)+"\n") {
		t.Errorf("messages %q, want READY=1 and MAINPID=%d", msgs, pid)
	}
	if !isOldRunc() && msgs[len(msgs)-1] != "BARRIER=1" {
		t.Errorf("messages %q, want BARRIER=1 last", msgs)
	}
	mustRT(t, "delete", "--force", id)
}

// TestNotifyCallerNotReading: a foreground run whose caller never reads its NOTIFY_SOCKET still exits once the
// container has, with the workload's status, though the workload sent more STATUS= lines than the caller's queue
// holds (net.unix.max_dgram_qlen, 10 by default) and READY=1. rt drops STATUS= lines that find no room and gives
// READY=1 and the barrier 5 s; it once blocked in sendmsg(2) for ever. A deliberate difference in how long: runc
// 1.5.3 relays no STATUS= and waits 30 s for the barrier, then exits the same way.
func TestNotifyCallerNotReading(t *testing.T) {
	t.Parallel()
	args := []string{"/probe", "notifyseq", "--exit"}
	for i := range 30 {
		args = append(args, "STATUS="+strconv.Itoa(i))
	}
	b := bundle(t, withArgs(append(args, "READY=1")...))
	sockPath := filepath.Join(t.TempDir(), "notify.sock")
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock) // never read
	if err := unix.Bind(sock, &unix.SockaddrUnix{Name: sockPath}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(runtimeBin, "--root", stateRoot(t), "run", "--bundle", b, newID(t))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sockPath)
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := startTracked(cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- waitTracked(cmd) }()
	limit := 15 * time.Second // rt: the 5 s deadline, and the container's run
	if isRunc {
		limit = 45 * time.Second // runc: the 30 s barrier
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v: %s", err, readFile(out.Name()))
		}
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("run still running %v after it started, its caller not reading NOTIFY_SOCKET: %s", limit, readFile(out.Name()))
	}
}
