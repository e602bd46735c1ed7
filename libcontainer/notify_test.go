package libcontainer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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

// TestStartFailsClosesNotify: a Start that fails after it bound the notify socket (here the init dies before it
// is started) closes the socket and the init's pidfd it kept for AwaitReady; they stayed open in the process.
func TestStartFailsClosesNotify(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, notifyDirName), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, fifoName), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{dir: dir}
	c.state.ID, c.state.InitPid, c.state.InitStartTime, c.state.Notify = "notify", pid, st.startTime, true
	c.state.Config = &specs.Spec{Process: &specs.Process{}}
	if got := c.Status(); got != Created {
		t.Fatalf("status %s, want created", got)
	}
	pidfdsBefore := pidfdsOf(t, pid) // os/exec's own

	// The init dies once Start has bound the socket: whichever check sees it, Start fails.
	sockPath := filepath.Join(dir, notifyDirName, notifySockName)
	go func() {
		for {
			if _, err := os.Lstat(sockPath); err == nil {
				_ = unix.Kill(pid, unix.SIGKILL)
				return
			}
			runtime.Gosched()
		}
	}()
	if err := c.Start(); !errors.Is(err, ErrState) {
		t.Fatalf("Start: %v, want ErrState", err)
	}
	if c.notifyFd != 0 || c.notifyPidfd != 0 {
		t.Errorf("notifyFd %d, notifyPidfd %d after a failed Start, want 0", c.notifyFd, c.notifyPidfd)
	}
	if got := pidfdsOf(t, pid); got != pidfdsBefore {
		t.Errorf("%d pidfds of the init after a failed Start, want %d", got, pidfdsBefore)
	}
	if inode := unixSocketInode(t, sockPath); inode != "" {
		if fds, _ := os.ReadDir("/proc/self/fd"); fds != nil {
			for _, fd := range fds {
				if l, _ := os.Readlink("/proc/self/fd/" + fd.Name()); l == "socket:["+inode+"]" {
					t.Errorf("fd %s is still the notify socket after a failed Start", fd.Name())
				}
			}
		}
	}
}

// pidfdsOf counts this process's pidfds of pid (fdinfo's "Pid:" line).
func pidfdsOf(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if l, _ := os.Readlink("/proc/self/fd/" + fd.Name()); l != "anon_inode:[pidfd]" {
			continue
		}
		info, _ := os.ReadFile("/proc/self/fdinfo/" + fd.Name())
		if slices.Contains(strings.Split(string(info), "\n"), "Pid:\t"+strconv.Itoa(pid)) {
			n++
		}
	}
	return n
}

// unixSocketInode is the inode of the unix socket bound at path (/proc/net/unix), "" when there is none.
func unixSocketInode(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 8 && f[7] == path {
			return f[6]
		}
	}
	return ""
}

// TestNotifyCallerDeadlineSignals: notifyCaller keeps its deadline while signals interrupt its wait for room in
// the caller's queue. A socket call with SO_SNDTIMEO fails with EINTR on every signal (signal(7)), the Go runtime
// sends them itself (preemption), and a retry with the same timeout once waited anew after each.
func TestNotifyCallerDeadlineSignals(t *testing.T) {
	defer func(d time.Duration) { barrierTimeout = d }(barrierTimeout)
	barrierTimeout = 200 * time.Millisecond
	dir := t.TempDir()
	callerPath := filepath.Join(dir, "caller.sock")
	caller := listenDgram(t, callerPath) // never read, and full
	defer unix.Close(caller)
	t.Setenv("NOTIFY_SOCKET", callerPath)
	fill, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fill)
	for unix.Sendmsg(fill, []byte("STATUS=fill"), nil, &unix.SockaddrUnix{Name: callerPath}, unix.MSG_DONTWAIT) == nil {
	}

	tid := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread the signals are aimed at; it ends with the goroutine
		tid <- unix.Gettid()
		done <- notifyCaller(4242)
	}()
	target := <-tid
	timeout := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond) // the pace of the signals
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if !errors.Is(err, unix.EAGAIN) {
				t.Errorf("notifyCaller: %v, want EAGAIN (the caller's queue is full)", err)
			}
			return
		case <-timeout:
			t.Fatal("notifyCaller still waits 10 s into a 200 ms deadline, under signals")
		case <-tick.C:
			// SIGURG: the Go runtime's preemption signal, which it handles and ignores otherwise.
			_ = unix.Tgkill(os.Getpid(), target, unix.SIGURG)
		}
	}
}

// TestWaitsReady: a foreground run starts its goroutine for AwaitReady only when there is a READY=1 to pass on,
// that is while Start's notify socket is held; AwaitReady of a container without one returns at once.
func TestWaitsReady(t *testing.T) {
	var c Container
	if c.WaitsReady() {
		t.Error("WaitsReady of a container without a notify socket = true")
	}
	if err := c.AwaitReady(true); err != nil {
		t.Errorf("AwaitReady without a notify socket = %v, want nil at once", err)
	}
	c.notifyFd = 100 // as Start leaves it: the bound socket, until AwaitReady takes it
	if !c.WaitsReady() {
		t.Error("WaitsReady with Start's notify socket held = false")
	}
}
