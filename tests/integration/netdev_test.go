package integration

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/tests/probe/report"
)

// The host interfaces are veth pairs: this kernel has no dummy driver (`ip link add X type dummy` says "Unknown
// device type"). One end is moved; the other stays on the host, or is moved too.

// hostVeth is one veth pair made for a test, with the host end configured as a device to move would be.
type hostVeth struct {
	name, peer string
	mac        string
	mtu        string
	v4, v6     netip.Prefix // permanent, global scope: they move with the device
	v4link     netip.Prefix // permanent, link scope: it does not (runtime-spec: only RT_SCOPE_UNIVERSE)
}

// newHostVeth creates a veth pair with unique names (the test process's pid and a sequence number) and sets the
// first end's MAC address, MTU, addresses and link up. t.Cleanup deletes what is left of it on the host.
func newHostVeth(t *testing.T) hostVeth {
	t.Helper()
	n := idSeq.Add(1)
	p := os.Getpid() % 100000
	v := hostVeth{
		name:   fmt.Sprintf("rtnd%da%d", p, n),
		peer:   fmt.Sprintf("rtnd%db%d", p, n),
		mac:    fmt.Sprintf("02:72:74:%02x:%02x:%02x", p>>8&0xff, p&0xff, n&0xff),
		mtu:    "1420",
		v4:     netip.MustParsePrefix(fmt.Sprintf("10.231.%d.%d/24", n&0xff, 1+p%250)),
		v6:     netip.MustParsePrefix(fmt.Sprintf("fd72:74::%x:%x/64", p, n)),
		v4link: netip.MustParsePrefix(fmt.Sprintf("10.232.%d.%d/24", n&0xff, 1+p%250)),
	}
	t.Cleanup(func() {
		// Deleting one end deletes the pair; either may already be gone with a container's namespace.
		_ = exec.Command("ip", "link", "del", v.name).Run()
		_ = exec.Command("ip", "link", "del", v.peer).Run()
	})
	ipCmd(t, "link", "add", v.name, "type", "veth", "peer", "name", v.peer)
	ipCmd(t, "link", "set", v.name, "address", v.mac, "mtu", v.mtu)
	ipCmd(t, "addr", "add", v.v4.String(), "dev", v.name)
	ipCmd(t, "addr", "add", v.v6.String(), "dev", v.name, "nodad")
	ipCmd(t, "addr", "add", v.v4link.String(), "dev", v.name, "scope", "link")
	ipCmd(t, "link", "set", v.name, "up")
	return v
}

// ipCmd runs ip(8) on the host and fails the test if it fails.
func ipCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := outputTracked(exec.Command("ip", args...))
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// onHost reports whether the host's network namespace has an interface called name (the host's /sys belongs to
// it).
func onHost(name string) bool { return exists("/sys/class/net/" + name) }

// assertOnHost checks that v's first end is on the host as it was made: name, MTU, MAC and its addresses.
func assertOnHost(t *testing.T, v hostVeth) {
	t.Helper()
	if !onHost(v.name) {
		t.Fatalf("%s is not on the host", v.name)
	}
	if got := strings.TrimSpace(readFile("/sys/class/net/" + v.name + "/address")); got != v.mac {
		t.Errorf("%s on the host: address %q, want %q", v.name, got, v.mac)
	}
	out := ipCmd(t, "-o", "addr", "show", "dev", v.name)
	for _, a := range []netip.Prefix{v.v4, v.v6, v.v4link} {
		if !strings.Contains(out, " "+a.String()+" ") {
			t.Errorf("%s on the host lost %s: %s", v.name, a, out)
		}
	}
}

// hostUp reports whether the host interface name has IFF_UP in /sys/class/net/<name>/flags (netdevice(7)).
func hostUp(t *testing.T, name string) bool {
	t.Helper()
	flags := strings.TrimSpace(readFile("/sys/class/net/" + name + "/flags"))
	f, err := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 32)
	if err != nil {
		t.Fatalf("%s flags %q: %v", name, flags, err)
	}
	return f&syscall.IFF_UP != 0
}

