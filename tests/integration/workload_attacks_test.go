package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Issue 17, "security round 2": a hostile workload against the runtime's relays and helpers.

// notifyDatagram is one datagram the caller's NOTIFY_SOCKET received: its text, the sender's credentials
// (SO_PASSCRED) and how many fds came with it.
type notifyDatagram struct {
	text string
	pid  int32
	uid  uint32
	fds  int
}

// notifyReceiver is a fake systemd: a datagram socket that records what arrives, from whom, with how many fds,
// and answers BARRIER=1 by closing the fd that came with it (runc waits up to 30 s for that, rt 5 s, so the fds
// are closed as they come, by a reader, and not only once the runtime has exited).
//
// The reader is Go's poller's (net.UnixConn): Close wakes it and ends it, and the fd is closed only once no read
// is in progress, so no read ever lands on the fd number after the test has closed it. The reader takes a datagram
// and records it in one step under mu, and drainAll takes what is still queued under mu too: a datagram is always
// either queued or recorded, never in flight where drainAll would see neither. The reader this replaced (a
// goroutine in a blocking recvmsg(fd) loop, pushing to a channel) outlived its test, and its next recvmsg on the
// closed fd number took the datagrams of whichever socket reused it, another test's receiver or TestNotifySocket's
// ("got []", "got [BARRIER=1]", about once in 60 runs); it also held each datagram in flight between its recvmsg
// and the channel.
type notifyReceiver struct {
	path string
	conn *net.UnixConn
	raw  syscall.RawConn
	mu   sync.Mutex
	got  []notifyDatagram // under mu
}

func newNotifyReceiver(t *testing.T) *notifyReceiver {
	t.Helper()
	r := &notifyReceiver{path: filepath.Join(t.TempDir(), "notify.sock")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: r.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	r.conn = conn
	if r.raw, err = conn.SyscallConn(); err != nil {
		t.Fatal(err)
	}
	var sockErr error
	if err := r.raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || sockErr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, sockErr)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Read calls the function whenever the socket is readable (Go's poller; the socket is nonblocking) until
		// it returns true or the conn is closed, which ends the reader.
		_ = r.raw.Read(func(fd uintptr) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.receiveLocked(int(fd))
			return false
		})
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return r
}

// receiveLocked takes every datagram queued on the socket fd, without blocking, records it and closes the fds
// that came with it. r.mu must be held. The fds are received close-on-exec: the suite starts runtimes in parallel,
// and a child that inherited a BARRIER=1 fd would hold the barrier open for as long as it lives.
func (r *notifyReceiver) receiveLocked(fd int) {
	// SO_PASSCRED's credentials and up to SCM_MAX_FD (253) fds: the control data is never truncated.
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(253*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return // EAGAIN: the queue is empty
		}
		d := notifyDatagram{text: string(buf[:n]), pid: -1}
		cmsgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range cmsgs {
			if cred, err := unix.ParseUnixCredentials(&m); err == nil {
				d.pid, d.uid = cred.Pid, cred.Uid
			}
			fds, _ := unix.ParseUnixRights(&m)
			for _, f := range fds {
				unix.Close(f)
			}
			d.fds += len(fds)
		}
		r.got = append(r.got, d)
	}
}

// hostileNotify is what the workload sends around its READY=1: every message that would let it steer a unit
// whose NotifyAccess lets the runtime (root) speak for it. A MAINPID= naming a host pid outside the unit is
// accepted from root and makes `systemctl stop` signal that pid.
func hostileNotify(exit bool) []string {
	steer := []string{"MAINPID=1", "WATCHDOG=trigger", "STOPPING=1", "EXTEND_TIMEOUT_USEC=999999999",
		"FDSTORE=1\nFDNAME=stolen", "RELOADING=1", "ERRNO=5"}
	args := []string{"/probe", "notifyseq"}
	if exit {
		args = append(args, "--exit")
	}
	args = append(args, steer...)
	args = append(args, "READY=1\nMAINPID=1\nSTOPPING=1\nWATCHDOG=trigger")
	args = append(args, steer...)
	return append(args, "READY=1", "STATUS=all sent")
}

