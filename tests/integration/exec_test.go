package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExec: exec runs a process in a running container; each flag is checked from inside with the probe.
// The container's own process has noNewPrivileges off so --no-new-privs is observable.
func TestExec(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Process.NoNewPrivileges = false
		s.Process.Env = append(s.Process.Env, "FROM_CONFIG=1")
	})
	id, _ := runDetached(t, b)
	initPid := state(t, id).Pid
	initNS := readlink(t, fmt.Sprintf("/proc/%d/ns/pid", initPid))

	processJSON := filepath.Join(env(t).base, "process.json")
	p := specs.Process{Args: []string{"/probe", "self"}, Env: []string{"PATH=/bin", "FROM_FILE=yes"}, Cwd: "/tmp",
		User: specs.User{UID: 1000, GID: 1001}}
	pj, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(processJSON, pj, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		flags []string // between exec and the id
		args  []string // after the id
		check func(t *testing.T, s Self)
	}{
		{name: "args", args: []string{"/probe", "self", "extra arg"}, check: func(t *testing.T, s Self) {
			if !slices.Equal(s.Args, []string{"/probe", "self", "extra arg"}) {
				t.Errorf("args = %q", s.Args)
			}
			if s.Pid == 1 || s.UID != 0 || s.Cwd != "/" {
				t.Errorf("pid %d uid %d cwd %q, want not 1, 0, / (the config's process)", s.Pid, s.UID, s.Cwd)
			}
			if !slices.Contains(s.Env, "FROM_CONFIG=1") {
				t.Errorf("env %q lacks the config's FROM_CONFIG=1", s.Env)
			}
			if s.Namespaces["pid"] != initNS {
				t.Errorf("pid ns %s, want the container's %s", s.Namespaces["pid"], initNS)
			}
		}},
		{name: "process.json", flags: []string{"-p", processJSON}, check: func(t *testing.T, s Self) {
			if !slices.Equal(s.Args, p.Args) || s.Cwd != "/tmp" || s.UID != 1000 || s.GID != 1001 {
				t.Errorf("args %q cwd %q uid %d gid %d, want the process.json's", s.Args, s.Cwd, s.UID, s.GID)
			}
			if !slices.Contains(s.Env, "FROM_FILE=yes") || slices.Contains(s.Env, "FROM_CONFIG=1") {
				t.Errorf("env = %q, want process.json's only", s.Env)
			}
		}},
		{name: "env", flags: []string{"-e", "FOO=bar", "-e", "BAZ=qux"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			for _, want := range []string{"FOO=bar", "BAZ=qux", "FROM_CONFIG=1"} {
				if !slices.Contains(s.Env, want) {
					t.Errorf("env %q lacks %s", s.Env, want)
				}
			}
		}},
		{name: "cwd", flags: []string{"--cwd", "/tmp"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if s.Cwd != "/tmp" {
				t.Errorf("cwd = %q, want /tmp", s.Cwd)
			}
		}},
		{name: "user uid:gid", flags: []string{"-u", "1000:1002"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if s.UID != 1000 || s.GID != 1002 {
				t.Errorf("uid %d gid %d, want 1000 1002", s.UID, s.GID)
			}
		}},
		{name: "user uid", flags: []string{"--user", "1000"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if s.UID != 1000 || s.GID != 0 {
				t.Errorf("uid %d gid %d, want 1000 0", s.UID, s.GID)
			}
		}},
		{name: "additional gids", flags: []string{"-u", "1000:1000", "-g", "10", "-g", "20"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if !slices.Contains(s.Groups, 10) || !slices.Contains(s.Groups, 20) {
				t.Errorf("groups = %v, want 10 and 20", s.Groups)
			}
		}},
		{name: "cap", flags: []string{"--cap", "CAP_NET_ADMIN"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			bit := uint64(1) << capBits["CAP_NET_ADMIN"]
			for _, set := range []string{"CapBnd", "CapPrm", "CapEff"} {
				if m, _ := strconv.ParseUint(s.Caps[set], 16, 64); m&bit == 0 {
					t.Errorf("%s = %s lacks CAP_NET_ADMIN", set, s.Caps[set])
				}
			}
		}},
		{name: "no cap by default", args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if got, want := s.Caps["CapBnd"], capMask(t, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"); got != want {
				t.Errorf("CapBnd = %s, want the config's %s", got, want)
			}
		}},
		{name: "no-new-privs", flags: []string{"--no-new-privs"}, args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if s.NoNewPrivs != 1 {
				t.Errorf("NoNewPrivs = %d, want 1", s.NoNewPrivs)
			}
		}},
		{name: "new privs by default", args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			if s.NoNewPrivs != 0 {
				t.Errorf("NoNewPrivs = %d, want 0 (the config's)", s.NoNewPrivs)
			}
		}},
		{name: "fds", args: []string{"/probe", "self"}, check: func(t *testing.T, s Self) {
			for fd := range s.Fds {
				if fd != "0" && fd != "1" && fd != "2" {
					t.Errorf("fd %s (%s) leaked into the exec'd process", fd, s.Fds[fd])
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(append([]string{"exec"}, tc.flags...), id), tc.args...)
			r := mustRT(t, args...)
			var s Self
			decode(t, r.Stdout, &s)
			tc.check(t, s)
		})
	}
}

