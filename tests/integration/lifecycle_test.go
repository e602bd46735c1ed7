package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestRunForeground: `run` with no flags runs the process with the runtime's stdio and exits with its status.
func TestRunForeground(t *testing.T) {
	t.Parallel()
	var s Self
	runProbe(t, nil, &s)
	if s.Pid != 1 {
		t.Errorf("pid inside = %d, want 1", s.Pid)
	}
	if len(s.Args) != 2 || s.Args[0] != "/probe" || s.Args[1] != "self" {
		t.Errorf("args = %q, want [/probe self]", s.Args)
	}
}

// TestRunExitCode: run exits with the container process's exit status (runc behaviour).
func TestRunExitCode(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, 1, 3, 42, 255} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			b := bundle(t, withArgs("/probe", "exit", strconv.Itoa(code)))
			if r := rt(t, "run", "--bundle", b, newID(t)); r.Code != code {
				t.Errorf("run: %v, want exit %d", r, code)
			}
		})
	}
}

// TestRunKilledExitCode: when the container's init is killed by a signal, run exits 128+signal (137 for KILL).
func TestRunKilledExitCode(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id := newID(t)
	cmd, _, errPath := rtBackground(t, "run", "--bundle", b, id)
	waitStatus(t, id, "running")
	mustRT(t, "kill", id, "KILL")
	if code := waitExit(t, cmd); code != 137 {
		t.Errorf("run exit = %d, want 137; stderr %q", code, readFile(errPath))
	}
}

// TestRunStdio: foreground run passes stdin, stdout and stderr through untouched, byte for byte.
func TestRunStdio(t *testing.T) {
	t.Parallel()
	in := []byte("line one\n\x00\x01\xffbinary\r\nno newline at end")
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
	}{
		{name: "stdin to stdout", args: []string{"cat"}, wantStdout: string(in)},
		{name: "stdin to stderr", args: []string{"sh", "-c", "cat >&2"}, wantStderr: string(in)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, withArgs(tc.args...))
			r := rtStdin(t, in, "run", "--bundle", b, newID(t))
			if r.Code != 0 || r.Stdout != tc.wantStdout || r.Stderr != tc.wantStderr {
				t.Errorf("run: %v, want stdout %q stderr %q", r, tc.wantStdout, tc.wantStderr)
			}
		})
	}
}

// TestRunForwardsSignals: a signal sent to a foreground `run` reaches the container's init (runc forwards every
// signal it can catch), here TERM, which the probe answers by exiting 42; SIGRTMIN+3 among them, systemd's
// "halt" (a systemd container's manager is stopped with it).
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP, sigRTMin + 3} {
		name := signalName(sig)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, withArgs("/probe", "signals", "42"))
			id := newID(t)
			cmd, out, _ := rtBackground(t, "run", "--bundle", b, id)
			waitOutput(t, out, "ready\n")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitOutput(t, out, "got "+name+"\n")
			if sig != syscall.SIGTERM {
				if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			if code := waitExit(t, cmd); code != 42 {
				t.Errorf("run exit = %d, want 42 (the container's status)", code)
			}
		})
	}
}

// sigRTMin is glibc's SIGRTMIN (34; 32 and 33 are its own), which the probe and systemd count from.
const sigRTMin = syscall.Signal(34)

// signalName is the probe's name of sig: unix.SignalName's, or SIGRTMIN+n.
func signalName(sig syscall.Signal) string {
	if sig >= sigRTMin {
		return fmt.Sprintf("SIGRTMIN+%d", sig-sigRTMin)
	}
	return unix.SignalName(sig)
}

// TestRunForwardsEarlySignal: a signal that comes after `run` started but before the container has (here from a
// createRuntime hook, which the runtime itself runs between creating and starting) is not lost: it reaches the
// init once that runs. Without a pid namespace, so that SIGTERM's default action applies to the init (the init
// of a pid namespace ignores a signal it has no handler for, and the probe could not have installed one yet).
func TestRunForwardsEarlySignal(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
			return ns.Type == specs.PIDNamespace
		})
		// The hook is the runtime's child: $PPID is the foreground run.
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "kill -TERM $PPID"}}}}
	})
	cmd, _, errPath := rtBackground(t, "run", "--bundle", b, newID(t))
	if code := waitExit(t, cmd); code != 128+int(syscall.SIGTERM) {
		t.Errorf("run exit = %d, want %d (the init killed by the forwarded SIGTERM); stderr: %s", code,
			128+int(syscall.SIGTERM), readFile(errPath))
	}
}

