package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/console"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestConsoleSocket: with process.terminal and --console-socket, create sends the pty master over the socket in one
// SCM_RIGHTS message; the container's stdio is the pty's slave (its controlling terminal), consoleSize is applied,
// and what the process writes comes out of the master.
func TestConsoleSocket(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 33, Width: 111}
		s.Process.Args = []string{"sh", "-c", "tty; stty size; ls -l /proc/self/fd/0"}
	})
	id := newID(t)
	sockPath := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	masterc := make(chan *os.File, 1)
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			masterc <- nil
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			masterc <- nil
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) != 1 {
			masterc <- nil
			return
		}
		fds, _ := unix.ParseUnixRights(&msgs[0])
		if len(fds) != 1 {
			masterc <- nil
			return
		}
		masterc <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	mustRT(t, "create", "--console-socket", sockPath, "--bundle", b, id)
	var master *os.File
	select {
	case master = <-masterc:
	case <-time.After(cmdTimeout):
	}
	if master == nil {
		t.Fatal("no pty master received on the console socket")
	}
	defer master.Close()
	if _, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS); err != nil {
		t.Fatalf("the fd received is not a terminal: %v", err)
	}
	mustRT(t, "start", id)
	var out bytes.Buffer
	buf := make([]byte, 4096)
	waitFor(t, "the container's output on the pty", func() bool {
		_ = master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := master.Read(buf)
		out.Write(buf[:n])
		return strings.Contains(out.String(), "/dev/pts/") && strings.Count(out.String(), "\n") >= 3
	})
	if !strings.Contains(out.String(), "33 111") {
		t.Errorf("stty size in the container: %q, want 33 111 (process.consoleSize)", out.String())
	}
	waitStatus(t, id, "stopped")
	mustRT(t, "delete", id)
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestTerminalNeedsSocket: a detached container with a terminal needs --console-socket, and a socket without a
// terminal is refused, both before anything is created (runc's rules).
func TestTerminalNeedsSocket(t *testing.T) {
	t.Parallel()
	withTTY := bundle(t, func(s *specs.Spec) { s.Process.Terminal = true })
	noTTY := bundle(t, sleeper)
	for _, tc := range []struct {
		name string
		args []string
		b    string
	}{
		{"terminal without socket", []string{"create"}, withTTY},
		{"socket without terminal", []string{"create", "--console-socket", "/nonexistent.sock"}, noTTY},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newID(t)
			r := rt(t, append(tc.args, "--bundle", tc.b, id)...)
			if r.Code != 1 {
				t.Errorf("%v: %v, want exit 1", tc.args, r)
			}
			oneLine(t, r, "console")
			assertNoLeak(t, stateRoot(t), id, tc.b)
		})
	}
}

