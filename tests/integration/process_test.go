package integration

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestProcess: each field of config.json's process (and hostname/domainname) is applied, as seen by the
// container's own init (the probe).
func TestProcess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		check  func(t *testing.T, s Self)
	}{
		{name: "args", mutate: withArgs("/probe", "self", "two words", ""), check: func(t *testing.T, s Self) {
			if !slices.Equal(s.Args, []string{"/probe", "self", "two words", ""}) {
				t.Errorf("args = %q", s.Args)
			}
		}},
		{name: "args resolved in PATH", mutate: func(s *specs.Spec) {
			s.Process.Env = []string{"PATH=/nowhere:/"}
			s.Process.Args = []string{"probe", "self"}
		}, check: func(t *testing.T, s Self) {
			if len(s.Args) != 2 || s.Args[1] != "self" {
				t.Errorf("args = %q", s.Args)
			}
		}},
		{name: "env", mutate: func(s *specs.Spec) {
			s.Process.Env = []string{"PATH=/bin", "ONE=1", "EMPTY=", "SPACES=a b  c"}
		}, check: func(t *testing.T, s Self) {
			for _, want := range []string{"PATH=/bin", "ONE=1", "EMPTY=", "SPACES=a b  c"} {
				if !slices.Contains(s.Env, want) {
					t.Errorf("env %q lacks %q", s.Env, want)
				}
			}
			if slices.ContainsFunc(s.Env, func(e string) bool { return strings.HasPrefix(e, "RT_RUNTIME=") || strings.HasPrefix(e, "GO") }) {
				t.Errorf("env %q has the runtime's own environment", s.Env)
			}
		}},
		{name: "cwd", mutate: func(s *specs.Spec) { s.Process.Cwd = "/tmp" }, check: func(t *testing.T, s Self) {
			if s.Cwd != "/tmp" {
				t.Errorf("cwd = %q, want /tmp", s.Cwd)
			}
		}},
		{name: "cwd created if missing", mutate: func(s *specs.Spec) {
			s.Root.Readonly = false
			s.Process.Cwd = "/does/not/exist"
		}, check: func(t *testing.T, s Self) {
			if s.Cwd != "/does/not/exist" {
				t.Errorf("cwd = %q, want /does/not/exist", s.Cwd)
			}
		}},
		{name: "user", mutate: func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}}
		}, check: func(t *testing.T, s Self) {
			if s.UID != 1000 || s.GID != 1001 {
				t.Errorf("uid %d gid %d, want 1000 1001", s.UID, s.GID)
			}
			if slices.Sort(s.Groups); !slices.Equal(s.Groups, []int{10, 20}) && !slices.Equal(s.Groups, []int{10, 20, 1001}) {
				t.Errorf("groups = %v, want [10 20]", s.Groups)
			}
		}},
		{name: "root has no supplementary groups", check: func(t *testing.T, s Self) {
			if s.UID != 0 || s.GID != 0 || (len(s.Groups) != 0 && !slices.Equal(s.Groups, []int{0})) {
				t.Errorf("uid %d gid %d groups %v, want 0 0 []", s.UID, s.GID, s.Groups)
			}
		}},
		{name: "umask", mutate: func(s *specs.Spec) { u := uint32(0o077); s.Process.User.Umask = &u }, check: func(t *testing.T, s Self) {
			if s.Umask != "0077" {
				t.Errorf("umask = %s, want 0077", s.Umask)
			}
		}},
		{name: "default umask", check: func(t *testing.T, s Self) {
			if s.Umask != "0022" {
				t.Errorf("umask = %s, want 0022 (runc's default)", s.Umask)
			}
		}},
		// For a non-root user without file capabilities execve(2) leaves permitted = effective = ambient
		// (capabilities(7), "Transformation of capabilities during execve()"), so all five sets are exact.
		{name: "capabilities non-root", mutate: func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			s.Process.NoNewPrivileges = false
			s.Process.Capabilities = &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"},
				Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			}
		}, check: func(t *testing.T, s Self) {
			want := map[string]string{
				"CapBnd": capMask(t, "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"),
				"CapInh": capMask(t, "CAP_KILL", "CAP_NET_BIND_SERVICE"),
				"CapAmb": capMask(t, "CAP_NET_BIND_SERVICE"),
				"CapPrm": capMask(t, "CAP_NET_BIND_SERVICE"),
				"CapEff": capMask(t, "CAP_NET_BIND_SERVICE"),
			}
			for set, w := range want {
				if s.Caps[set] != w {
					t.Errorf("%s = %s, want %s", set, s.Caps[set], w)
				}
			}
		}},
		// For root, execve(2) gives permitted = effective = bounding | inheritable (uid 0's implicit file
		// capabilities), but with no_new_privs the gain is capped at the permitted set before execve
		// (capabilities(7); security/commoncap.c), so permitted and effective come out as the config's permitted.
		{name: "capabilities root", mutate: func(s *specs.Spec) {
			s.Process.NoNewPrivileges = true
			s.Process.Capabilities = &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_CHROOT"},
				Effective:   []string{"CAP_KILL"},
				Permitted:   []string{"CAP_KILL", "CAP_CHOWN"},
				Inheritable: []string{"CAP_KILL"},
			}
		}, check: func(t *testing.T, s Self) {
			want := map[string]string{
				"CapBnd": capMask(t, "CAP_CHOWN", "CAP_KILL", "CAP_SYS_CHROOT"),
				"CapInh": capMask(t, "CAP_KILL"),
				"CapAmb": capMask(t),
				"CapPrm": capMask(t, "CAP_CHOWN", "CAP_KILL"),
				"CapEff": capMask(t, "CAP_CHOWN", "CAP_KILL"),
			}
			for set, w := range want {
				if s.Caps[set] != w {
					t.Errorf("%s = %s, want %s", set, s.Caps[set], w)
				}
			}
		}},
		{name: "no capabilities", mutate: func(s *specs.Spec) { s.Process.Capabilities = nil }, check: func(t *testing.T, s Self) {
			rtOnly(t, "without process.capabilities rt drops every capability; runc 1.5 leaves the init's")
			for _, set := range []string{"CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"} {
				if s.Caps[set] != capMask(t) {
					t.Errorf("%s = %s, want none", set, s.Caps[set])
				}
			}
		}},
		// RLIMIT_NOFILE is checked in TestRlimitNofile: Go raises its own soft limit at start-up.
		{name: "rlimits", mutate: func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{
				{Type: "RLIMIT_CORE", Soft: 1000, Hard: 2000},
				{Type: "RLIMIT_NPROC", Soft: 500, Hard: 600},
				{Type: "RLIMIT_MSGQUEUE", Soft: 4096, Hard: 8192},
			}
		}, check: func(t *testing.T, s Self) {
			want := map[string][2]uint64{"RLIMIT_CORE": {1000, 2000}, "RLIMIT_NPROC": {500, 600}, "RLIMIT_MSGQUEUE": {4096, 8192}}
			for name, w := range want {
				if s.Rlimits[name] != w {
					t.Errorf("%s = %v, want %v", name, s.Rlimits[name], w)
				}
			}
		}},
		{name: "noNewPrivileges", mutate: func(s *specs.Spec) { s.Process.NoNewPrivileges = true }, check: func(t *testing.T, s Self) {
			if s.NoNewPrivs != 1 {
				t.Errorf("NoNewPrivs = %d, want 1", s.NoNewPrivs)
			}
		}},
		{name: "new privileges allowed", mutate: func(s *specs.Spec) { s.Process.NoNewPrivileges = false }, check: func(t *testing.T, s Self) {
			if s.NoNewPrivs != 0 {
				t.Errorf("NoNewPrivs = %d, want 0", s.NoNewPrivs)
			}
		}},
		// Raising oom_score_adj needs no privilege; lowering needs CAP_SYS_RESOURCE, which this machine lacks.
		{name: "oomScoreAdj", mutate: func(s *specs.Spec) { v := 567; s.Process.OOMScoreAdj = &v }, check: func(t *testing.T, s Self) {
			if s.OOMScore != 567 {
				t.Errorf("oom_score_adj = %d, want 567", s.OOMScore)
			}
		}},
		{name: "hostname and domainname", mutate: func(s *specs.Spec) {
			s.Hostname = "box.example"
			s.Domainname = "example.org"
		}, check: func(t *testing.T, s Self) {
			if s.Hostname != "box.example" {
				t.Errorf("hostname %q, want box.example", s.Hostname)
			}
			oldRunc(t, "runc 1.1.5 ignores domainname (runc 1.2 added it)")
			if s.Domainname != "example.org" {
				t.Errorf("domainname %q, want example.org", s.Domainname)
			}
		}},
		{name: "no seccomp without a profile", check: func(t *testing.T, s Self) {
			if s.Seccomp != 0 {
				t.Errorf("seccomp mode = %d, want 0", s.Seccomp)
			}
		}},
		{name: "only stdio fds", check: func(t *testing.T, s Self) {
			for fd, target := range s.Fds {
				if fd != "0" && fd != "1" && fd != "2" {
					t.Errorf("fd %s (%s) leaked into the container", fd, target)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s Self
			runProbe(t, tc.mutate, &s)
			tc.check(t, s)
		})
	}
}

// TestRlimitNofile: RLIMIT_NOFILE is set soft and hard, read with busybox ulimit (a Go probe would see its
// soft limit raised by the Go runtime).
func TestRlimitNofile(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "ulimit -Sn; ulimit -Hn"}
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: 2000}}
	})
	r := mustRT(t, "run", "--bundle", b, newID(t))
	if r.Stdout != "1000\n2000\n" {
		t.Errorf("ulimit -Sn/-Hn = %q, want 1000 and 2000", r.Stdout)
	}
}