// TestExecExitCode: exec exits with the process's status, and 255 when the exec itself fails (runc).
func TestExecExitCode(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	tests := []struct {
		name string
		args []string
		want int
	}{
		{name: "zero", args: []string{"true"}, want: 0},
		{name: "one", args: []string{"false"}, want: 1},
		{name: "seven", args: []string{"sh", "-c", "exit 7"}, want: 7},
		{name: "killed", args: []string{"sh", "-c", "kill -9 $$"}, want: 137},
		{name: "missing binary", args: []string{"/nonexistent"}, want: 255},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if r := rt(t, append([]string{"exec", id}, tc.args...)...); r.Code != tc.want {
				t.Errorf("exec %q: %v, want exit %d", tc.args, r, tc.want)
			}
		})
	}
	if got := status(t, id); got != "running" {
		t.Errorf("container after execs: %q, want running", got)
	}
}

// TestExecStdio: exec passes stdin/stdout/stderr through untouched.
func TestExecStdio(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	in := []byte("exec stdin\n\x00\xfe")
	r := rtStdin(t, in, "exec", id, "sh", "-c", "cat; echo to-stderr >&2")
	if r.Code != 0 || r.Stdout != string(in) || r.Stderr != "to-stderr\n" {
		t.Errorf("exec: %v, want stdout %q, stderr %q", r, in, "to-stderr\n")
	}
}

// TestExecDetach: exec -d returns at once, leaving the process running in the container; --pid-file has its
// host pid.
func TestExecDetach(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	pidFile := filepath.Join(env(t).base, "exec.pid")
	mustRT(t, "exec", "-d", "--pid-file", pidFile, id, "sleep", "100000")
	pid, err := strconv.Atoi(readFile(pidFile))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if !processAlive(pid) {
		t.Fatalf("exec -d process %d is not running", pid)
	}
	initPid := state(t, id).Pid
	if got, want := readlink(t, fmt.Sprintf("/proc/%d/ns/pid", pid)), readlink(t, fmt.Sprintf("/proc/%d/ns/pid", initPid)); got != want {
		t.Errorf("exec -d process in pid ns %s, want the container's %s", got, want)
	}
	r := mustRT(t, "ps", "-f", "json", id)
	var pids []int
	decode(t, r.Stdout, &pids)
	if !slices.Contains(pids, pid) || !slices.Contains(pids, initPid) {
		t.Errorf("ps = %v, want init %d and exec'd %d", pids, initPid, pid)
	}
	// The exec'd process is this subreaper's orphan: killed and reaped here, or its zombie keeps the cgroup busy
	// for `delete -f` (runc's gives up sooner than the cleanup waits).
	_ = syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the exec'd process reaped", func() bool {
		reapOrphans()
		return !exists("/proc/" + strconv.Itoa(pid))
	})
}

