package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSysctl: linux.sysctl entries of the container's own namespaces are written (net in its network namespace,
// ipc in its ipc namespace) and seen from inside; a sysctl that would change the host is refused naming it, and
// nothing is left behind.
func TestSysctl(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
		s.Process.Args = []string{"cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"}
	})
	id := newID(t)
	r := mustRT(t, "run", "--bundle", b, id)
	if got := strings.Fields(r.Stdout); len(got) != 2 || got[0] != "1" || got[1] != "1234" {
		t.Errorf("sysctls inside: %q, want 1 and 1234", r.Stdout)
	}

	host := bundle(t, func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} })
	id = newID(t)
	r = rt(t, "run", "--bundle", host, id)
	if r.Code != 1 {
		t.Errorf("a host sysctl: %v, want exit 1", r)
	}
	oneLine(t, r, "vm.swappiness")
	assertNoLeak(t, stateRoot(t), id, host)
}

// TestSysctlNotRedirected reproduces the CVE-2025-52881 class: a file under the container's /proc/sys has been
// replaced by a bind mount of a host file before the sysctls are written (here by a createContainer hook, which
// runs in the container's mount namespace after its mounts). The runtime must write the sysctl to the kernel, not
// through the container's /proc, so the host file stays as it was and the container's domainname is set.
func TestSysctlNotRedirected(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 writes sysctls through the container's /proc (CVE-2025-52881, fixed in runc 1.2.8)")
	decoy := filepath.Join(t.TempDir(), "decoy")
	if err := os.WriteFile(decoy, []byte("untouched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "rt-not-redirected"
	var self Self
	runProbe(t, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"kernel.domainname": want}
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{
			Path: "/bin/sh",
			Args: []string{"sh", "-c", `b=$(sed 's/.*"bundle":"\([^"]*\)".*/\1/') && mount --bind "$1" "$b/rootfs/proc/sys/kernel/domainname"`, "sh", decoy},
		}}}
		s.Process.Args = []string{"/probe", "self"}
	}, &self)
	if got := readFile(decoy); got != "untouched\n" {
		t.Errorf("the host file bound over /proc/sys/kernel/domainname now holds %q: the sysctl was written through the container's /proc", got)
	}
	if self.Domainname != want {
		t.Errorf("domainname inside: %q, want %q", self.Domainname, want)
	}
}
