package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestConfigNotRegular: config.json is opened without blocking and read only when it is a regular file of at most
// 4 MiB, so a FIFO (which blocked create forever), a link to /dev/zero (read until Go ran out of memory) and an
// oversized file are each refused with one line naming config.json, and nothing is left.
func TestConfigNotRegular(t *testing.T) {
	t.Parallel()
	// runc reads config.json whatever it is: it blocks on a FIFO and would read /dev/zero until memory runs out.
	rtOnly(t, "runc opens config.json without a type or size check")
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{name: "fifo", want: "FIFO", damage: func(t *testing.T, path string) {
			if err := unix.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlink to /dev/zero", want: "character device", damage: func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "directory", want: "directory", damage: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "larger than 4 MiB", want: "larger than 4 MiB", damage: func(t *testing.T, path string) {
			// Valid JSON, so that only the size can be the reason.
			writeFile(t, path, `{"ociVersion": "1.3.0"`+strings.Repeat(" ", 4<<20)+`}`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, sleeper)
			path := filepath.Join(b, "config.json")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path)
			// The leak checks read the bundle's config.json: a regular one again before any of them, and in the
			// cleanup too (before the sweep, registered earlier), or they would block on the FIFO or read /dev/zero.
			restore := func() {
				_ = os.RemoveAll(path)
				s := defaultSpec()
				sleeper(s)
				writeSpec(t, b, s)
			}
			t.Cleanup(restore)
			id := newID(t)
			r := rt(t, "create", "--bundle", b, id)
			restore()
			if r.Code != 1 {
				t.Errorf("create: %v, want exit 1", r)
			}
			oneLine(t, r, "config.json")
			oneLine(t, r, tc.want)
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestLowNofileLimit: with a hard RLIMIT_NOFILE of 18 or 17, create works with the fds there are (it failed at 18 and
// below: the sealed binary's handle was always dup'd above every fd the child's shuffling could touch; from a
// shell it now works at 16).
func TestLowNofileLimit(t *testing.T) {
	t.Parallel()
	// runc 1.5.3 and 1.1.5 fail on this host below about 21 fds ("too many open files" making their pipes).
	rtOnly(t, "runc needs more fds than 18 here")
	for _, n := range []int{18, 17} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) {
				s.Process.Args = []string{"true"}
				s.Process.Rlimits = nil // the config's RLIMIT_NOFILE 1024 could not be set under this hard limit
			})
			id := newID(t)
			limit := strconv.Itoa(n)
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "prlimit", "--nofile="+limit+":"+limit, "--",
				runtimeBin, "--root", stateRoot(t), "run", "--bundle", b, id)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := runTracked(cmd); err != nil {
				t.Fatalf("run under RLIMIT_NOFILE %d: %v, stderr %q", n, err, stderr.String())
			}
			mustRT(t, "delete", "--force", id)
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestRootfsRefused: a root.path that is the host's / (directly or through a symlink) is refused up front, naming
// root.path, where it used to fail late in pivot_root ("device or resource busy"); and a root.path that is a
// symlink at all is refused (rt only; runc follows it).
func TestRootfsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		link   string // root.path becomes a symlink "rootlink" in the bundle to this, when set
		path   string
		want   string
		rtOnly string
	}{
		{name: "host root", path: "/", want: "host's root"},
		{name: "symlink to host root", link: "/", want: "symlink"},
		{name: "symlink to rootfs", link: "rootfs", want: "symlink", rtOnly: "runc follows a root.path symlink"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.rtOnly != "" {
				rtOnly(t, tc.rtOnly)
			}
			// Not made by bundle(): the leak checks there (assertNoLeak, the cleanup's sweep) take a bundle's
			// root.path for the container's root and would find, and kill, every process rooted in the host's /.
			b := t.TempDir()
			if err := os.Mkdir(filepath.Join(b, "rootfs"), 0o755); err != nil {
				t.Fatal(err)
			}
			spec := defaultSpec()
			spec.Root.Path = tc.path
			if tc.link != "" {
				spec.Root.Path = "rootlink"
				if err := os.Symlink(tc.link, filepath.Join(b, "rootlink")); err != nil {
					t.Fatal(err)
				}
			}
			writeSpec(t, b, spec)
			id := newID(t)
			root := stateRoot(t)
			r := rt(t, "create", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("create: %v, want exit 1", r)
			}
			oneLine(t, r, "root.path")
			oneLine(t, r, tc.want)
			waitFor(t, "no state dir", func() bool { return !exists(filepath.Join(root, id)) })
			for _, cg := range cgroupCandidates(t, id) {
				waitFor(t, "no cgroup "+cg, func() bool { return !exists(cg) })
			}
		})
	}
}

// TestEnvWithoutEquals: a process.env entry without '=' (or with an empty name) is refused at create, naming its
// index, as runc refuses it (runc only from its init, with its own wording); exec's env is checked the same way.
func TestEnvWithoutEquals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, entry string }{{"no equals", "FOO"}, {"empty name", "=bar"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, tc.entry) })
			id := newID(t)
			r := rt(t, "create", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("create: %v, want exit 1", r)
			}
			oneLine(t, r, "process.env[2]")
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		rtOnly(t, "runc 1.1.5 passes exec's env on unchecked")
		b := bundle(t, sleeper)
		id, _ := runDetached(t, b)
		r := rt(t, "exec", "--env", "FOO", id, "true")
		if r.Code == 0 {
			t.Errorf("exec --env FOO: %v, want a failure", r)
		}
		oneLine(t, r, "process.env")
	})
}

// TestConcurrentCreateSameID: creates of one id racing each other and `list` (which loads every container): exactly
// one create wins, its state is whole, and the losers leave nothing. A `list` could once remove the directory of a
// create between its mkdir and its lock, taking it for the remains of a killed create; the state directory now
// appears under its id with state.json already in it. (runc 1.1.5 fails this: in some rounds no create wins.)
func TestConcurrentCreateSameID(t *testing.T) {
	t.Parallel()
	var version strings.Builder
	cmd := exec.Command(runtimeBin, "--version")
	cmd.Stdout = &version
	if _ = runTracked(cmd); strings.HasPrefix(version.String(), "runc version 1.1.") {
		t.Skip("runc 1.1 bug: concurrent creates of one id can all fail, or leave the winner's init and cgroup behind")
	}
	b := bundle(t, sleeper)
	for round := 0; round < 30; round++ {
		id := newID(t)
		var wg sync.WaitGroup
		results := make([]result, 8)
		for i := range results {
			wg.Add(2)
			go func() {
				defer wg.Done()
				results[i] = rt(t, "create", "--bundle", b, id)
			}()
			go func() {
				defer wg.Done()
				rt(t, "list", "-q")
			}()
		}
		wg.Wait()
		won := 0
		for _, r := range results {
			switch {
			case r.Code == 0:
				won++
			case !isRunc && !strings.Contains(r.Stderr, "already exists"): // runc: "mkdir ...: file exists"
				t.Errorf("round %d: a losing create failed otherwise: %v", round, r)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d creates of %s succeeded, want 1", round, won, id)
		}
		if s := state(t, id); s.Status != "created" || s.Pid == 0 {
			t.Errorf("round %d: the winner's state: %+v", round, s)
		}
		mustRT(t, "delete", "--force", id)
		assertNoLeak(t, stateRoot(t), id, b)
	}
}
