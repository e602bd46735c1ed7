package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreateContainerHookCwd: createContainer hooks run with the container's rootfs as their working directory
// (in its mount namespace, before pivot_root), as runc runs them: hooks written for runc use relative paths.
func TestCreateContainerHookCwd(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "pwd -P > ./tmp/hookcwd"}}}}
		s.Process.Args = []string{"cat", "/tmp/hookcwd"}
	})
	rootfs, err := filepath.EvalSymlinks(filepath.Join(b, "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	if r := mustRT(t, "run", "--bundle", b, newID(t)); r.Stdout != rootfs+"\n" {
		t.Errorf("the createContainer hook's cwd: %q, want the rootfs %s", r.Stdout, rootfs)
	}
}

// TestStartContainerHookEnv: a startContainer hook without env of its own gets the process's environment (runc's
// SetDefaultEnv); one with env gets only that.
func TestStartContainerHookEnv(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Root.Readonly = false // the hooks write /tmp/hookenv
		s.Process.Env = append(s.Process.Env, "HOOKVAR=from-process")
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{
			{Path: "/bin/sh", Args: []string{"sh", "-c", "echo inherited=$HOOKVAR > /tmp/hookenv"}},
			{Path: "/bin/sh", Args: []string{"sh", "-c", "echo own=$HOOKVAR >> /tmp/hookenv"}, Env: []string{"OTHER=1"}},
		}}
		s.Process.Args = []string{"cat", "/tmp/hookenv"}
	})
	if r := mustRT(t, "run", "--bundle", b, newID(t)); r.Stdout != "inherited=from-process\nown=\n" {
		t.Errorf("the startContainer hooks saw %q, want the process's HOOKVAR in the first only", r.Stdout)
	}
}

// TestHookFailureText: a failing hook fails create with runc's text, which users match: "error running KIND hook
// #N: exit status S, stdout: ..., stderr: ...", and nothing is left behind.
func TestHookFailureText(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 says \"error running hook #N: error running hook: ...\" without the kind")
	fail := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo said; echo oops >&2; exit 3"}}
	ok := specs.Hook{Path: "/bin/true"}
	tests := []struct {
		name  string
		hooks specs.Hooks
		want  string
	}{
		{name: "createRuntime", hooks: specs.Hooks{CreateRuntime: []specs.Hook{ok, fail}},
			want: "error running createRuntime hook #1: exit status 3, stdout: said"},
		{name: "createContainer", hooks: specs.Hooks{CreateContainer: []specs.Hook{fail}},
			want: "error running createContainer hook #0: exit status 3, stdout: said"},
		{name: "startContainer", hooks: specs.Hooks{StartContainer: []specs.Hook{fail}},
			want: "error running startContainer hook #0: exit status 3, stdout: said"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) { s.Hooks = &tc.hooks })
			id := newID(t)
			r := rt(t, "run", "--bundle", b, id)
			if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) || !strings.Contains(r.Stderr, "stderr: oops") {
				t.Errorf("run with a failing %s hook: %v, want an error with %q and \"stderr: oops\"", tc.name, r, tc.want)
			}
			_ = rt(t, "delete", "-f", id) // run leaves a container whose startContainer hook failed stopped
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestCwdOnlyRootMayEnter: a process.cwd that only root may enter (0700, owned by root) works for a non-root
// process.user: runc enters the cwd before switching to the user (and again after, only where that was refused).
func TestCwdOnlyRootMayEnter(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 100}
		s.Process.Cwd = "/root"
		s.Process.Args = []string{"sh", "-c", "pwd; id -u"}
	})
	if err := os.Chmod(filepath.Join(b, "rootfs", "root"), 0o700); err != nil {
		t.Fatal(err)
	}
	if r := mustRT(t, "run", "--bundle", b, newID(t)); r.Stdout != "/root\n1000\n" {
		t.Errorf("inside: %q, want /root and uid 1000", r.Stdout)
	}
}