// TestRunDiesOfSignal34: signal 34 (glibc's SIGRTMIN) is not caught by a foreground `run`, which dies of it and
// leaves the container running: the Go runtime leaves 32 to 34 to the libc (musl's SIGSYNCCALL is 34), so
// os/signal's Notify of every signal, runc's, never catches it.
func TestRunDiesOfSignal34(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("/probe", "signals", "42"))
	id := newID(t)
	cmd, out, _ := rtBackground(t, "run", "--bundle", b, id)
	t.Cleanup(func() { rt(t, "delete", "--force", id) })
	waitOutput(t, out, "ready\n")
	// The workload can print before rt's start has removed the exec fifo (runc's order too): until then the status
	// is "created", and a run killed in between would leave it so.
	waitStatus(t, id, "running")
	if err := cmd.Process.Signal(sigRTMin); err != nil {
		t.Fatal(err)
	}
	waitExit(t, cmd)
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != sigRTMin {
		t.Errorf("run ended with %v, want killed by signal 34", cmd.ProcessState)
	}
	if got := status(t, id); got != "running" {
		t.Errorf("container status after run died = %q, want running", got)
	}
}

// TestExecForwardsSignals: a signal sent to a foreground `exec` reaches the process it runs in the container.
func TestExecForwardsSignals(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id, _ := runDetached(t, b)
	cmd, out, _ := rtBackground(t, "exec", id, "/probe", "signals", "42")
	waitOutput(t, out, "ready\n")
	for _, sig := range []syscall.Signal{syscall.SIGUSR2, sigRTMin + 3} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		waitOutput(t, out, "got "+signalName(sig)+"\n")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 42 {
		t.Errorf("exec exit = %d, want 42 (the process's status)", code)
	}
}

// TestRunDeletes: a foreground run deletes the container when it exits, unless --keep.
func TestRunDeletes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      []string
		wantStatus string
	}{
		{name: "default", wantStatus: ""},
		{name: "keep", flags: []string{"--keep"}, wantStatus: "stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, withArgs("true"))
			id := newID(t)
			mustRT(t, append(append([]string{"run", "--bundle", b}, tc.flags...), id)...)
			if got := status(t, id); got != tc.wantStatus {
				t.Errorf("status after run = %q, want %q", got, tc.wantStatus)
			}
			if tc.wantStatus == "" {
				assertNoLeak(t, stateRoot(t), id, b)
				return
			}
			if s := state(t, id); s.Pid != 0 {
				t.Errorf("pid of a stopped container = %d, want 0", s.Pid)
			}
			mustRT(t, "delete", id)
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestRunDetach: run -d returns once the container runs; the container keeps running.
func TestRunDetach(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id, _ := runDetached(t, b)
	s := state(t, id)
	if s.Status != "running" || s.Pid <= 0 {
		t.Fatalf("state after run -d = %+v", s)
	}
	mustRT(t, "delete", "-f", id)
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestLifecycle: create -> created (the process waits, the workload has not run), start -> running, the workload
// ends -> stopped with pid 0, delete -> gone.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := env(t)
	b := bundle(t, withArgs("sh", "-c", "echo started; read line"))
	id := newID(t)
	// The workload's stdin is a pipe we hold: it ends when we close the write side.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd, out, errPath := rtBackgroundStdin(t, pr, "create", "--bundle", b, id)
	pr.Close()
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("create: exit %d: %s", code, readFile(errPath))
	}
	if got := readFile(out); got != "" {
		t.Errorf("create printed %q before start; the workload must not run yet", got)
	}
	s := state(t, id)
	if s.Status != "created" || s.Pid <= 0 {
		t.Fatalf("after create: %+v, want created with a pid", s)
	}
	if !processAlive(s.Pid) {
		t.Errorf("init pid %d of a created container is not alive", s.Pid)
	}
	if r := mustRT(t, "start", id); r.Stdout != "" {
		t.Errorf("start printed %q", r.Stdout)
	}
	waitOutput(t, out, "started\n")
	if got := status(t, id); got != "running" {
		t.Errorf("after start: %q, want running", got)
	}
	pw.Close()
	waitStatus(t, id, "stopped")
	if s := state(t, id); s.Pid != 0 {
		t.Errorf("stopped container pid = %d, want 0", s.Pid)
	}
	mustRT(t, "delete", id)
	if r := rt(t, "state", id); r.Code != 1 {
		t.Errorf("state after delete: %v, want exit 1", r)
	}
	assertNoLeak(t, e.root, id, b)
}

// TestCreatePidFile: --pid-file holds the container init's host pid in decimal without a newline (runc), written
// before create returns; run -d takes it too.
func TestCreatePidFile(t *testing.T) {
	t.Parallel()
	for _, cmdName := range []string{"create", "run"} {
		t.Run(cmdName, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, sleeper)
			id := newID(t)
			pidFile := filepath.Join(env(t).base, "pid")
			args := []string{cmdName, "--pid-file", pidFile, "--bundle", b, id}
			if cmdName == "run" {
				args = append([]string{"run", "-d"}, args[1:]...)
			}
			mustRT(t, args...)
			got := readFile(pidFile)
			if got == "" {
				t.Fatalf("pid file %s empty or missing after %s returned", pidFile, cmdName)
			}
			if want := strconv.Itoa(state(t, id).Pid); got != want {
				t.Errorf("pid file = %q, want %q", got, want)
			}
		})
	}
}