// TestExecNotRunning: exec in a stopped container, or an unknown one, fails without running anything.
func TestExecNotRunning(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("true"))
	id := newID(t)
	mustRT(t, "run", "--keep", "--bundle", b, id)
	for _, target := range []string{id, "nosuch-" + id} {
		r := rt(t, "exec", target, "/probe", "self")
		if r.Code == 0 || r.Stdout != "" {
			t.Errorf("exec in %s: %v, want a failure", target, r)
		}
	}
}

// TestPs: ps lists the container's processes: a table (runc runs ps(1) -ef) with a PID column holding the
// init's host pid, or with -f json the array of host pids.
func TestPs(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	pid := state(t, id).Pid
	t.Run("table", func(t *testing.T) {
		r := mustRT(t, "ps", id)
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		header := strings.Fields(lines[0])
		col := slices.Index(header, "PID")
		if col < 0 {
			t.Fatalf("ps header %q has no PID column", lines[0])
		}
		if len(lines) != 2 {
			t.Fatalf("ps: %d lines, want header + 1: %q", len(lines), r.Stdout)
		}
		if f := strings.Fields(lines[1]); len(f) <= col || f[col] != strconv.Itoa(pid) {
			t.Errorf("ps row %q, want PID %d", lines[1], pid)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := mustRT(t, "ps", "-f", "json", id)
		var pids []int
		decode(t, r.Stdout, &pids)
		if !slices.Equal(pids, []int{pid}) {
			t.Errorf("ps -f json = %v, want [%d]", pids, pid)
		}
	})
}

func readlink(t *testing.T, path string) string {
	t.Helper()
	s, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExecUserKeepsGid: `exec --user UID` without :GID keeps the container's process.user.gid, as runc does.
func TestExecUserKeepsGid(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Process.User = specs.User{UID: 0, GID: 100}
	}))
	if r := mustRT(t, "exec", "--user", "1000", id, "sh", "-c", "id -u; id -g"); r.Stdout != "1000\n100\n" {
		t.Errorf("exec --user 1000: %q, want uid 1000 and the config's gid 100", r.Stdout)
	}
}

// TestExecPaused: exec into a paused container is refused with runc's text (exit 255, as every failed exec), and
// runs nothing.
func TestExecPaused(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	mustRT(t, "pause", id)
	r := rt(t, "exec", id, "mkdir", "/dev/shm/ran")
	if r.Code == 0 || !strings.Contains(r.Stderr, "cannot exec in a paused container (use --ignore-paused to override)") {
		t.Errorf("exec into a paused container: %v, want a failure with runc's message", r)
	}
	mustRT(t, "resume", id)
	if r := rt(t, "exec", id, "test", "-e", "/dev/shm/ran"); r.Code == 0 {
		t.Errorf("the refused exec ran")
	}
}

