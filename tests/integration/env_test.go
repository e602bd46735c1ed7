package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// homePasswd is the container's /etc/passwd for the HOME tests: root, a named user with a home of its own, and
// uid 4242 with no entry.
const homePasswd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"

// homeBundle is a bundle whose rootfs has homePasswd, with mutate applied to its config.
func homeBundle(t *testing.T, mutate func(*specs.Spec)) string {
	t.Helper()
	b := bundle(t, mutate)
	if err := os.WriteFile(filepath.Join(b, "rootfs/etc/passwd"), []byte(homePasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDefaultHome: without HOME in process.env (Docker gives none), or with an empty one, the process gets the
// home directory of its user in the container's /etc/passwd, and "/" for a uid without an entry, as runc does.
func TestDefaultHome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		uid  uint32
		env  []string // process.env besides PATH
		want string
	}{
		{"root", 0, nil, "/root"},
		{"named user", 1000, nil, "/home/user"},
		{"unknown uid", 4242, nil, "/"},
		{"empty HOME", 1000, []string{"HOME="}, "/home/user"},
		{"HOME given", 1000, []string{"HOME=/given"}, "/given"},
		{"HOME given, then empty", 0, []string{"HOME=/given", "HOME="}, "/root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s Self
			b := homeBundle(t, func(s *specs.Spec) {
				s.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
				s.Process.Env = append([]string{"PATH=/bin"}, tc.env...)
			})
			r := rt(t, "run", "--bundle", b, newID(t))
			if r.Code != 0 {
				t.Fatalf("run: %v", r)
			}
			decode(t, r.Stdout, &s)
			if got := envValues(s.Env, "HOME"); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("HOME = %q, want [%q] (env %q)", got, tc.want, s.Env)
			}
		})
	}
}

// TestEnvDuplicates: a name given twice in process.env is passed once, with its last value, at the place of its
// last occurrence, as runc 1.5 does.
func TestEnvDuplicates(t *testing.T) {
	t.Parallel()
	var s Self
	runProbe(t, func(s *specs.Spec) {
		s.Process.Env = []string{"PATH=/bin", "A=first", "B=b", "A=second", "A=last"}
	}, &s)
	if got := envValues(s.Env, "A"); !slices.Equal(got, []string{"last"}) {
		t.Errorf("A = %q, want [last] (env %q)", got, s.Env)
	}
	if out, _ := outputTracked(exec.Command(runtimeBin, "--version")); strings.HasPrefix(string(out), "runc version 1.1.") {
		t.Skip("runc 1.1 keeps a name at its first place; the order below is runc 1.5's")
	}
	// Each name where it last occurs, then the HOME added (runc 1.5's prepareEnv order).
	if want := []string{"PATH=/bin", "B=b", "A=last", "HOME=/root"}; !slices.Equal(s.Env, want) {
		t.Errorf("env = %q, want %q", s.Env, want)
	}
}

// TestExecDefaultHome: exec and exec -u get HOME the same way as the container's process, from the user they run
// as; -e HOME and a HOME in the container's env win; -e A over the config's A leaves one A.
func TestExecDefaultHome(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, homeBundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Process.Env = []string{"PATH=/bin", "A=config"}
	}))
	withHome, _ := runDetached(t, homeBundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Process.Env = []string{"PATH=/bin", "HOME=/config"}
	}))
	tests := []struct {
		name  string
		id    string
		flags []string
		want  string
	}{
		{"exec", id, nil, "/root"},
		{"exec -u named user", id, []string{"-u", "1000"}, "/home/user"},
		{"exec -u unknown uid", id, []string{"-u", "4242:4242"}, "/"},
		{"exec -e HOME", id, []string{"-u", "1000", "-e", "HOME=/flag"}, "/flag"},
		{"exec -e HOME=", id, []string{"-u", "1000", "-e", "HOME="}, "/home/user"},
		{"HOME from the config", withHome, []string{"-u", "1000"}, "/config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"exec", "-e", "A=flag"}, tc.flags...), tc.id, "/probe", "self")
			r := rt(t, args...)
			if r.Code != 0 {
				t.Fatalf("%v: %v", args, r)
			}
			var s Self
			decode(t, r.Stdout, &s)
			if s.UID != uidOf(tc.flags) {
				t.Errorf("uid %d, want %d", s.UID, uidOf(tc.flags))
			}
			if got := envValues(s.Env, "HOME"); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("HOME = %q, want [%q] (env %q)", got, tc.want, s.Env)
			}
			if tc.id == id {
				if got := envValues(s.Env, "A"); !slices.Equal(got, []string{"flag"}) {
					t.Errorf("A = %q, want [flag] (-e over the config's)", got)
				}
			}
		})
	}
}