// TestRunTerminalRelay: a foreground `run` of a container with a terminal relays the pty through the caller's own
// terminal (here a pty the test owns) and exits with the container's status.
func TestRunTerminalRelay(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.Args = []string{"sh", "-c", "tty; exit 7"}
	})
	id := newID(t)
	master, slave := callerPty(t)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, "--root", stateRoot(t), "run", "--bundle", b, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// Everything the caller's terminal gets (the relayed output, and rt's own error if any) is read until the last
	// slave fd is closed: the master's read then drains the rest and fails with EIO.
	out := make(chan string, 1)
	go func() {
		var all bytes.Buffer
		_, _ = io.Copy(&all, master)
		out <- all.String()
	}()
	err := runTracked(cmd)
	slave.Close() // rt's copies are closed with its exit
	var relayed string
	select {
	case relayed = <-out:
	case <-time.After(cmdTimeout):
		t.Fatal("the caller's terminal was not hung up after the runtime exited")
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Fatalf("run with a terminal: %v, want exit status 7; the terminal got %q", err, relayed)
	}
	if !strings.Contains(relayed, "/dev/pts/") {
		t.Errorf("relayed output %q, want the container's tty name", relayed)
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestRunTerminalResize: a foreground `run` that relays a terminal gives the container's pty its caller's size again
// on SIGWINCH (rather than forwarding it: the kernel then sends the container's foreground group its own SIGWINCH),
// as runc does.
func TestRunTerminalResize(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		// wait returns early for a trapped signal, so the trap runs at once.
		s.Process.Args = []string{"sh", "-c", `trap 'stty size' WINCH; trap 'exit 42' TERM; echo ready; ` +
			`while :; do sleep 1 & wait $!; done`}
	})
	id := newID(t)
	master, slave := callerPty(t)
	if err := master.Resize(console.WinSize{Height: 24, Width: 80}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(runtimeBin, "--root", stateRoot(t), "run", "--bundle", b, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := startTracked(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = waitTracked(cmd)
		}
	})
	var mu sync.Mutex
	var relayed bytes.Buffer
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			relayed.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return relayed.String()
	}
	// "ready" relayed: the relay has started, after giving the pty the 24x80 size.
	waitFor(t, "ready on the terminal", func() bool { return strings.Contains(output(), "ready") })
	if err := master.Resize(console.WinSize{Height: 50, Width: 132}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(unix.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new size 50 132 seen in the container", func() bool { return strings.Contains(output(), "50 132") })
	if err := cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 42 {
		t.Errorf("run exit = %d, want 42; the terminal got %q", code, output())
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestConsoleSymlinkRefused reproduces the CVE-2025-52565 class: a rootfs whose /dev/console is a symlink to a
// sensitive file (the kernel's core_pattern through the container's /proc) must not get the pty bound over that
// file. The config mounts no /dev, so the rootfs's own /dev is used. The container is refused, or runs with nothing
// mounted on the symlink's target.
func TestConsoleSymlinkRefused(t *testing.T) {
	t.Parallel()
	oldRunc(t, "Debian's runc 1.1.5 lacks the CVE-2025-52565 fix: it binds the pty over the symlink's target")
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.Args = []string{"cat", "/proc/self/mountinfo"}
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination != "/dev" {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = mounts
	})
	if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(b, "rootfs", "dev", "console")); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		t.Fatal(err)
	}
	sockPath := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if conn, err := l.AcceptUnix(); err == nil {
			defer conn.Close()
			buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
			_, oobn, _, _, _ := conn.ReadMsgUnix(buf, oob)
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
				if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil {
					// The output is not needed (the mount table is checked below), but the master stays open until
					// the end: its close would hang up the terminal and SIGHUP a runtime's created init (runc's
					// Go init dies of it), racing the state read.
					t.Cleanup(func() {
						for _, fd := range fds {
							unix.Close(fd)
						}
					})
				}
			}
		}
	}()
	id := newID(t)
	r := rt(t, "create", "--console-socket", sockPath, "--bundle", b, id)
	if r.Code == 0 {
		pid := state(t, id).Pid
		info, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(info), "core_pattern") {
			t.Errorf("the pty was bound over core_pattern through the /dev/console symlink:\n%s", info)
		}
		mustRT(t, "delete", "--force", id)
	} else {
		oneLine(t, r, "console")
	}
	if after, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); !bytes.Equal(before, after) {
		t.Errorf("core_pattern changed from %q to %q", before, after)
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// acceptMaster listens on a new console socket and returns its path and the pty master that arrives on it (nil
// when none does).
func acceptMaster(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	sockPath, l := listenUnix(t, "console.sock")
	masterc := make(chan *os.File, 1)
	go func() { masterc <- receiveFd(l).fd }()
	return sockPath, masterc
}

// listenUnix listens on a new unix socket named name, closed when the test ends, and returns its path.
func listenUnix(t *testing.T, name string) (string, *net.UnixListener) {
	t.Helper()
	sockPath := filepath.Join(t.TempDir(), name)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return sockPath, l
}

// fdMsg is what a --console-socket or --pidfd-socket listener received: the payload and the one fd (nil when none
// arrived).
type fdMsg struct {
	payload string
	fd      *os.File
}

// receiveFd accepts one connection on l and reads one message from it, as containerd's shim and conmon do.
func receiveFd(l *net.UnixListener) fdMsg {
	var m fdMsg
	conn, err := l.AcceptUnix()
	if err != nil {
		return m
	}
	defer conn.Close()
	buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return m
	}
	m.payload = string(buf[:n])
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
		if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
			m.fd = os.NewFile(uintptr(fds[0]), l.Addr().String())
		}
	}
	return m
}

// readMaster reads the pty master until the output has a line matching re, and returns that line's submatches.
func readMaster(t *testing.T, masterc <-chan *os.File, re *regexp.Regexp) []string {
	t.Helper()
	var master *os.File
	select {
	case master = <-masterc:
	case <-time.After(cmdTimeout):
	}
	if master == nil {
		t.Fatal("no pty master received on the console socket")
	}
	defer master.Close()
	var out bytes.Buffer
	var m []string
	buf := make([]byte, 4096)
	waitFor(t, "a line matching "+re.String()+" on the pty", func() bool {
		_ = master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := master.Read(buf)
		out.Write(buf[:n])
		m = re.FindStringSubmatch(out.String())
		return m != nil
	})
	return m
}