// TestExecCap: `exec --cap` adds to the bounding, effective and permitted sets, never the inheritable one, and to
// the ambient set only when the container's process has an inheritable set (runc 1.2+; capabilities.bats "runc
// exec --cap"). Seen from inside with the probe; no_new_privs keeps root's permitted set to what was set.
func TestExecCap(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 adds --cap to the inheritable set too")
	caps := func(t *testing.T, id string, args ...string) Self {
		t.Helper()
		var s Self
		decode(t, mustRT(t, append(append([]string{"exec"}, args...), id, "/probe", "self")...).Stdout, &s)
		return s
	}
	check := func(t *testing.T, s Self, want map[string][]string) {
		t.Helper()
		for set, names := range want {
			if w := capMask(t, names...); s.Caps[set] != w {
				t.Errorf("%s = %s, want %s %v", set, s.Caps[set], w, names)
			}
		}
	}
	t.Run("no inheritable set", func(t *testing.T) {
		t.Parallel()
		id, _ := runDetached(t, bundle(t, func(s *specs.Spec) {
			s.Process.Args = []string{"sleep", "100000"}
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}))
		none := []string{}
		check(t, caps(t, id), map[string][]string{"CapInh": none, "CapPrm": none, "CapEff": none, "CapBnd": none, "CapAmb": none})
		added := []string{"CAP_KILL", "CAP_AUDIT_WRITE"}
		check(t, caps(t, id, "--cap", "CAP_KILL", "--cap", "CAP_AUDIT_WRITE"),
			map[string][]string{"CapInh": none, "CapPrm": added, "CapEff": added, "CapBnd": added, "CapAmb": none})
	})
	t.Run("inheritable set", func(t *testing.T) {
		t.Parallel()
		id, _ := runDetached(t, bundle(t, func(s *specs.Spec) {
			s.Process.Args = []string{"sleep", "100000"}
			s.Process.Capabilities = &specs.LinuxCapabilities{
				Inheritable: []string{"CAP_CHOWN", "CAP_SYSLOG"},
				Permitted:   []string{"CAP_KILL", "CAP_CHOWN"},
				Effective:   []string{"CAP_KILL"},
				Bounding:    []string{"CAP_KILL", "CAP_CHOWN", "CAP_SYSLOG"},
				Ambient:     []string{"CAP_CHOWN"},
			}
		}))
		inh, bnd := []string{"CAP_CHOWN", "CAP_SYSLOG"}, []string{"CAP_KILL", "CAP_CHOWN", "CAP_SYSLOG"}
		check(t, caps(t, id), map[string][]string{"CapInh": inh, "CapPrm": {"CAP_KILL", "CAP_CHOWN"},
			"CapEff": {"CAP_KILL", "CAP_CHOWN"}, "CapBnd": bnd, "CapAmb": {"CAP_CHOWN"}})
		check(t, caps(t, id, "--cap", "CAP_SYSLOG"), map[string][]string{"CapInh": inh, "CapPrm": bnd,
			"CapEff": bnd, "CapBnd": bnd, "CapAmb": inh})
	})
}

// TestExecBoundingCoveredCapLastCap: a container that may mount covers /proc/sys/kernel/cap_last_cap with "3"; a
// later exec still drops every capability the config leaves out of the bounding set (the exec's init runs in the
// container's procfs, so the runtime must not take the last capability from it). runc 1.5.3 passes: it probes the
// kernel with PR_CAPBSET_READ (moby/sys/capability).
func TestExecBoundingCoveredCapLastCap(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 takes the last capability from the container's procfs and keeps the rest (CapBnd 0x1fffefffff0)")
	kill := []string{"CAP_KILL"}
	capsKill := func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100000"}
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill}
	}
	for _, tc := range []struct {
		name   string
		bundle func(*testing.T, func(*specs.Spec)) string
	}{
		{"no user namespace", bundle},
		// The container's root may mount in the mount namespace its user namespace owns.
		{"user namespace", usernsBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, _ := runDetached(t, tc.bundle(t, capsKill))
			mustRT(t, "exec", "--cap", "CAP_SYS_ADMIN", id, "sh", "-c",
				"echo 3 >/dev/cap_last_cap && mount --bind /dev/cap_last_cap /proc/sys/kernel/cap_last_cap")
			if got := strings.TrimSpace(mustRT(t, "exec", id, "cat", "/proc/sys/kernel/cap_last_cap").Stdout); got != "3" {
				t.Fatalf("cap_last_cap reads %q in the container, want the cover's 3", got)
			}
			var s Self
			decode(t, mustRT(t, "exec", id, "/probe", "self").Stdout, &s)
			if w := capMask(t, kill...); s.Caps["CapBnd"] != w {
				t.Errorf("CapBnd = %s, want %s (CAP_KILL alone)", s.Caps["CapBnd"], w)
			}
		})
	}
}