// inet6Hex is an IPv6 address as /proc/net/if_inet6 prints it: 32 hex digits.
func inet6Hex(a netip.Addr) string {
	b := a.As16()
	return fmt.Sprintf("%x", b[:])
}

// execOut runs `exec id args...` in the container and returns its stdout.
func execOut(t *testing.T, id string, args ...string) string {
	t.Helper()
	return mustRT(t, append([]string{"exec", id}, args...)...).Stdout
}

// netnsHolder starts a process in a new network namespace, for a container to join by path, and returns the
// path. Killing it at cleanup ends the namespace (and the virtual devices still in it).
func netnsHolder(t *testing.T) (path string, pid int) {
	t.Helper()
	cmd := exec.Command("/bin/busybox", "sleep", "100000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := startTracked(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = waitTracked(cmd)
	})
	return fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid), cmd.Process.Pid
}

// nsIP runs ip(8) in the network namespace at path and fails the test if it fails.
func nsIP(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := outputTracked(exec.Command("nsenter", append([]string{"--net=" + path, "ip"}, args...)...))
	if err != nil {
		t.Fatalf("ip %s in %s: %v: %s", strings.Join(args, " "), path, err, out)
	}
	return string(out)
}

// nsLinks lists the interface names of the network namespace at path, sorted. `ip -o link` prints one
// "INDEX: NAME[@PEER]: <FLAGS> ..." line per interface.
func nsLinks(t *testing.T, path string) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(nsIP(t, path, "-o", "link", "show")), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("ip -o link: unexpected line %q", line)
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// TestNetDevices moves host interfaces into containers (runtime-spec v1.3 config-linux.md "Network Devices").
// rt only: runc 1.1.5 has no linux.netDevices, and runc 1.5's differs (runcNetDevices) and ignores the field (the device stays on the host).
func TestNetDevices(t *testing.T) {
	cases := []struct {
		name   string
		rename string // linux.netDevices[host].name
		want   string // the name in the container
		joined bool   // join a network namespace made beforehand, instead of a new one
		userns bool   // with a new user namespace too, which owns the new network namespace
	}{
		{name: "keeps its name", want: ""},
		{name: "renamed", rename: "ctr0", want: "ctr0"},
		{name: "renamed from a template", rename: "net%d", want: "net0"},
		{name: "joined namespace", rename: "ctr1", want: "ctr1", joined: true},
		{name: "user namespace", rename: "ctr2", want: "ctr2", userns: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rtOnly(t, runcNetDevices)
			v := newHostVeth(t)
			want := tc.want
			if want == "" {
				want = v.name
			}
			var nsPath string
			var holder int
			if tc.joined {
				nsPath, holder = netnsHolder(t)
			}
			mkBundle := bundle
			if tc.userns {
				mkBundle = usernsBundle
			}
			b := mkBundle(t, func(s *specs.Spec) {
				sleeper(s)
				s.Linux.NetDevices = map[string]specs.LinuxNetDevice{v.name: {Name: tc.rename}}
				for i := range s.Linux.Namespaces {
					if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
						s.Linux.Namespaces[i].Path = nsPath
					}
				}
			})
			id, _ := runDetached(t, b)

			if onHost(v.name) {
				t.Errorf("%s is still on the host", v.name)
			}
			var ifs []report.Iface
			decode(t, execOut(t, id, "/probe", "net"), &ifs)
			found := false
			for _, i := range ifs {
				if i.Name == v.name && want != v.name {
					t.Errorf("the container has the host name %s too: %+v", v.name, ifs)
				}
				if i.Name == want {
					found = true
					if !i.Up {
						t.Errorf("%s is down in the container (runtime-spec: MUST set it up)", want)
					}
				}
			}
			if !found {
				t.Fatalf("no %s in the container: %+v", want, ifs)
			}
			// The kernel keeps the link attributes across the move.
			sys := "/sys/class/net/" + want
			if got := strings.TrimSpace(execOut(t, id, "cat", sys+"/address")); got != v.mac {
				t.Errorf("MAC in the container %q, want %q", got, v.mac)
			}
			if got := strings.TrimSpace(execOut(t, id, "cat", sys+"/mtu")); got != v.mtu {
				t.Errorf("MTU in the container %q, want %s", got, v.mtu)
			}
			// rt puts back the permanent global addresses, and only those.
			inet6 := execOut(t, id, "cat", "/proc/net/if_inet6")
			if !strings.Contains(inet6, inet6Hex(v.v6.Addr())) {
				t.Errorf("no %s in the container's /proc/net/if_inet6:\n%s", v.v6, inet6)
			}
			fib := execOut(t, id, "cat", "/proc/net/fib_trie")
			if !strings.Contains(fib, v.v4.Addr().String()) {
				t.Errorf("no %s in the container's /proc/net/fib_trie:\n%s", v.v4, fib)
			}
			if strings.Contains(fib, v.v4link.Addr().String()) {
				t.Errorf("the link-scope %s moved too:\n%s", v.v4link, fib)
			}

			mustRT(t, "delete", "--force", id)
			// Nothing moves it back (runtime-spec: the runtime "MUST NOT attempt to move the interface out of the
			// namespace before deletion"; runc 1.3+ does not): a new namespace dies with the container and the
			// kernel destroys the virtual device in it, with its peer; a joined one keeps it.
			if tc.joined {
				out, err := outputTracked(exec.Command("nsenter", "--net="+nsPath, "ip", "-o", "link", "show", "dev", want))
				if err != nil {
					t.Errorf("%s is not in the joined namespace (holder %d) after delete: %v: %s", want, holder, err, out)
				}
				if onHost(v.name) || onHost(want) {
					t.Errorf("%s was moved back to the host", v.name)
				}
				return
			}
			// The namespace is cleaned up by a kernel worker after the last process has gone: poll.
			waitFor(t, "the veth pair to go with the container's namespace", func() bool {
				return !onHost(v.name) && !onHost(v.peer) && !onHost(want)
			})
		})
	}
}