// checkNotifyRelay checks what the caller's socket got: every datagram from the runtime process runtimePid (never
// from a container process), only READY=1, MAINPID=mainPid, BARRIER=1 and STATUS= lines, no fd but BARRIER's, and
// READY=1 with MAINPID=mainPid at least once.
func checkNotifyRelay(t *testing.T, got []notifyDatagram, runtimePid, mainPid int) {
	t.Helper()
	ready, main := false, false
	for _, d := range got {
		if d.pid != int32(runtimePid) {
			t.Errorf("datagram %q from pid %d (uid %d), want only the runtime's pid %d", d.text, d.pid, d.uid, runtimePid)
		}
		barrier := false
		for _, line := range strings.Split(strings.TrimSuffix(d.text, "\n"), "\n") {
			switch {
			case line == "READY=1":
				ready = true
			case line == "MAINPID="+strconv.Itoa(mainPid):
				main = true
			case line == "BARRIER=1":
				barrier = true
			case strings.HasPrefix(line, "STATUS="):
			case isRunc && line == "MAINPID=0":
				// runc 1.5.3's foreground run relays a second READY= with MAINPID=0 (notifySocket.run(0) in its
				// signals.go); systemd ignores a MAINPID it cannot parse as a pid.
			default:
				t.Errorf("the caller's socket got %q (in datagram %q): a container must not steer its unit", line, d.text)
			}
		}
		if d.fds != 0 && !barrier {
			t.Errorf("datagram %q came with %d fds: only BARRIER=1 carries one", d.text, d.fds)
		}
	}
	if !ready || !main {
		t.Errorf("got %+v, want READY=1 and MAINPID=%d", got, mainPid)
	}
}

// TestNotifyRelayOnlyReady (issue 17, 1): the workload sends MAINPID=1, WATCHDOG=trigger, STOPPING=1,
// EXTEND_TIMEOUT_USEC=, FDSTORE=1 with an fd, and more, before, with and after READY=1. The caller (systemd) must
// get READY=1 with the runtime's chosen MAINPID (its own in the foreground, the init's for run -d and start),
// at most STATUS= besides, all sent by the runtime process, and no fd but the barrier's. runc 1.5.3 forwards
// READY=1, MAINPID and BARRIER=1 only.
func TestNotifyRelayOnlyReady(t *testing.T) {
	t.Parallel()
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		r := newNotifyReceiver(t)
		b := bundle(t, withArgs(hostileNotify(true)...))
		id := newID(t)
		cmd := notifyCommand(t, r, "run", "--bundle", b, id)
		if err := startTracked(cmd); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != 0 {
			t.Fatalf("run: exit %d: %s", code, readFile(cmd.Stderr.(*os.File).Name()))
		}
		// The runtime has read the container's socket to the end before it exits (rt drains it first; runc stops
		// reading at READY=1), and the receiver has every datagram sent before it.
		checkNotifyRelay(t, r.drainAll(t), cmd.Process.Pid, cmd.Process.Pid)
	})
	t.Run("run -d", func(t *testing.T) {
		t.Parallel()
		r := newNotifyReceiver(t)
		b := bundle(t, withArgs(hostileNotify(false)...))
		id := newID(t)
		cmd := notifyCommand(t, r, "run", "-d", "--bundle", b, id)
		if err := startTracked(cmd); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != 0 {
			t.Fatalf("run -d: exit %d: %s", code, readFile(cmd.Stderr.(*os.File).Name()))
		}
		checkNotifyRelay(t, r.drainAll(t), cmd.Process.Pid, state(t, id).Pid)
		mustRT(t, "delete", "--force", id)
	})
	t.Run("start", func(t *testing.T) {
		t.Parallel()
		r := newNotifyReceiver(t)
		b := bundle(t, withArgs(hostileNotify(false)...))
		id := newID(t)
		create := notifyCommand(t, r, "create", "--bundle", b, id)
		if err := startTracked(create); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, create); code != 0 {
			t.Fatalf("create: exit %d: %s", code, readFile(create.Stderr.(*os.File).Name()))
		}
		start := notifyCommand(t, r, "start", id)
		if err := startTracked(start); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, start); code != 0 {
			t.Fatalf("start: exit %d: %s", code, readFile(start.Stderr.(*os.File).Name()))
		}
		checkNotifyRelay(t, r.drainAll(t), start.Process.Pid, state(t, id).Pid)
		mustRT(t, "delete", "--force", id)
	})
}