// TestTerminalOwner: the pty slave of a container or of `exec -t` belongs to process.user.uid and to the group of
// the devpts mount's gid= option (tty, 5, in the default config), whatever the process's own group: runc changes
// only the owner (fixStdioPermissions), and devpts gives a new pty its mount's gid.
func TestTerminalOwner(t *testing.T) {
	t.Parallel()
	ownerLine := regexp.MustCompile(`owner (\d+) (\d+)\r?\n`)
	script := `echo owner $(stat -c '%u %g' $(tty))`
	for _, user := range []specs.User{{UID: 0, GID: 0}, {UID: 1000, GID: 100}} {
		t.Run(fmt.Sprintf("run %d:%d", user.UID, user.GID), func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) {
				s.Process.Terminal = true
				s.Process.User = user
				s.Process.Args = []string{"sh", "-c", script + "; sleep 100000"}
			})
			sock, masterc := acceptMaster(t)
			id := newID(t)
			mustRT(t, "run", "-d", "--console-socket", sock, "--bundle", b, id)
			if m := readMaster(t, masterc, ownerLine); m[1] != strconv.Itoa(int(user.UID)) || m[2] != "5" {
				t.Errorf("the terminal is owned by %s:%s, want %d:5", m[1], m[2], user.UID)
			}
		})
		t.Run(fmt.Sprintf("exec %d:%d", user.UID, user.GID), func(t *testing.T) {
			t.Parallel()
			id, _ := runDetached(t, bundle(t, sleeper))
			sock, masterc := acceptMaster(t)
			pidFile := filepath.Join(t.TempDir(), "exec.pid")
			mustRT(t, "exec", "-d", "-t", "--console-socket", sock, "--pid-file", pidFile,
				"--user", fmt.Sprintf("%d:%d", user.UID, user.GID), id, "sh", "-c", script)
			if m := readMaster(t, masterc, ownerLine); m[1] != strconv.Itoa(int(user.UID)) || m[2] != "5" {
				t.Errorf("the exec'd terminal is owned by %s:%s, want %d:5", m[1], m[2], user.UID)
			}
			// The exec'd shell, orphaned by `exec -d`, is reparented to this subreaper: reap it, or the cgroup stays busy.
			waitFor(t, "the exec'd process reaped", func() bool {
				reapOrphans()
				return !exists("/proc/" + strings.TrimSpace(readFile(pidFile)))
			})
		})
	}
}

// TestTerminalRelayNoCR: the output of a foreground `run` or `exec -t` with a terminal, relayed by the runtime, is
// what the process wrote: the pty does not turn "\n" into "\r\n" (runc clears ONLCR on the pty it relays), so
// `out=$(runc run ID)` in a script run from a terminal gets the process's lines as they are.
//
// rt clears ONLCR when the init hands it the master, before the process is let go (the exec fifo; for exec, the
// cgroup join), so the process prints at once. runc clears it in a goroutine (tty.go recvtty) that races the
// process's start: under load, what the process wrote before it ran came out as "\r\n" (31 of 150 runs at load
// 15). So the process first reads its terminal's flags: against rt onlcr must be off when it starts; against runc
// it polls until it is (a bounded number of tries: a runtime that never clears it still fails), a deliberate
// difference in what is asserted.
func TestTerminalRelayNoCR(t *testing.T) {
	t.Parallel()
	// The caller's terminal (runc wants one when it relays): a pty the test owns, as stdin; stdout is a file.
	_, slave := callerPty(t)
	relayed := func(args ...string) string {
		t.Helper()
		cmd, out, errPath := rtBackgroundStdin(t, slave, args...)
		if code := waitExit(t, cmd); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, readFile(errPath))
		}
		return readFile(out)
	}

	// The process looks at its terminal before it prints: against rt onlcr is off already (a line on stdout says
	// otherwise); against runc it polls until it is.
	printf := func(text string) []string {
		check := `stty -a 2>/dev/null | grep -q ' onlcr' && echo "onlcr set when the process started"; `
		if isRunc {
			check = `i=0; while [ $i -lt 10000 ] && stty -a 2>/dev/null | grep -q ' onlcr'; do i=$((i+1)); done; `
		}
		return []string{"sh", "-c", check + `printf "$0"`, text}
	}
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.Args = printf(`one\ntwo\n`)
	})
	id := newID(t)
	if out := relayed("run", "--bundle", b, id); out != "one\ntwo\n" {
		t.Errorf("run with a terminal: stdout %q, want %q", out, "one\ntwo\n")
	}
	assertNoLeak(t, stateRoot(t), id, b)

	id, _ = runDetached(t, bundle(t, sleeper))
	if out := relayed(append([]string{"exec", "-t", id}, printf(`three\nfour\n`)...)...); out != "three\nfour\n" {
		t.Errorf("exec -t: stdout %q, want %q", out, "three\nfour\n")
	}
	mustRT(t, "delete", "-f", id)
}