// TestNetDevicesRefused: a config rt must refuse exits 1 naming the entry, leaves nothing behind, and leaves the
// host's interfaces as they were (names, addresses, link attributes).
func TestNetDevicesRefused(t *testing.T) {
	cases := []struct {
		name string
		// devs builds linux.netDevices from the pair: v.name and v.peer are both host interfaces.
		devs   func(v hostVeth) map[string]specs.LinuxNetDevice
		mutate func(s *specs.Spec)
		// nsHas, when set, makes the container join a network namespace that has this veth pair beforehand, and
		// which must have only it (and lo) after the failed create.
		nsHas func(v hostVeth) [2]string
		want  func(v hostVeth) string // in the one-line error
	}{
		{
			name: "missing host device",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {}, "rtndmissing0": {}}
			},
			want: func(hostVeth) string {
				return `linux.netDevices["rtndmissing0"]: no interface "rtndmissing0" on the host`
			},
		},
		{
			name: "host network namespace",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice { return map[string]specs.LinuxNetDevice{v.name: {}} },
			mutate: func(s *specs.Spec) {
				var ns []specs.LinuxNamespace
				for _, n := range s.Linux.Namespaces {
					if n.Type != specs.NetworkNamespace {
						ns = append(ns, n)
					}
				}
				s.Linux.Namespaces = ns
			},
			want: func(v hostVeth) string {
				return fmt.Sprintf("linux.netDevices[%q]: the container has no network namespace of its own", v.name)
			},
		},
		{
			name: "host network namespace by path",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice { return map[string]specs.LinuxNetDevice{v.name: {}} },
			mutate: func(s *specs.Spec) {
				for i := range s.Linux.Namespaces {
					if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
						s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
					}
				}
			},
			want: func(v hostVeth) string { return "is the host's network namespace" },
		},
		{
			name: "duplicate container names",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {Name: "ctr0"}, v.peer: {Name: "ctr0"}}
			},
			want: func(v hostVeth) string {
				return fmt.Sprintf("linux.netDevices[%q]: container name \"ctr0\" is also the container name of linux.netDevices[%q]", v.peer, v.name)
			},
		},
		{
			name: "host name kept by one, given to another",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {}, v.peer: {Name: v.name}}
			},
			want: func(v hostVeth) string { return fmt.Sprintf("linux.netDevices[%q]: container name %q", v.peer, v.name) },
		},
		{
			name: "invalid container name",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {Name: "eth0/x"}}
			},
			want: func(v hostVeth) string { return fmt.Sprintf("linux.netDevices[%q].name", v.name) },
		},
		{
			// Every network namespace has its lo: the rename would fail after the move.
			name: "container name lo",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {Name: "lo"}}
			},
			want: func(v hostVeth) string {
				return fmt.Sprintf(`linux.netDevices[%q]: container name "lo" is the loopback device of every network namespace`, v.name)
			},
		},
		{
			// The first device (sorted by host name) has moved when the second one's rename fails in the joined
			// namespace, which has a device of that name: the kernel moved the second one under its host name
			// first. Create fails and puts both back as they were.
			name: "second rename fails in a joined namespace",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {Name: "ctr0"}, v.peer: {Name: "ctr9"}}
			},
			nsHas: func(hostVeth) [2]string { return [2]string{"ctr9", "ctr9p"} },
			want: func(v hostVeth) string {
				return fmt.Sprintf(`linux.netDevices[%q]: move into the container's network namespace as "ctr9": RTM_NEWLINK: sendto: file exists`, v.peer)
			},
		},
		{
			// The joined namespace has both the second device's host name and its container name: the kernel
			// refuses the move itself. The first one comes back; the namespace keeps its own devices, the one
			// called after the host device included.
			name: "second move refused by a joined namespace",
			devs: func(v hostVeth) map[string]specs.LinuxNetDevice {
				return map[string]specs.LinuxNetDevice{v.name: {Name: "ctr0"}, v.peer: {Name: "ctr9"}}
			},
			nsHas: func(v hostVeth) [2]string { return [2]string{v.peer, "ctr9"} },
			want: func(v hostVeth) string {
				return fmt.Sprintf(`linux.netDevices[%q]: move into the container's network namespace as "ctr9": RTM_NEWLINK: sendto: file exists`, v.peer)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rtOnly(t, runcNetDevices)
			v := newHostVeth(t)
			var nsPath string
			var nsWant []string
			if tc.nsHas != nil {
				nsPath, _ = netnsHolder(t)
				has := tc.nsHas(v)
				nsIP(t, nsPath, "link", "add", has[0], "type", "veth", "peer", "name", has[1])
				nsWant = []string{has[0], has[1], "lo"}
				sort.Strings(nsWant)
			}
			b := bundle(t, func(s *specs.Spec) {
				s.Linux.NetDevices = tc.devs(v)
				if tc.mutate != nil {
					tc.mutate(s)
				}
				if nsPath != "" {
					for i := range s.Linux.Namespaces {
						if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
							s.Linux.Namespaces[i].Path = nsPath
						}
					}
				}
			})
			id := newID(t)
			r := rt(t, "create", "--bundle", b, id)
			if r.Code != 1 {
				t.Fatalf("create: %v, want exit 1", r)
			}
			oneLine(t, r, tc.want(v))
			assertNoLeak(t, stateRoot(t), id, b)
			assertOnHost(t, v)
			if !onHost(v.peer) {
				t.Errorf("%s is not on the host", v.peer)
			}
			if got := strings.TrimSpace(readFile("/sys/class/net/" + v.name + "/mtu")); got != v.mtu {
				t.Errorf("%s on the host: MTU %q, want %s", v.name, got, v.mtu)
			}
			if !hostUp(t, v.name) {
				t.Errorf("%s on the host is down", v.name)
			}
			if nsPath != "" {
				if got := nsLinks(t, nsPath); strings.Join(got, " ") != strings.Join(nsWant, " ") {
					t.Errorf("the joined namespace has %v after the failed create, want %v", got, nsWant)
				}
			}
		})
	}
}

// runcNetDevices is why the netDevices tests are rt's only: runc 1.1.5 has no linux.netDevices, and runc 1.5.3
// neither keeps a moved device's addresses on this host nor refuses these configs before it moves a device.
const runcNetDevices = "runc 1.1.5 has no linux.netDevices; runc 1.5 keeps no addresses here and refuses late"
