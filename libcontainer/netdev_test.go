package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/rtnetlink"
)

func TestCheckIfName(t *testing.T) {
	cases := []struct {
		name     string
		ifname   string
		template bool
		ok       bool
	}{
		{name: "plain", ifname: "eth0", ok: true},
		{name: "one byte", ifname: "a", ok: true},
		{name: "15 bytes", ifname: strings.Repeat("a", unix.IFNAMSIZ-1), ok: true},
		{name: "16 bytes (runc accepts, the kernel does not)", ifname: strings.Repeat("a", unix.IFNAMSIZ)},
		{name: "empty", ifname: ""},
		{name: "dot", ifname: "."},
		{name: "dot dot", ifname: ".."},
		{name: "slash", ifname: "dev/null"},
		{name: "colon", ifname: "eth0:1"},
		{name: "space", ifname: "a b"},
		{name: "tab", ifname: "a\tb"},
		{name: "newline", ifname: "a\n"},
		{name: "dots inside", ifname: "eth0.100", ok: true},
		{name: "template", ifname: "eth%d", template: true, ok: true},
		{name: "template in the middle", ifname: "e%dx", template: true, ok: true},
		{name: "template where none is allowed", ifname: "eth%d"},
		{name: "percent not d", ifname: "eth%s", template: true},
		{name: "two templates", ifname: "a%d%d", template: true},
		{name: "lone percent", ifname: "eth%", template: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkIfName(tc.ifname, tc.template)
			if tc.ok && err != nil {
				t.Fatalf("checkIfName(%q): %v", tc.ifname, err)
			}
			if !tc.ok && !errors.Is(err, errIfName) {
				t.Fatalf("checkIfName(%q) = %v, want errIfName", tc.ifname, err)
			}
		})
	}
}

// TestValidateNetDevices covers the checks that need no host interface; the host lookups (a missing device) are
// in the integration test TestNetDevicesRefused.
func TestValidateNetDevices(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "otherns")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(dir, "hostns")
	if err := os.WriteFile(host, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := hostNetNSPath
	hostNetNSPath = host
	t.Cleanup(func() { hostNetNSPath = old })

	newNet := []specs.LinuxNamespace{{Type: specs.NetworkNamespace}}
	cases := []struct {
		name string
		devs map[string]specs.LinuxNetDevice
		ns   []specs.LinuxNamespace
		want string // "" for no error before the host lookups
	}{
		{name: "none", devs: nil, ns: nil},
		{name: "bad host name", devs: map[string]specs.LinuxNetDevice{"eth/0": {}}, ns: newNet, want: `linux.netDevices["eth/0"]: host interface`},
		{name: "loopback", devs: map[string]specs.LinuxNetDevice{"lo": {Name: "lo1"}}, ns: newNet, want: `linux.netDevices["lo"]: the loopback device cannot leave`},
		{
			name: "container name lo", devs: map[string]specs.LinuxNetDevice{"veth0": {Name: "lo"}}, ns: newNet,
			want: `linux.netDevices["veth0"]: container name "lo" is the loopback device of every network namespace`,
		},
		{name: "template host name", devs: map[string]specs.LinuxNetDevice{"eth%d": {}}, ns: newNet, want: `linux.netDevices["eth%d"]: host interface`},
		{name: "bad container name", devs: map[string]specs.LinuxNetDevice{"eth0": {Name: "a:b"}}, ns: newNet, want: `linux.netDevices["eth0"].name: "a:b"`},
		{name: "long container name", devs: map[string]specs.LinuxNetDevice{"eth0": {Name: strings.Repeat("x", 16)}}, ns: newNet, want: `linux.netDevices["eth0"].name`},
		{
			name: "duplicate container names", ns: newNet,
			devs: map[string]specs.LinuxNetDevice{"eth0": {Name: "c0"}, "eth1": {Name: "c0"}},
			want: `linux.netDevices["eth1"]: container name "c0" is also the container name of linux.netDevices["eth0"]`,
		},
		{
			name: "a kept host name given to another", ns: newNet,
			devs: map[string]specs.LinuxNetDevice{"eth0": {}, "eth1": {Name: "eth0"}},
			want: `linux.netDevices["eth1"]: container name "eth0"`,
		},
		{name: "no network namespace", devs: map[string]specs.LinuxNetDevice{"eth0": {}}, ns: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}, want: `linux.netDevices["eth0"]: the container has no network namespace`},
		{
			name: "host network namespace by path", devs: map[string]specs.LinuxNetDevice{"eth0": {}},
			ns: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: host}}, want: `linux.namespaces[1].path "` + host + `" is the host's`,
		},
		{
			name: "unreadable namespace path", devs: map[string]specs.LinuxNetDevice{"eth0": {}},
			ns: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: filepath.Join(dir, "nope")}}, want: `linux.namespaces[0].path: stat`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Linux: &specs.Linux{NetDevices: tc.devs, Namespaces: tc.ns}}
			err := validateNetDevices(spec)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("validateNetDevices: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validateNetDevices = %v, want ErrConfig naming %q", err, tc.want)
			}
		})
	}

	// Past the name and namespace checks only the host lookups are left: a joined namespace that is not the
	// host's passes them, up to the missing device.
	t.Run("joined namespace, missing device", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root: the rootless refusal comes first")
		}
		spec := &specs.Spec{Linux: &specs.Linux{
			NetDevices: map[string]specs.LinuxNetDevice{"rtnounitif0": {}},
			Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: other}},
		}}
		err := validateNetDevices(spec)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `linux.netDevices["rtnounitif0"]: no interface "rtnounitif0" on the host`) {
			t.Fatalf("validateNetDevices = %v", err)
		}
	})
}

