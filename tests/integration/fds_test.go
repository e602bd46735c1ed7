package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestPreserveFds: `run --preserve-fds N` passes the caller's fds 3..3+N-1 to the container as 3..3+N-1, and
// nothing else of the caller's or the runtime's (checked with the probe's fd listing); LISTEN_FDS for the runtime's
// own pid passes fds too, and the container sees LISTEN_FDS=n LISTEN_PID=1 (systemd socket activation).
func TestPreserveFds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		listen  bool // run through sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec rt ...', as systemd would
		wantFds int
	}{
		{name: "preserve-fds 2", args: []string{"--preserve-fds", "2"}, wantFds: 2},
		{name: "none", wantFds: 0},
		{name: "LISTEN_FDS 1", listen: true, wantFds: 1},
		{name: "LISTEN_FDS 1 and preserve-fds 1", args: []string{"--preserve-fds", "1"}, listen: true, wantFds: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, withArgs("/probe", "self"))
			id := newID(t)
			dir := t.TempDir()
			extra := createFiles(t, dir, "passed", 3) // one more than passed: it must not reach the container
			out := createFiles(t, dir, "stdout", 1)[0]
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			args := append(append([]string{runtimeBin, "--root", stateRoot(t), "run"}, tc.args...), "--bundle", b, id)
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			if tc.listen {
				cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`, "sh"}, args...)...)
			}
			cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = out, out, extra
			if err := runTracked(cmd); err != nil {
				t.Fatalf("run: %v: %s", err, readFile(out.Name()))
			}
			var s Self
			decode(t, readFile(out.Name()), &s)
			for fd := 3; fd < 3+len(extra); fd++ {
				target, ok := s.Fds[strconv.Itoa(fd)]
				want := fd < 3+tc.wantFds
				if ok != want {
					t.Errorf("fd %d in the container: %v (%q), want %v", fd, ok, target, want)
				}
				if ok && target != filepath.Join(dir, "passed"+strconv.Itoa(fd-3)) {
					t.Errorf("fd %d is %q, want the caller's fd %d", fd, target, fd)
				}
			}
			if len(s.Fds) != 3+tc.wantFds {
				t.Errorf("fds in the container: %v, want only stdio and %d passed", s.Fds, tc.wantFds)
			}
			if tc.listen && !(slices.Contains(s.Env, "LISTEN_FDS=1") && slices.Contains(s.Env, "LISTEN_PID=1")) {
				t.Errorf("env %q: want LISTEN_FDS=1 and LISTEN_PID=1", s.Env)
			}
		})
	}
}

// TestCreateNoFdLeak: fds the runtime inherits without being asked to pass them never reach the container's init,
// not even while it waits to be started (runc's create.bats fd-leak check): every fd of a created container's
// init from 3 up is the runtime's own, none the caller's.
func TestCreateNoFdLeak(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id := newID(t)
	dir := t.TempDir()
	leaked := createFiles(t, dir, "leaked", 6) // more than the fds the runtime places for its init
	if r := rtFiles(t, leaked, "create", "--bundle", b, id); r.Code != 0 {
		t.Fatalf("create: %v", r)
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", state(t, id).Pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if target := readlink(t, filepath.Join(fdDir, e.Name())); strings.HasPrefix(target, dir) {
			t.Errorf("the created container's init holds fd %s -> %s, the caller's", e.Name(), target)
		}
	}
}

// TestExecPreserveFds: `exec --preserve-fds N` passes the caller's fds 3..3+N-1 to the process, for every N, every
// time: the runtime's own fds (its poller's among them) never sit where a preserved fd goes (the process entering
// the container died with "netpoll failed" when one was written over).
func TestExecPreserveFds(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	dir := t.TempDir()
	passed := createFiles(t, dir, "passed", 6)
	for n := 1; n <= len(passed); n++ {
		for range 3 {
			r := rtFiles(t, passed, "exec", "--preserve-fds", strconv.Itoa(n), id, "/probe", "self")
			if r.Code != 0 {
				t.Fatalf("exec --preserve-fds %d: %v", n, r)
			}
			var s Self
			decode(t, r.Stdout, &s)
			for fd := 3; fd < 3+n; fd++ {
				if got, want := s.Fds[strconv.Itoa(fd)], filepath.Join(dir, "passed"+strconv.Itoa(fd-3)); got != want {
					t.Errorf("exec --preserve-fds %d: fd %d is %q, want %q", n, fd, got, want)
				}
			}
			if len(s.Fds) != 3+n {
				t.Errorf("exec --preserve-fds %d: fds %v, want stdio and the %d passed", n, s.Fds, n)
			}
		}
	}
}