// TestTerminalRelayDrained: a foreground `run` or `exec -t` with a terminal passes on everything the process wrote
// before it exited, however slowly its caller reads: the runtime exits only once it has copied what the pty still
// held (runc: tty.Close waits for its copy, which ends when a read of the pty finds nothing more).
//
// The process prints 1 MiB and exits at once. Its caller reads the runtime's stdout, a pipe shrunk to one page,
// up to the last 10 KiB and stops there until the process has written everything (a file it then creates) and
// the runtime has exited or 3 s have passed: the rest (a page in the pipe, a read in the runtime's hands, a few
// KiB left in the pty) can only come through if the runtime waits for its caller. Then it reads to the end and
// compares byte for byte. The wait bounds a runtime that gives up (rt gave the copy 1 s after the container's
// delete and lost the pty's rest); a runtime that waits passes whatever the load.
func TestTerminalRelayDrained(t *testing.T) {
	t.Parallel()
	const size, held = 1 << 20, 10 << 10
	// No "\n": runc clears ONLCR in a goroutine that races the process's first output (TestTerminalRelayNoCR).
	want := strings.Repeat("0123456789abcdef", size/16)
	workload := func(marker string) []string {
		return []string{"sh", "-c", `yes 0123456789abcdef | tr -d '\n' | head -c $0; touch $1`, strconv.Itoa(size), marker}
	}
	_, stdin := callerPty(t) // runc relays only from a terminal
	relayed := func(b string, args ...string) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, os.Getpagesize()); err != nil {
			t.Fatal(err)
		}
		errF, err := os.CreateTemp(t.TempDir(), "stderr")
		if err != nil {
			t.Fatal(err)
		}
		defer errF.Close()
		cmd := exec.Command(runtimeBin, append([]string{"--root", stateRoot(t)}, args...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, w, errF
		err = startTracked(cmd)
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- waitTracked(cmd) }()
		defer time.AfterFunc(cmdTimeout, func() { _ = cmd.Process.Kill() }).Stop()
		got := make([]byte, size-held, size)
		if n, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("%v: %v after %d bytes (%v); stderr %q", args, err, n, <-exited, readFile(errF.Name()))
		}
		marker := filepath.Join(b, "rootfs", "tmp", "done")
		waitFor(t, "the process to have written its output", func() bool { return exists(marker) })
		var runErr error
		waited := false
		select {
		case runErr = <-exited:
			waited = true
		case <-time.After(3 * time.Second):
		}
		rest, _ := io.ReadAll(r)
		got = append(got, rest...)
		if !waited {
			runErr = <-exited
		}
		if runErr != nil {
			t.Errorf("%v: %v; stderr %q", args, runErr, readFile(errF.Name()))
		}
		if string(got) != want {
			t.Errorf("%v: relayed %d bytes of %d (the last %q), want all of them", args, len(got), size, got[max(0, len(got)-32):])
		}
	}
	writable := func(s *specs.Spec) { s.Root.Readonly = false }

	b := bundle(t, func(s *specs.Spec) {
		writable(s)
		s.Process.Terminal = true
		s.Process.Args = workload("/tmp/done")
	})
	id := newID(t)
	relayed(b, "run", "--bundle", b, id)
	assertNoLeak(t, stateRoot(t), id, b)

	b = bundle(t, func(s *specs.Spec) {
		writable(s)
		sleeper(s)
	})
	id, _ = runDetached(t, b)
	relayed(b, append([]string{"exec", "-t", id}, workload("/tmp/done")...)...)
	mustRT(t, "delete", "-f", id)
}

// TestTerminalRelaySurvivor: `exec -t` returns once its process has exited and its output is passed on, though a
// child of the process lives on with the terminal open and writes nothing (the pty never hangs up): the runtime
// waits for what the pty holds, not for the last holder of its slave.
func TestTerminalRelaySurvivor(t *testing.T) {
	t.Parallel()
	_, stdin := callerPty(t) // runc relays only from a terminal
	id, _ := runDetached(t, bundle(t, sleeper))
	// The child ignores the SIGHUP the session leader's exit sends to the terminal's foreground process group.
	cmd, out, errPath := rtBackgroundStdin(t, stdin, "exec", "-t", id, "sh", "-c", "trap '' HUP; sleep 100000 & echo started")
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exec -t: exit %d: %s", code, readFile(errPath))
	}
	if got := strings.TrimSpace(readFile(out)); got != "started" {
		t.Errorf("exec -t: stdout %q, want %q", got, "started")
	}
	if r := mustRT(t, "exec", id, "pidof", "sleep"); len(strings.Fields(r.Stdout)) != 2 {
		t.Errorf("sleeps in the container: %q, want the init's and the exec'd child's", r.Stdout)
	}
	mustRT(t, "delete", "-f", id)
}

// callerPty is a pty the test owns, its two ends closed when the test ends: the slave is a caller's terminal.
func callerPty(t *testing.T) (master console.Console, slave *os.File) {
	t.Helper()
	master, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	slave, err = os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}