// TestStartRunsOnce: start of a running container fails (exit 1) and leaves it running.
func TestStartRunsOnce(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	r := rt(t, "start", id)
	if r.Code != 1 {
		t.Errorf("start of a running container: %v, want exit 1", r)
	}
	oneLine(t, r, id)
	if got := status(t, id); got != "running" {
		t.Errorf("status = %q, want running", got)
	}
}

// TestStartStopped: start of a created container whose init has since died (killed here) fails with exit 1 and one
// line naming the container, and leaves a stopped container that delete removes (runc 1.5: "cannot
// start a container that has stopped", exit 1).
func TestStartStopped(t *testing.T) {
	t.Parallel()
	e := env(t)
	b := bundle(t, sleeper)
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	mustRT(t, "kill", id, "KILL")
	waitStatus(t, id, "stopped")
	r := rt(t, "start", id)
	if r.Code != 1 {
		t.Errorf("start of a stopped container: %v, want exit 1", r)
	}
	oneLine(t, r, id)
	oneLine(t, r, "stopped")
	if got := status(t, id); got != "stopped" {
		t.Errorf("status after the failed start = %q, want stopped", got)
	}
	mustRT(t, "delete", id)
	assertNoLeak(t, e.root, id, b)
}

// TestNoPivot: --no-pivot (MS_MOVE + chroot instead of pivot_root) still gives a working container rooted in
// the rootfs.
func TestNoPivot(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("/probe", "stat", "/probe", "/bin/busybox"))
	r := mustRT(t, "run", "--no-pivot", "--bundle", b, newID(t))
	var st []Stat
	decode(t, r.Stdout, &st)
	for _, s := range st {
		if s.Error != "" || s.Type != "file" {
			t.Errorf("%s inside a --no-pivot container: %+v", s.Path, s)
		}
	}
}