// envValues is every value of name in env, in order.
func envValues(env []string, name string) []string {
	var vals []string
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			vals = append(vals, v)
		}
	}
	return vals
}

// uidOf is the uid an exec's -u flag asks for, 0 without one.
func uidOf(flags []string) int {
	for i, f := range flags {
		if f == "-u" && i+1 < len(flags) {
			u, _, _ := strings.Cut(flags[i+1], ":")
			n, _ := strconv.Atoi(u)
			return n
		}
	}
	return 0
}

// TestInitRuntimeEnv: `rt init` runs with the Go runtime settings startInit gives it (one P; no memory profile
// sample at start, no per-thread profile buffers), whatever GODEBUG and GOMAXPROCS rt's caller has: each once, with
// startInit's value.
func TestInitRuntimeEnv(t *testing.T) {
	t.Parallel()
	rtOnly(t, "the settings are rt's own init's")
	id := newID(t)
	b := bundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", "100000"} })
	cmd := exec.Command(runtimeBin, "--root", env(t).root, "create", "--bundle", b, id)
	cmd.Env = append(os.Environ(), callerGoEnv...)
	// Not a pipe: the created init holds its stdio (rt's helper).
	if err := runTracked(cmd); err != nil {
		t.Fatalf("create: %v", err)
	}
	defer rt(t, "delete", "--force", id)
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(state(t, id).Pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	initEnv := strings.Split(string(environ), "\x00")
	for k, want := range map[string]string{"GOMAXPROCS": "1", "GODEBUG": "memprofilerate=0,profstackdepth=0"} {
		if got := envValues(initEnv, k); !slices.Equal(got, []string{want}) {
			t.Errorf("created init's %s = %q, want [%q] (environment %q)", k, got, want, environ)
		}
	}
}

// callerGoEnv is Go runtime settings in rt's caller's environment, which the init's own must not add to.
var callerGoEnv = []string{"GODEBUG=madvdontneed=1", "GOMAXPROCS=3"}

// TestRuntimeEnvNotPassedOn: neither the init's Go runtime settings (startInit's GODEBUG and GOMAXPROCS) nor the
// caller's reach the workload, run or exec'd, or the createContainer and startContainer hooks without env of their
// own, which get none and the process's.
func TestRuntimeEnvNotPassedOn(t *testing.T) {
	t.Parallel()
	dump := func(file string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "env > " + file}}
	}
	id := newID(t)
	b := bundle(t, func(s *specs.Spec) {
		s.Root.Readonly = false // the hooks write their environments in the rootfs
		s.Hooks = &specs.Hooks{
			CreateContainer: []specs.Hook{dump("./hookenv-create")}, // in the rootfs, before pivot_root
			StartContainer:  []specs.Hook{dump("/hookenv-start")},
		}
		s.Process.Args = []string{"sh", "-c", "cat /proc/self/environ /hookenv-create /hookenv-start; echo END; sleep 100000"}
	})
	stdout := filepath.Join(t.TempDir(), "stdout")
	run := exec.Command(runtimeBin, "--root", env(t).root, "run", "--detach", "--bundle", b, id)
	run.Env = append(os.Environ(), callerGoEnv...)
	out, err := os.Create(stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	run.Stdout, run.Stderr = out, out
	if err := runTracked(run); err != nil {
		t.Fatalf("run: %v: %s", err, readFile(stdout))
	}
	defer rt(t, "delete", "--force", id)
	exe := exec.Command(runtimeBin, "--root", env(t).root, "exec", id, "cat", "/proc/self/environ")
	exe.Env = append(os.Environ(), callerGoEnv...)
	exeOut, err := outputTracked(exe)
	if err != nil {
		t.Fatalf("exec: %v: %s", err, exeOut)
	}
	ran := waitOutput(t, stdout, "END\n")
	for what, env := range map[string]string{"run's workload and the hooks": ran, "exec's process": string(exeOut)} {
		for _, k := range []string{"GOMAXPROCS=", "GODEBUG="} {
			if strings.Contains(env, k) {
				t.Errorf("%s: environment %q has %s", what, env, k)
			}
		}
	}
}
