package integration

import (
	"fmt"
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNamespaces: the container's init is pid 1 and has its own namespace of each type the config asks for;
// those it does not ask for are the host's.
func TestNamespaces(t *testing.T) {
	t.Parallel()
	host := map[string]string{}
	for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "uts", "user"} {
		host[ns] = readlink(t, "/proc/self/ns/"+ns)
	}
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		own    []string // namespaces that must differ from the host's
		shared []string // namespaces that must be the host's
	}{
		{name: "default", own: []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"}, shared: []string{"user"}},
		{name: "no network namespace", mutate: func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}
			s.Hostname = "" // a hostname needs a private UTS namespace (runtime-spec config.md, hostname)
		}, own: []string{"mnt", "pid"}, shared: []string{"net", "ipc", "uts", "user"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s Self
			runProbe(t, tc.mutate, &s)
			if s.Pid != 1 {
				t.Errorf("pid = %d, want 1", s.Pid)
			}
			for _, ns := range tc.own {
				if s.Namespaces[ns] == "" || s.Namespaces[ns] == host[ns] {
					t.Errorf("%s namespace %q, want its own (host %s)", ns, s.Namespaces[ns], host[ns])
				}
			}
			for _, ns := range tc.shared {
				if s.Namespaces[ns] != host[ns] {
					t.Errorf("%s namespace %q, want the host's %s", ns, s.Namespaces[ns], host[ns])
				}
			}
		})
	}
}

// TestNetworkLoopback: a new network namespace has only lo, and it is up with no flag but those of a fresh lo
// brought up (runc brings lo up; rt sets the flags without reading them first).
func TestNetworkLoopback(t *testing.T) {
	t.Parallel()
	var ifs []Iface
	runProbe(t, withArgs("/probe", "net"), &ifs)
	if len(ifs) != 1 || ifs[0].Name != "lo" || !ifs[0].Up || ifs[0].Flags != "up|loopback|running" {
		t.Errorf("interfaces %+v, want only lo, flags up|loopback|running", ifs)
	}
}

// TestJoinedNetworkLoopbackUntouched: a network namespace joined by path is not the container's to set up: its lo,
// down there, stays down (runc brings lo up only in a namespace it creates).
func TestJoinedNetworkLoopbackUntouched(t *testing.T) {
	t.Parallel()
	path, _ := netnsHolder(t)
	var ifs []Iface
	runProbe(t, func(s *specs.Spec) {
		s.Process.Args = []string{"/probe", "net"}
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = path
			}
		}
	}, &ifs)
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Up {
		t.Errorf("interfaces %+v, want only lo, down as the joined namespace has it", ifs)
	}
}

// TestJoinNamespace: a namespace with a path is joined, not created: here another container's network and uts
// namespaces, through /proc/PID/ns.
func TestJoinNamespace(t *testing.T) {
	t.Parallel()
	first, _ := runDetached(t, bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Hostname = "first"
	}))
	pid := state(t, first).Pid
	var s Self
	runProbe(t, func(s *specs.Spec) {
		s.Hostname = ""
		for i, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case specs.NetworkNamespace:
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/net", pid)
			case specs.UTSNamespace:
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/uts", pid)
			}
		}
	}, &s)
	for _, ns := range []string{"net", "uts"} {
		if want := readlink(t, fmt.Sprintf("/proc/%d/ns/%s", pid, ns)); s.Namespaces[ns] != want {
			t.Errorf("%s namespace %s, want the first container's %s", ns, s.Namespaces[ns], want)
		}
	}
	if s.Hostname != "first" {
		t.Errorf("hostname %q, want the first container's \"first\"", s.Hostname)
	}
	if s.Namespaces["pid"] == readlink(t, fmt.Sprintf("/proc/%d/ns/pid", pid)) {
		t.Errorf("pid namespace shared with the first container; only net and uts were asked for")
	}
}

// TestHostUnchanged: what a container sets in its own namespaces (hostname) does not reach the host.
func TestHostUnchanged(t *testing.T) {
	t.Parallel()
	before, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	var s Self
	runProbe(t, func(s *specs.Spec) { s.Hostname = "inside" }, &s)
	if s.Hostname != "inside" {
		t.Errorf("container hostname %q, want inside", s.Hostname)
	}
	if after, _ := os.Hostname(); after != before {
		t.Errorf("host hostname changed from %q to %q", before, after)
	}
}
