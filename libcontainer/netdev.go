package libcontainer

// linux.netDevices (runtime-spec v1.3 config-linux.md "Network Devices"): each host interface named by a key of the
// map is moved into the container's network namespace, renamed to its "name" when one is given, with its
// permanent global addresses put back and its link set up. rt does it from the parent, over rtnetlink, once the
// init's namespaces exist and before the init gets its config (Create, between awaitPid and sendConfig), as runc 1.3+ does from its
// parent (libcontainer/network_linux.go devChangeNetNamespace).
//
// What the kernel keeps across the move, and what it does not (net/core/dev.c __dev_change_net_namespace): the
// MTU, the MAC address and the other link attributes stay; the device is closed (down) and its addresses are
// flushed. So the addresses are read before the move and added again after it, and the link is set up.
//
// Nothing moves the devices back on `delete`: runtime-spec says the runtime "MUST NOT attempt to move the interface
// out of the namespace before deletion", and runc 1.3+ does not. When the namespace dies with the container the
// kernel moves physical devices back to the initial namespace (under their container name) and destroys virtual
// ones (dummy, veth, ...; net/core/dev.c default_device_exit_net); a joined namespace keeps them. Only a create
// that fails after the move puts them back where they were, so a failed create leaves the host as it found it.

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/internal/rtnetlink"
)

// hostNetNSPath is the network namespace rt itself runs in, the "host" of linux.netDevices; a variable so that unit
// tests can point it elsewhere.
var hostNetNSPath = "/proc/self/ns/net"

// netDevField is the JSON path of one linux.netDevices entry.
func netDevField(hostName string) string {
	return fmt.Sprintf("linux.netDevices[%q]", hostName)
}

// netDevNames returns the keys of linux.netDevices sorted, so that validation reports the same entry first and
// the devices move in the same order, whatever the map order.
func netDevNames(devs map[string]specs.LinuxNetDevice) []string {
	names := make([]string, 0, len(devs))
	for name := range devs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// containerName is the name the device hostName gets in the container: its "name", else its host name.
func containerName(hostName string, dev specs.LinuxNetDevice) string {
	if dev.Name != "" {
		return dev.Name
	}
	return hostName
}

// errIfName is the class of every invalid interface name.
var errIfName = errors.New("not a valid interface name")

// checkIfName applies the kernel's dev_valid_name (net/core/dev.c): 1 to IFNAMSIZ-1 bytes, not "." or "..", no
// '/', ':' or white space. template allows one "%d", which the kernel replaces with the lowest free number
// (runtime-spec: "unless the user has provided a template by appending %d"); __dev_alloc_name takes no other '%'.
//
// runc's devValidName accepts a name of IFNAMSIZ bytes; the kernel refuses it (its strnlen(name, IFNAMSIZ) ==
// IFNAMSIZ test), so rt refuses it before anything is done.
func checkIfName(name string, template bool) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name: %w", errIfName)
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Errorf("%q is longer than %d bytes: %w", name, unix.IFNAMSIZ-1, errIfName)
	case name == "." || name == "..":
		return fmt.Errorf("%q: %w", name, errIfName)
	case strings.ContainsAny(name, "/: \t\n\v\f\r"):
		return fmt.Errorf("%q has a '/', ':' or white space: %w", name, errIfName)
	}
	if i := strings.IndexByte(name, '%'); i >= 0 {
		if !template {
			return fmt.Errorf("%q has a '%%': %w", name, errIfName)
		}
		if !strings.HasPrefix(name[i:], "%d") || strings.IndexByte(name[i+2:], '%') >= 0 {
			return fmt.Errorf("%q: a template takes one %%d and no other '%%': %w", name, errIfName)
		}
	}
	return nil
}