// newNetNS makes a network namespace held only by the returned file and the sockets made in it: once they are
// closed the kernel ends it and destroys the virtual devices in it. One locked thread unshares (a network namespace
// is per thread, unshare(2)) and returns to its own; if it cannot, it stays locked and Go ends it.
func newNetNS(t *testing.T) *os.File {
	t.Helper()
	var ns *os.File
	err := rtnetlink.InNetNS(func() error {
		return os.NewSyscallError("unshare", unix.Unshare(unix.CLONE_NEWNET))
	}, func() (release func(), err error) {
		ns, err = os.Open("/proc/thread-self/ns/net")
		return func() {
			if ns != nil {
				ns.Close()
			}
		}, err
	})
	if err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// ipIn runs ip(8) in the network namespace ns (nsenter(1) enters it through the inherited fd 3), or on the host
// when ns is nil.
func ipIn(t *testing.T, ns *os.File, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", args...)
	if ns != nil {
		cmd = exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", "ip"}, args...)...)
		cmd.ExtraFiles = []*os.File{ns}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, out)
	}
}

// linkNames lists the interfaces of s's namespace, sorted (an RTM_GETLINK dump).
func linkNames(t *testing.T, s *rtnetlink.Conn) []string {
	t.Helper()
	links, err := s.Links()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	sort.Strings(names)
	return names
}

// TestNetDevMoveFailed moves a host veth end into a namespace that already has the container name, alone or with
// the host name too. The kernel moves the device under its host name and fails the rename, or, when the host name
// is taken as well, refuses the move itself (__dev_change_net_namespace); in both cases the request says EEXIST.
// Move must record the device for Restore in the first case only: in the second the namespace's own device called
// after the host one must be neither recorded nor taken to the host by Restore.
func TestNetDevMoveFailed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes interfaces and a network namespace")
	}
	const target, other = "ctr9", "ctr9p"
	cases := []struct {
		name  string
		nsHas func(hostName string) [2]string // a veth pair the namespace has before the move; it keeps it
		moved bool                            // the device left the host, and Restore must bring it back
	}{
		{
			name:  "container name taken: moved, the rename fails",
			nsHas: func(string) [2]string { return [2]string{target, other} },
			moved: true,
		},
		{
			name:  "container and host names taken: the move fails",
			nsHas: func(hostName string) [2]string { return [2]string{hostName, target} },
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hostName := fmt.Sprintf("rtu%da%d", os.Getpid()%100000, i)
			peer := fmt.Sprintf("rtu%db%d", os.Getpid()%100000, i)
			// Deleting either end deletes the pair, wherever the other end is; run last, after the namespace is
			// closed (t.Cleanup is LIFO).
			t.Cleanup(func() {
				_ = exec.Command("ip", "link", "del", hostName).Run()
				_ = exec.Command("ip", "link", "del", peer).Run()
			})
			ipIn(t, nil, "link", "add", hostName, "type", "veth", "peer", "name", peer)
			ipIn(t, nil, "link", "set", hostName, "up")
			ns := newNetNS(t)
			has := tc.nsHas(hostName)
			ipIn(t, ns, "link", "add", has[0], "type", "veth", "peer", "name", has[1])
			wantNS := []string{has[0], has[1], "lo"}
			sort.Strings(wantNS)

			host, err := rtnetlink.Dial()
			if err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			ctr, err := rtnetlink.DialIn(ns)
			if err != nil {
				t.Fatal(err)
			}
			defer ctr.Close()
			before, err := host.LinkByName(hostName)
			if err != nil {
				t.Fatal(err)
			}

			m := &netDevMove{devs: map[string]specs.LinuxNetDevice{hostName: {Name: target}}, netns: ns}
			err = m.move(host, ctr, hostName)
			if !errors.Is(err, unix.EEXIST) {
				t.Fatalf("move = %v, want EEXIST", err)
			}
			if tc.moved != (len(m.moved) == 1) || len(m.moved) > 1 {
				t.Fatalf("recorded for Restore: %+v, want the device recorded: %v", m.moved, tc.moved)
			}
			_, gone := host.LinkByName(hostName)
			if tc.moved != errors.Is(gone, unix.ENODEV) {
				t.Fatalf("after the move, the host lookup of %s says %v, want it moved: %v", hostName, gone, tc.moved)
			}

			m.Restore()
			l, err := host.LinkByName(hostName)
			if err != nil {
				t.Fatalf("%s is not on the host after Restore: %v", hostName, err)
			}
			if !tc.moved && l.Index != before.Index {
				t.Errorf("%s on the host: index %d, want %d", hostName, l.Index, before.Index)
			}
			if l.Flags&unix.IFF_UP == 0 {
				t.Errorf("%s on the host is down after Restore", hostName)
			}
			if got := linkNames(t, ctr); strings.Join(got, " ") != strings.Join(wantNS, " ") {
				t.Errorf("the namespace has %v after Restore, want %v", got, wantNS)
			}
		})
	}
}