// TestBoundingDropRefused: a config whose seccomp filter, loaded before the capabilities (no noNewPrivileges), answers
// PR_CAPBSET_DROP with EINVAL. rt fails the start rather than leave the capabilities it cannot drop in the
// bounding set, which a root process's execve turns into its permitted and effective sets (capabilities(7)); runc
// 1.5.3 and 1.1.5 ignore the EINVAL and run the process with them all (README "Deliberate differences"). rt at
// 3d63971 did too (CapEff 0x1fffeffffff with CAP_KILL configured).
func TestBoundingDropRefused(t *testing.T) {
	t.Parallel()
	kill := []string{"CAP_KILL"}
	einval := uint(syscall.EINVAL)
	b := bundle(t, func(s *specs.Spec) {
		s.Process.NoNewPrivileges = false
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill}
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{
				Names: []string{"prctl"}, Action: specs.ActErrno, ErrnoRet: &einval,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: syscall.PR_CAPBSET_DROP, Op: specs.OpEqualTo}},
			}},
		}
	})
	r := rt(t, "run", "--bundle", b, newID(t))
	if isRunc {
		var s Self
		decode(t, r.Stdout, &s)
		if s.Caps["CapBnd"] == capMask(t, kill...) {
			t.Errorf("runc: CapBnd = %s, the config's alone: the difference the README describes is gone", s.Caps["CapBnd"])
		}
		return
	}
	if r.Code == 0 || !strings.Contains(r.Stderr, "bounding set") || !strings.Contains(r.Stderr, "invalid argument") {
		t.Errorf("run: %v, want a failure naming the bounding set and EINVAL", r)
	}
}

// TestAmbientWarning: an ambient capability outside the inheritable set cannot be raised; the container runs
// without it and the runtime warns in runc's words ("can't raise ambient capability CAP_CHOWN: ..."), which
// capabilities.bats matches. A config refused for another reason prints its error alone.
func TestAmbientWarning(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 raises ambient capabilities silently")
	ambient := func(s *specs.Spec) {
		s.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
		s.Process.Capabilities.Ambient = []string{"CAP_KILL", "CAP_CHOWN"}
	}
	const warning = "can't raise ambient capability CAP_CHOWN: "
	r := mustRT(t, "run", "--bundle", bundle(t, ambient), newID(t))
	if !strings.Contains(r.Stderr, warning) {
		t.Errorf("stderr %q, want the warning %q", r.Stderr, warning)
	}
	var s Self
	decode(t, r.Stdout, &s)
	if w := capMask(t, "CAP_KILL"); s.Caps["CapAmb"] != w {
		t.Errorf("CapAmb = %s, want %s (CAP_KILL only)", s.Caps["CapAmb"], w)
	}
	r = rt(t, "run", "--bundle", bundle(t, func(s *specs.Spec) {
		ambient(s)
		s.Process.Cwd = "relative"
	}), newID(t))
	if r.Code == 0 || strings.Contains(r.Stderr, "ambient") {
		t.Errorf("a refused config: %v, want its error without the ambient warning", r)
	}
}

// TestExecPidFileFailureKills: an exec whose --pid-file cannot be written fails in one line and leaves nothing
// running in the container: the process it started is killed (runc's runner.terminate).
func TestExecPidFileFailureKills(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	pidFile := filepath.Join(t.TempDir(), "missing", "exec.pid")
	r := rt(t, "exec", "-d", "--pid-file", pidFile, id, "sleep", "100000")
	if r.Code == 0 || !strings.Contains(r.Stderr, "pid") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("exec with an unwritable --pid-file: %v, want a failure in one line naming it", r)
	}
	var pids []int
	decode(t, mustRT(t, "ps", "-f", "json", id).Stdout, &pids)
	if initPid := state(t, id).Pid; !slices.Equal(pids, []int{initPid}) {
		t.Errorf("ps = %v after the failed exec, want only the init %d", pids, initPid)
	}
}