// TestHookTimeoutForkedChild: a hook with a timeout whose forked child keeps the hook's stdout open (exited at once
// or hung) fails run in bounded time with runc's one-line "ran past specified timeout" error; runc waits for the
// child to close the pipe (its sleep here) before saying so. The child lives in the container, so nothing is left.
func TestHookTimeoutForkedChild(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc waits for a hook's forked child to close the hook's stdout, past the hook's timeout")
	one := 1
	for name, script := range map[string]string{"exited": "sleep 20 & exit 0", "hung": "sleep 20 & sleep 20"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Timeout: &one}}}
			})
			id := newID(t)
			begin := time.Now()
			r := rt(t, "run", "--bundle", b, id)
			took := time.Since(begin)
			want := "error running startContainer hook #0: hook ran past specified timeout of 1.0s"
			if r.Code == 0 || !strings.Contains(r.Stderr, want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
				t.Errorf("run with a hook whose child holds its stdout: %v, want one line with %q", r, want)
			}
			if took > 15*time.Second {
				t.Errorf("run took %v, want it bounded by the hook's timeout (the child sleeps 20 s)", took)
			}
			_ = rt(t, "delete", "-f", id)
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestPoststartPoststopHooks: `start` runs the poststart hooks and `delete` the poststop hooks, each a command of
// its own that finds them in the state create left, with the state on stdin: the id, the config's annotations,
// and for poststop the status stopped.
func TestPoststartPoststopHooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, name)}}
	}
	b := bundle(t, func(s *specs.Spec) {
		s.Annotations = map[string]string{"rt.test/hooks": "kept"}
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{hook("poststart")}, Poststop: []specs.Hook{hook("poststop")}}
		s.Process.Args = []string{"true"}
	})
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	mustRT(t, "start", id)
	waitStatus(t, id, "stopped")
	mustRT(t, "delete", id)
	for _, tt := range []struct{ name, status string }{{"poststart", ""}, {"poststop", "stopped"}} {
		var st specs.State
		data := readFile(filepath.Join(dir, tt.name))
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			t.Errorf("%s hook's stdin %q: %v", tt.name, data, err)
			continue
		}
		if st.ID != id || st.Annotations["rt.test/hooks"] != "kept" || (tt.status != "" && string(st.Status) != tt.status) {
			t.Errorf("%s hook's state = %+v, want id %s, the annotation, status %q", tt.name, st, id, tt.status)
		}
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestStartContainerHookSeccomp: a startContainer hook runs under the container's seccomp filter, in the container
// after the filter is loaded (runc's seccomp.bats "startContainer hook"): a hook that makes a syscall the profile
// kills fails start with runc's hook error naming the signal. The filter is the init thread's alone (no TSYNC), so
// the hook must be forked from that thread.
func TestStartContainerHookSeccomp(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 says \"error running hook #N: error running hook: ...\" without the kind")
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"true"}
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_CORE"})
		s.Linux.Seccomp = denyProfile("mkdir", "mkdirat")
		s.Linux.Seccomp.Syscalls[0].Action = specs.ActKill
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "mkdir /tmp/hook"}}}}
	})
	id := newID(t)
	r := rt(t, "run", "--bundle", b, id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "error running startContainer hook #0") ||
		!strings.Contains(r.Stderr, "bad system call") {
		t.Errorf("run with a startContainer hook the profile kills: %v, want runc's hook error naming SIGSYS", r)
	}
}

// TestPoststartHookFails: a failing poststart hook is an error that stops the container (runtime-spec 1.3 runtime.md
// "Lifecycle" step 9; runc 1.5 hooks.bats "runc run [hook fails]"): run fails with runc's hook error; with create
// and start, the command that runs the hooks fails (rt's start, runc's create, which runs them early) and the
// container is then stopped or gone, never left running.
func TestPoststartHookFails(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 says \"error running hook #N: error running hook: ...\" without the kind")
	const want = "error running poststart hook #1: exit status 1"
	failing := func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100000"}
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true"}, {Path: "/bin/false"}}}
	}
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		b := bundle(t, failing)
		id := newID(t)
		if r := rt(t, "run", "--bundle", b, id); r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("run: %v, want an error with %q", r, want)
		}
		// run deletes what it made (runtime-spec lifecycle step 12), without a delete of the caller's.
		t.Cleanup(func() { _ = rt(t, "delete", "-f", id) })
		assertNoLeak(t, stateRoot(t), id, b)
	})
	t.Run("create and start", func(t *testing.T) {
		t.Parallel()
		b := bundle(t, failing)
		id := newID(t)
		r := rt(t, "create", "--bundle", b, id)
		if r.Code == 0 {
			r = rt(t, "start", id)
		}
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("create and start: %v, want an error with %q", r, want)
		}
		if st := status(t, id); st != "" && st != "stopped" {
			t.Errorf("after the failed hook the container is %s, want it stopped or gone", st)
		}
		_ = rt(t, "delete", "-f", id)
		assertNoLeak(t, stateRoot(t), id, b)
	})
}
