package integration

import (
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
