package integration

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestTimerSlackInherited: the container's process and every hook (createRuntime and poststart from the runtime's
// command, createContainer and startContainer from its init) have the timer slack of the runtime's caller, as
// with runc, which leaves it alone: rt raises the slack of its own threads (nsenter.c raise_timerslack) and must
// give every child the caller's back.
func TestTimerSlackInherited(t *testing.T) {
	t.Parallel()
	const slack = "123457" // below rt's own 1 ms, so that rt raises it; not the kernel's default 50 us
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
		}
		s.Process.Args = []string{"sh", "-c", "cat /tmp/cc /tmp/sc /proc/self/timerslack_ns"}
	})
	// The runtime is forked from this thread and inherits its slack. The thread is never unlocked: it ends with
	// the test rather than carry the slack into other tests.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 123457, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	r := mustRT(t, "run", "--bundle", b, newID(t))
	if want := strings.Repeat(slack+"\n", 3); r.Stdout != want {
		t.Errorf("createContainer hook, startContainer hook, process: timer slack %q, want %s each", r.Stdout, slack)
	}
	for _, name := range []string{"createRuntime", "poststart"} {
		if got := strings.TrimSpace(readFile(filepath.Join(dir, name))); got != slack {
			t.Errorf("%s hook: timer slack %q, want %s", name, got, slack)
		}
	}
}