// validateNetDevices checks linux.netDevices before anything is created, each error naming the entry: the names,
// that no two devices get one container name, that the container has a network namespace that is not the host's,
// that rt runs as root, and that every host device exists (so a typo leaves the host untouched).
//
// The namespace rule is runc's (libcontainer/configs/validate netdevices): a "network" entry in linux.namespaces,
// new or joined by path (Kubernetes moves devices into the pod's namespace, which the container joins); rt also
// refuses a path that is its own namespace, where the "move" would only rename a host interface.
func validateNetDevices(spec *specs.Spec) error {
	l := spec.Linux
	if l == nil || len(l.NetDevices) == 0 {
		return nil
	}
	names := netDevNames(l.NetDevices)
	owner := map[string]string{} // container name -> host name
	for _, hostName := range names {
		field := netDevField(hostName)
		if err := checkIfName(hostName, false); err != nil {
			return fieldError(field, "host interface: %v", err)
		}
		if hostName == "lo" {
			// The loopback device is NETIF_F_NETNS_LOCAL (drivers/net/loopback.c): the move would fail with EINVAL.
			return fieldError(field, "the loopback device cannot leave its network namespace")
		}
		dev := l.NetDevices[hostName]
		if dev.Name != "" {
			if err := checkIfName(dev.Name, true); err != nil {
				return fieldError(field+".name", "%v", err)
			}
		}
		name := containerName(hostName, dev)
		if name == "lo" {
			// Every network namespace has its lo (net/core/net_namespace.c sets up loopback_net_ops first), so the
			// rename after the move would fail with EEXIST half-way through the create.
			return fieldError(field, "container name %q is the loopback device of every network namespace", name)
		}
		if strings.Contains(name, "%") {
			continue // the kernel picks a free name
		}
		if other, ok := owner[name]; ok {
			return fieldError(field, "container name %q is also the container name of %s", name, netDevField(other))
		}
		owner[name] = hostName
	}
	first := netDevField(names[0])
	i, ns, ok := netNamespace(l)
	if !ok {
		return fieldError(first, "the container has no network namespace of its own: linux.namespaces has no %q entry", specs.NetworkNamespace)
	}
	if ns.Path != "" {
		host, err := procfs.SameNamespace(ns.Path, hostNetNSPath)
		if err != nil {
			return fieldError(first, "linux.namespaces[%d].path: %v", i, err)
		}
		if host {
			return fieldError(first, "linux.namespaces[%d].path %q is the host's network namespace", i, ns.Path)
		}
	}
	if os.Geteuid() != 0 {
		// runc refuses network devices for rootless containers too: moving a host interface needs CAP_NET_ADMIN in
		// the host's network namespace.
		return fieldError(first, "moving a host interface needs root")
	}
	s, err := rtnetlink.Dial()
	if err != nil {
		return err
	}
	defer s.Close()
	for _, hostName := range names {
		if _, err := s.LinkByName(hostName); err != nil {
			if errors.Is(err, unix.ENODEV) {
				return fieldError(netDevField(hostName), "no interface %q on the host", hostName)
			}
			return fmt.Errorf("%s: %w", netDevField(hostName), err)
		}
	}
	return nil
}

// netNamespace finds the network namespace entry of linux.namespaces and its index.
func netNamespace(l *specs.Linux) (int, specs.LinuxNamespace, bool) {
	for i, ns := range l.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return i, ns, true
		}
	}
	return 0, specs.LinuxNamespace{}, false
}

// netDevMove is the linux.netDevices of one create: Move (Create, between awaitPid and sendConfig) moves them into the init's network
// namespace, Restore puts back those it moved when the create fails, Close drops the namespace handle.
type netDevMove struct {
	devs  map[string]specs.LinuxNetDevice
	netns *os.File // the container's network namespace, held so that Restore finds it even if the init has died
	moved []movedDev
}

// movedDev is what Restore needs of one moved device: the names and the host-side facts the move lost.
type movedDev struct {
	hostName string
	index    int32 // in the container's namespace
	wasUp    bool
	addrs    []rtnetlink.Addr // every permanent address it had on the host; those that Global() says moved with it
}

// newNetDevMove returns the mover of spec's linux.netDevices, or nil when there are none.
func newNetDevMove(spec *specs.Spec) *netDevMove {
	if spec.Linux == nil || len(spec.Linux.NetDevices) == 0 {
		return nil
	}
	return &netDevMove{devs: spec.Linux.NetDevices}
}

// Move moves every device into the network namespace of pid, in name order. Create calls it with the init's pid: pid is
// the init, whose namespaces exist and which waits for its config, so /proc/<pid> is still that process. On
// failure the parent kills the init (parentProcess.abort); the namespace outlives it through m.netns, for Restore.
func (m *netDevMove) Move(pid int) error {
	if m == nil {
		return nil
	}
	path := fmt.Sprintf("/proc/%d/ns/net", pid)
	netns, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	m.netns = netns
	host, err := rtnetlink.Dial()
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer host.Close()
	ctr, err := rtnetlink.DialIn(netns)
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer ctr.Close()
	for _, hostName := range netDevNames(m.devs) {
		if err := m.move(host, ctr, hostName); err != nil {
			return fmt.Errorf("%s: %w", netDevField(hostName), err)
		}
	}
	return nil
}

