package integration

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// slackScript prints the timer slack of the shell, then, once the shell has reset its own to its default (proc(5)
// /proc/PID/timerslack_ns: writing 0), the default: the slack of the thread the process was forked from, which a
// prctl(PR_SET_TIMERSLACK, 0) would also give back.
const slackScript = "cat /proc/self/timerslack_ns; echo 0 > /proc/self/timerslack_ns; cat /proc/self/timerslack_ns"

// callerSlack is the timer slack TestTimerSlackInherited gives the runtime: below rt's own 1 ms, so that rt raises
// it; not the kernel's default 50 us.
const callerSlack = "123457"

// withCallerSlack locks the test to its thread and gives the thread callerSlack, which every runtime the test
// forks inherits. The thread is never unlocked: it ends with the test rather than carry the slack into others.
func withCallerSlack(t *testing.T) {
	t.Helper()
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 123457, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
}

// TestTimerSlackInherited: the container's process and every hook (createRuntime, poststart and poststop from the
// runtime's command, createContainer and startContainer from its init) have the timer slack of the runtime's
// caller, and the container's process has it as its default too, as with runc, which leaves the slack alone: rt
// raises the slack of its own threads (nsenter.c raise_timerslack) and must give every child the caller's back.
func TestTimerSlackInherited(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hook := func(path string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat /proc/self/timerslack_ns > " + path}}
	}
	b := bundle(t, func(s *specs.Spec) {
		s.Root.Readonly = false // the startContainer hook writes /tmp/sc
		s.Hooks = &specs.Hooks{
			CreateRuntime:   []specs.Hook{hook(filepath.Join(dir, "createRuntime"))},
			CreateContainer: []specs.Hook{hook("./tmp/cc")},
			StartContainer:  []specs.Hook{hook("/tmp/sc")},
			Poststart:       []specs.Hook{hook(filepath.Join(dir, "poststart"))},
			Poststop:        []specs.Hook{hook(filepath.Join(dir, "poststop"))},
		}
		s.Process.Args = []string{"sh", "-c", "cat /tmp/cc /tmp/sc; " + slackScript}
	})
	withCallerSlack(t)
	r := mustRT(t, "run", "--bundle", b, newID(t))
	if want := strings.Repeat(callerSlack+"\n", 4); r.Stdout != want {
		t.Errorf("createContainer hook, startContainer hook, process, process's default: timer slack %q, want %s each",
			r.Stdout, callerSlack)
	}
	for _, name := range []string{"createRuntime", "poststart", "poststop"} {
		if got := strings.TrimSpace(readFile(filepath.Join(dir, name))); got != callerSlack {
			t.Errorf("%s hook: timer slack %q, want %s", name, got, callerSlack)
		}
	}
}

// TestTimerSlackExec: a process `exec` starts has the timer slack of exec's caller, as its slack and its default.
func TestTimerSlackExec(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	withCallerSlack(t)
	r := mustRT(t, "exec", id, "sh", "-c", slackScript)
	if want := strings.Repeat(callerSlack+"\n", 2); r.Stdout != want {
		t.Errorf("exec'd process, its default: timer slack %q, want %s each", r.Stdout, callerSlack)
	}
}