// notifyCommand is the runtime with --root for t and NOTIFY_SOCKET set to r; stdout and stderr are files (a
// detached container keeps them open).
func notifyCommand(t *testing.T, r *notifyReceiver, args ...string) *exec.Cmd {
	t.Helper()
	e := env(t)
	cmd := exec.Command(runtimeBin, append([]string{"--root", e.root}, args...)...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+r.path)
	out, err := os.CreateTemp(e.base, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	errF, err := os.CreateTemp(e.base, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { errF.Close() })
	cmd.Stdout, cmd.Stderr = out, errF
	return cmd
}

// drainAll returns every datagram that arrived, once every runtime process that sends to r has exited: a datagram
// is queued on the socket when its sendmsg(2) returns, so what the reader has not recorded yet is still queued,
// and is taken here, under the reader's lock. Nothing is left to wait for.
func (r *notifyReceiver) drainAll(t *testing.T) []notifyDatagram {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.raw.Control(func(fd uintptr) { r.receiveLocked(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(r.got)
}

// TestExecHelperStopped (issue 17, 2): the container's root SIGSTOPs the runtime's exec helper while it is inside
// the container, before it has exec'd. `state` and `list` must still answer and `delete -f` still delete, promptly,
// and nothing may be left: the stopped helper must not wedge the container's lock.
func TestExecHelperStopped(t *testing.T) {
	t.Parallel()
	// The stopper is the container's root, with the default capabilities (CAP_KILL among them).
	b := bundle(t, withArgs("/probe", "stopnew", "/bin/true"))
	id, out := runDetached(t, b)
	waitOutput(t, out, "watching")
	// Exec until the stopper catches a helper before its execve: each miss (the target had exec'd) is killed and
	// reported "late"; a hit leaves the exec waiting on a stopped helper.
	hit := false
	var execCmd *exec.Cmd
	for attempt := 0; attempt < 100 && !hit; attempt++ {
		execCmd, _, _ = rtBackground(t, "exec", id, "/bin/true")
		done := make(chan struct{})
		go func() { _ = waitTracked(execCmd); close(done) }()
		deadline := time.After(cmdTimeout)
	wait:
		for {
			select {
			case <-done:
				break wait
			case <-deadline:
				t.Fatalf("exec neither finished nor was caught in %v: %s", cmdTimeout, readFile(out))
			default:
			}
			if strings.Count(readFile(out), "stopped ") > 0 {
				hit = true
				break wait
			}
			reapOrphans()
			time.Sleep(5 * time.Millisecond)
		}
		if !hit {
			continue
		}
		// Bound every command well below cmdTimeout: a wedged runtime is the failure under test.
		for _, args := range [][]string{{"state", id}, {"list"}, {"list", "-q"}, {"delete", "--force", id}} {
			start := time.Now()
			bound := 10 * time.Second
			if isRunc && args[0] == "delete" {
				bound = 28 * time.Second // runc 1.5.3's delete -f here sometimes takes over 10 s
			}
			r := rtBounded(t, bound, args...)
			// runc's delete -f waits 100 ms for the killed init to be gone and then answers "container init still
			// running": here the init is an orphan this test reaps (it is the subreaper), so it may still be a
			// zombie. Reap and ask again, as a manager would.
			for try := 0; isRunc && args[0] == "delete" && r.Code != 0 && try < 10; try++ {
				reapOrphans()
				time.Sleep(50 * time.Millisecond)
				reapOrphans()
				r = rtBounded(t, bound, args...)
			}
			if r.Code != 0 {
				t.Fatalf("%v with the exec helper stopped: %v (stopper: %s)", args, r, readFile(out))
			}
			t.Logf("%v answered in %v", args, time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-done:
		case <-time.After(cmdTimeout):
			t.Fatalf("exec still waiting %v after delete --force killed its helper", cmdTimeout)
		}
		if execCmd.ProcessState.Success() {
			t.Errorf("exec whose helper was killed exited 0")
		}
	}
	if !hit {
		t.Fatalf("the stopper never caught an exec helper in 100 attempts: %s", readFile(out))
	}
	t.Logf("stopper: %s", readFile(out))
	assertNoLeak(t, stateRoot(t), id, b)
}

// rtBounded is rt with its own time bound; running out of it fails the test with the command named.
func rtBounded(t *testing.T, bound time.Duration, args ...string) result {
	t.Helper()
	e := env(t)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, append([]string{"--root", e.root}, args...)...)
	cmd.WaitDelay = time.Second
	outF, err := os.CreateTemp(e.base, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	cmd.Stdout, cmd.Stderr = outF, outF
	err = runTracked(cmd)
	if ctx.Err() != nil {
		t.Fatalf("%v: no answer within %v", args, bound)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{Stdout: readFile(outF.Name()), Code: cmd.ProcessState.ExitCode()}
}

// nsOf is the identity of /proc/<pid>/ns/<kind> ("user:[4026531837]").
func nsOf(t *testing.T, pid int, kind string) string {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// TestExecAfterWorkloadUnshare (issue 17, 4): the workload calls unshare(CLONE_NEWUSER), one unprivileged syscall,
// and waits. `exec` still enters the namespaces the container was created with: not the init's new user
// namespace (which has no mappings), but the original ones. When the workload also left a namespace nothing else
// holds (here its UTS namespace), that namespace is gone: exec refuses with one line naming it.
func TestExecAfterWorkloadUnshare(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		userns bool
	}{{name: "no user namespace"}, {name: "user namespace", userns: true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := withArgs("/bin/unshare", "-U", "/probe", "signals", "0")
			b := bundle(t, args)
			if tc.userns {
				b = usernsBundle(t, args)
			}
			if tc.userns {
				rtOnly(t, "runc 1.5.3 joins the init's live user namespace, so its exec fails after the workload's unshare")
			}
			id, out := runDetached(t, b)
			waitOutput(t, out, "ready")
			pid := state(t, id).Pid
			if nsOf(t, pid, "user") == nsOf(t, os.Getpid(), "user") {
				t.Fatalf("the workload's unshare(CLONE_NEWUSER) did not take")
			}
			r := rt(t, "exec", id, "/probe", "self")
			if r.Code != 0 {
				t.Fatalf("exec after the workload's unshare(CLONE_NEWUSER): %v", r)
			}
			var self Self
			decode(t, r.Stdout, &self)
			if self.UID != 0 {
				t.Errorf("exec'd process uid %d, want 0", self.UID)
			}
			// The exec'd process is in the container's original mount, uts and pid namespaces, and its user
			// namespace is the parent of the one the workload made.
			for _, kind := range []string{"mnt", "uts", "pid", "net", "ipc"} {
				if got, want := self.Namespaces[kind], nsOf(t, pid, kind); got != want {
					t.Errorf("exec'd process %s namespace %s, want the container's %s", kind, got, want)
				}
			}
			if got := self.Namespaces["user"]; got == nsOf(t, pid, "user") {
				t.Errorf("exec'd process joined the workload's own user namespace %s", got)
			}
		})
	}
	t.Run("held by another process", func(t *testing.T) {
		t.Parallel()
		rtOnly(t, "runc joins whatever namespaces the init is in now")
		// The init leaves its UTS namespace, a sibling stays in it: exec finds it through the container's cgroup.
		b := bundle(t, withArgs("/bin/sh", "-c", "/bin/sleep 100000 & exec /bin/unshare -U -u /probe signals 0"))
		id, out := runDetached(t, b)
		waitOutput(t, out, "ready")
		pid := state(t, id).Pid
		r := rt(t, "exec", id, "/probe", "self")
		if r.Code != 0 {
			t.Fatalf("exec with the original uts namespace held by a sibling: %v", r)
		}
		var self Self
		decode(t, r.Stdout, &self)
		if got := self.Namespaces["uts"]; got == nsOf(t, pid, "uts") {
			t.Errorf("exec'd process in uts namespace %s: the workload's new one, not the container's", got)
		}
	})
	t.Run("gone", func(t *testing.T) {
		t.Parallel()
		rtOnly(t, "runc joins whatever namespaces the init is in now; rt refuses one the container was not created with")
		b := bundle(t, withArgs("/bin/unshare", "-U", "-u", "/probe", "signals", "0"))
		id, out := runDetached(t, b)
		waitOutput(t, out, "ready")
		r := rt(t, "exec", id, "/probe", "self")
		if r.Code != 255 {
			t.Fatalf("exec into a container whose uts namespace is gone: %v, want exit 255", r)
		}
		oneLine(t, r, "uts namespace")
		t.Logf("%s", r.Stderr)
	})
}

// TestStartContainerHookState (issue 17, conformance note): the state a startContainer hook reads on stdin carries
// the config's annotations, as runc's does.
func TestStartContainerHookState(t *testing.T) {
	t.Parallel()
	hostDir := t.TempDir()
	b := bundle(t, func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.example.key": "value"}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hookout", Type: "bind", Source: hostDir,
			Options: []string{"rbind", "rw"}})
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh",
			Args: []string{"sh", "-c", "/bin/cat > /hookout/state.json"}}}}
		s.Process.Args = []string{"/probe", "exit", "0"}
	})
	mustRT(t, "run", "--bundle", b, newID(t))
	var st specs.State
	if err := json.Unmarshal([]byte(readFile(filepath.Join(hostDir, "state.json"))), &st); err != nil {
		t.Fatalf("startContainer hook's state: %v in %q", err, readFile(filepath.Join(hostDir, "state.json")))
	}
	if st.Annotations["org.example.key"] != "value" {
		t.Errorf("startContainer hook's state %+v lacks the config's annotations", st)
	}
}