// move moves one device and sets it up in the container: its permanent global addresses again, then the link up.
func (m *netDevMove) move(host, ctr *rtnetlink.Conn, hostName string) error {
	link, err := host.LinkByName(hostName)
	if errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("no interface %q on the host: %w", hostName, err)
	}
	if err != nil {
		return err
	}
	addrs, err := host.Addrs(link.Index)
	if err != nil {
		return err
	}
	name := containerName(hostName, m.devs[hostName])
	// One request moves and renames (do_setlink: the move, then dev_change_name in the new namespace), as runc
	// does, so the host name never has to be free in the container nor the container name on the host.
	d := movedDev{hostName: hostName, index: link.Index, wasUp: link.Flags&unix.IFF_UP != 0, addrs: addrs}
	if err := host.MoveTo(link.Index, m.netns, name); err != nil {
		// The request fails either before the move (the device stays on the host) or after it, in the rename
		// (a name a joined namespace already has): then the device is in the container under its host name, and
		// Restore must know it.
		if l, ok := leftHost(host, ctr, link.Index, hostName); ok {
			d.index = l.Index
			m.moved = append(m.moved, d)
		}
		if errors.Is(err, unix.EINVAL) {
			// __dev_change_net_namespace refuses a NETIF_F_NETNS_LOCAL device (bridges, vrf, ...) with EINVAL.
			return fmt.Errorf("move into the container's network namespace as %q: %w (a device the kernel keeps in its namespace?)", name, err)
		}
		return fmt.Errorf("move into the container's network namespace as %q: %w", name, err)
	}
	// Recorded at once, under the index the kernel most likely kept, so that Restore can bring it back even if
	// the rest fails.
	m.moved = append(m.moved, d)
	moved, err := ctr.Find(link.Index, name)
	if err != nil {
		return fmt.Errorf("find it in the container's network namespace: %w", err)
	}
	m.moved[len(m.moved)-1].index = moved.Index
	for _, a := range addrs {
		if !a.Global() {
			continue
		}
		if err := ctr.AddAddr(moved.Index, a); err != nil {
			return fmt.Errorf("address %s: %w", a.Prefix(), err)
		}
	}
	// runtime-spec: "The runtime MUST set the network device state to "up" after moving it".
	if err := ctr.SetUp(moved.Index); err != nil {
		return fmt.Errorf("set %q up: %w", name, err)
	}
	return nil
}

// leftHost finds, after a move request for the host device index/hostName failed, the device in the container's
// namespace if the failure came after the move. The host is asked first: a device still there under its index and
// name did not move, and the container must not be searched by name, where a joined namespace may have a device of
// its own called hostName (the very reason a move fails with EEXIST, __dev_change_net_namespace) that Restore would
// then take to the host. When the host cannot answer, only the index, which the kernel most likely kept, is trusted.
func leftHost(host, ctr *rtnetlink.Conn, index int32, hostName string) (rtnetlink.Link, bool) {
	l, err := host.LinkByIndex(index)
	switch {
	case err == nil && l.Name == hostName:
		return rtnetlink.Link{}, false
	case err == nil || errors.Is(err, unix.ENODEV):
		// Gone from the host (or its index already reused there): it moved.
		l, err = ctr.Find(index, hostName)
		return l, err == nil
	}
	l, err = ctr.LinkByIndex(index)
	return l, err == nil && l.Name == hostName
}

// Restore moves the devices Move moved back to the host under their host names, with their addresses and link
// state, newest first. It is for a create that fails: a container that was created keeps its devices. Errors are
// ignored: it runs on a path that already returns one, and does what it can.
func (m *netDevMove) Restore() {
	if m == nil || m.netns == nil || len(m.moved) == 0 {
		return
	}
	hostNS, err := os.Open(hostNetNSPath)
	if err != nil {
		return
	}
	defer hostNS.Close()
	ctr, err := rtnetlink.DialIn(m.netns)
	if err != nil {
		return
	}
	defer ctr.Close()
	host, err := rtnetlink.Dial()
	if err != nil {
		return
	}
	defer host.Close()
	for i := len(m.moved) - 1; i >= 0; i-- {
		d := m.moved[i]
		if ctr.MoveTo(d.index, hostNS, d.hostName) != nil {
			continue
		}
		link, err := host.LinkByName(d.hostName)
		if err != nil {
			continue
		}
		for _, a := range d.addrs {
			_ = host.AddAddr(link.Index, a)
		}
		if d.wasUp {
			_ = host.SetUp(link.Index)
		}
	}
	m.moved = nil
}

// Close drops the handle on the container's network namespace, which then lives as long as the container.
func (m *netDevMove) Close() {
	if m != nil && m.netns != nil {
		m.netns.Close()
		m.netns = nil
	}
}