// TestSessionKeyring: by default the container gets a fresh session keyring (runc joins a new "_ses.<id>"
// keyring); with --no-new-keyring it keeps the caller's.
func TestSessionKeyring(t *testing.T) {
	t.Parallel()
	ours, err := keyctlSessionID()
	if err != nil {
		t.Skipf("no session keyring to compare with: %v", err)
	}
	tests := []struct {
		name     string
		flags    []string
		wantSame bool
	}{
		{name: "new keyring", wantSame: false},
		{name: "no-new-keyring", flags: []string{"--no-new-keyring"}, wantSame: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, nil)
			r := mustRT(t, append(append([]string{"run"}, tc.flags...), "--bundle", b, newID(t))...)
			var s Self
			decode(t, r.Stdout, &s)
			if same := s.SessionKeyring == ours; same != tc.wantSame {
				t.Errorf("container session keyring %d, ours %d: same = %v, want %v", s.SessionKeyring, ours, same, tc.wantSame)
			}
		})
	}
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// keyctlSessionID is the serial of this process's session keyring (keyctl(2) KEYCTL_GET_KEYRING_ID).
func keyctlSessionID() (int, error) {
	id, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	if err != nil {
		return 0, os.NewSyscallError("keyctl", err)
	}
	return id, nil
}

// TestRunBundleDir: `rt run DIR/` (README's usage line) runs the bundle in DIR: an argument with a slash can never
// be a container id, so the id is the directory's name and a random suffix, which `run -d` prints. One that is
// neither an id nor a bundle directory gets one line saying both, and leaves nothing.
func TestRunBundleDir(t *testing.T) {
	t.Parallel()
	rtOnly(t, "rt's own usage: runc takes the argument for an id and refuses it")
	b := bundle(t, sleeper)
	r := mustRT(t, "run", "-d", b+"/")
	id := strings.TrimSpace(r.Stdout)
	e := env(t)
	e.mu.Lock()
	e.ids = append(e.ids, id) // deleted at cleanup
	e.mu.Unlock()
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Base(b)) + `-[0-9a-f]{6}$`).MatchString(id) {
		t.Fatalf("run -d %s/ printed %q, want the directory's name and a suffix", b, r.Stdout)
	}
	if s := state(t, id); s.Status != "running" || s.Bundle != b {
		t.Errorf("state of %s: %+v, want running from bundle %s", id, s, b)
	}
	r = mustRT(t, "run", bundle(t, withArgs("sh", "-c", "echo hello"))+"/")
	if r.Stdout != "hello\n" {
		t.Errorf("run DIR/ in the foreground: %q, want hello", r.Stdout)
	}
	missing := filepath.Join(t.TempDir(), "nobundle") + "/"
	r = rt(t, "run", missing)
	if r.Code != 1 || !strings.Contains(r.Stderr, "neither a container id") || !strings.Contains(r.Stderr, "nor a bundle directory") {
		t.Errorf("run %s: %v, want exit 1 saying neither an id nor a bundle", missing, r)
	}
	oneLine(t, r, missing)
	if ents, _ := os.ReadDir(stateRoot(t)); len(ents) != 1 {
		t.Errorf("state root has %d entries, want only %s's", len(ents), id)
	}
}

// TestStartAfterReaped: a workload that exits at once and is reaped by the container's reaper (a shim, here this
// subreaper test) before `start` returns is a successful start, not "no such process". The window between
// releasing the init and `start` looking at it is widened by strace, which delays every pidfd_open(2) of `start`
// by a second: a pidfd taken after the release finds the init reaped.
func TestStartAfterReaped(t *testing.T) {
	t.Parallel()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace (scripts/deps.sh installs it):", err)
	}
	e := env(t)
	b := bundle(t, withArgs("true"))
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	pid := state(t, id).Pid
	// rt create has exited, so the init is our child now (we are a subreaper): reap it the moment it exits.
	reaped := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
			ws = 0xffff // reaped by reapOrphans meanwhile: reaped all the same
		}
		reaped <- ws
	}()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=pidfd_open",
		"-e", "inject=pidfd_open:delay_enter=1000000", runtimeBin, "--root", e.root, "start", id)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runTracked(cmd); err != nil {
		t.Fatalf("start of a workload reaped before start returned: %v: %s", err, out.String())
	}
	select {
	case ws := <-reaped:
		if ws != 0xffff && ws.ExitStatus() != 0 {
			t.Errorf("workload `true` exited with %v", ws)
		}
	case <-time.After(cmdTimeout):
		t.Fatal("the workload did not exit")
	}
	if got := status(t, id); got != "stopped" {
		t.Errorf("status = %q, want stopped", got)
	}
	mustRT(t, "delete", id)
	assertNoLeak(t, e.root, id, b)
}
