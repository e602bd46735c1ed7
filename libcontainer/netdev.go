package libcontainer

// linux.netDevices (runtime-spec v1.3 config-linux.md "Network Devices"): each host interface named by a key of the
// map is moved into the container's network namespace, renamed to its "name" when one is given, with its
// permanent global addresses put back and its link set up. rt does it from the parent, over rtnetlink, once the
// init's namespaces exist and before the init gets its config (parentProcess.spawned), as runc 1.3+ does from its
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
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
		host, err := sameFile(ns.Path, hostNetNSPath)
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
	s, err := dialRTNL()
	if err != nil {
		return err
	}
	defer s.close()
	for _, hostName := range names {
		if _, err := s.link(hostName); err != nil {
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

// sameFile reports whether two paths are the same inode (for namespaces: the same namespace, namespaces(7)).
func sameFile(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, &os.PathError{Op: "stat", Path: a, Err: err}
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, &os.PathError{Op: "stat", Path: b, Err: err}
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// netDevMove is the linux.netDevices of one create: Move (parentProcess.spawned) moves them into the init's network
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
	addrs    []ifAddr // every permanent address it had on the host; those that keep() moved with it
}

// newNetDevMove returns the mover of spec's linux.netDevices, or nil when there are none.
func newNetDevMove(spec *specs.Spec) *netDevMove {
	if spec.Linux == nil || len(spec.Linux.NetDevices) == 0 {
		return nil
	}
	return &netDevMove{devs: spec.Linux.NetDevices}
}

// Move moves every device into the network namespace of pid, in name order. It is parentProcess.spawned: pid is
// the init, whose namespaces exist and which waits for its config, so /proc/<pid> is still that process. On
// failure the parent kills the init (process.go); the namespace outlives it through m.netns, for Restore.
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
	host, err := dialRTNL()
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer host.close()
	ctr, err := dialRTNLIn(netns)
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer ctr.close()
	for _, hostName := range netDevNames(m.devs) {
		if err := m.move(host, ctr, hostName); err != nil {
			return fmt.Errorf("%s: %w", netDevField(hostName), err)
		}
	}
	return nil
}

// move moves one device and sets it up in the container: its permanent global addresses again, then the link up.
func (m *netDevMove) move(host, ctr *rtnl, hostName string) error {
	link, err := host.link(hostName)
	if errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("no interface %q on the host: %w", hostName, err)
	}
	if err != nil {
		return err
	}
	addrs, err := host.addrs(link.index)
	if err != nil {
		return err
	}
	name := containerName(hostName, m.devs[hostName])
	// One request moves and renames (do_setlink: the move, then dev_change_name in the new namespace), as runc
	// does, so the host name never has to be free in the container nor the container name on the host.
	d := movedDev{hostName: hostName, index: link.index, wasUp: link.flags&unix.IFF_UP != 0, addrs: addrs}
	if err := host.do(unix.RTM_NEWLINK, 0, ifInfoMsg(link.index, 0, 0),
		attrU32(unix.IFLA_NET_NS_FD, uint32(m.netns.Fd())), attrString(unix.IFLA_IFNAME, name)); err != nil { //nolint:gosec // an fd fits in 32 bits
		// The request fails either before the move (the device stays on the host) or after it, in the rename
		// (a name a joined namespace already has): then the device is in the container under its host name, and
		// Restore must know it.
		if l, ok := leftHost(host, ctr, link.index, hostName); ok {
			d.index = l.index
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
	moved, err := ctr.find(link.index, name)
	if err != nil {
		return fmt.Errorf("find it in the container's network namespace: %w", err)
	}
	m.moved[len(m.moved)-1].index = moved.index
	for _, a := range addrs {
		if !a.keep() {
			continue
		}
		if err := ctr.addAddr(moved.index, a); err != nil {
			return fmt.Errorf("address %s: %w", a.prefix(), err)
		}
	}
	// runtime-spec: "The runtime MUST set the network device state to "up" after moving it".
	if err := ctr.do(unix.RTM_NEWLINK, 0, ifInfoMsg(moved.index, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("set %q up: %w", name, err)
	}
	return nil
}

// leftHost finds, after a move request for the host device index/hostName failed, the device in the container's
// namespace if the failure came after the move. The host is asked first: a device still there under its index and
// name did not move, and the container must not be searched by name, where a joined namespace may have a device of
// its own called hostName (the very reason a move fails with EEXIST, __dev_change_net_namespace) that Restore would
// then take to the host. When the host cannot answer, only the index, which the kernel most likely kept, is trusted.
func leftHost(host, ctr *rtnl, index int32, hostName string) (linkInfo, bool) {
	l, err := host.byIndex(index)
	switch {
	case err == nil && l.name == hostName:
		return linkInfo{}, false
	case err == nil || errors.Is(err, unix.ENODEV):
		// Gone from the host (or its index already reused there): it moved.
		l, err = ctr.find(index, hostName)
		return l, err == nil
	}
	l, err = ctr.byIndex(index)
	return l, err == nil && l.name == hostName
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
	ctr, err := dialRTNLIn(m.netns)
	if err != nil {
		return
	}
	defer ctr.close()
	host, err := dialRTNL()
	if err != nil {
		return
	}
	defer host.close()
	for i := len(m.moved) - 1; i >= 0; i-- {
		d := m.moved[i]
		if ctr.do(unix.RTM_NEWLINK, 0, ifInfoMsg(d.index, 0, 0),
			attrU32(unix.IFLA_NET_NS_FD, uint32(hostNS.Fd())), attrString(unix.IFLA_IFNAME, d.hostName)) != nil { //nolint:gosec // an fd fits in 32 bits
			continue
		}
		link, err := host.link(d.hostName)
		if err != nil {
			continue
		}
		for _, a := range d.addrs {
			_ = host.addAddr(link.index, a)
		}
		if d.wasUp {
			_ = host.do(unix.RTM_NEWLINK, 0, ifInfoMsg(link.index, unix.IFF_UP, unix.IFF_UP))
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

// rtnl is a NETLINK_ROUTE socket bound in one network namespace (the one it was created in, for its lifetime).
type rtnl struct {
	fd  int
	seq uint32
}

// dialRTNL opens a NETLINK_ROUTE socket in the calling thread's network namespace.
func dialRTNL() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return &rtnl{fd: fd}, nil
}

// dialRTNLIn opens a NETLINK_ROUTE socket in the network namespace ns: a socket stays in the namespace it was
// made in (network_namespaces(7)), so one OS thread enters ns for the socket(2) call only. That thread is locked
// and, if it cannot return to its own namespace, never unlocked: Go then ends it with its goroutine
// (runtime.LockOSThread), so no other goroutine runs in the container's namespace.
func dialRTNLIn(ns *os.File) (*rtnl, error) {
	var s *rtnl
	err := inNetNS(func() error {
		return os.NewSyscallError("setns", unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET))
	}, func() (release func(), err error) {
		s, err = dialRTNL()
		return func() {
			if s != nil {
				s.close()
			}
		}, err
	})
	return s, err
}

// inNetNS runs fn on one locked OS thread after enter has moved that thread into another network namespace, then
// moves it back. release undoes what fn made when the way back fails; the thread then stays locked, so Go ends it
// with its goroutine and nothing else runs in the other namespace.
func inNetNS(enter func() error, fn func() (release func(), err error)) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer self.Close()
		if err := enter(); err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		release, fnErr := fn()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			release()
			done <- os.NewSyscallError("setns", err)
			return // still locked: the thread exits with the goroutine
		}
		runtime.UnlockOSThread()
		done <- fnErr
	}()
	return <-done
}

func (s *rtnl) close() { unix.Close(s.fd) }

// linkInfo is what rt needs of an RTM_NEWLINK reply.
type linkInfo struct {
	index int32
	flags uint32
	name  string
}

// link looks an interface up by name (RTM_GETLINK with IFLA_IFNAME). A missing one is unix.ENODEV.
func (s *rtnl) link(name string) (linkInfo, error) {
	msgs, err := s.request(unix.RTM_GETLINK, 0, ifInfoMsg(0, 0, 0), attrString(unix.IFLA_IFNAME, name))
	if err != nil {
		return linkInfo{}, err
	}
	for _, m := range msgs {
		if l, ok := parseLink(m); ok {
			return l, nil
		}
	}
	return linkInfo{}, fmt.Errorf("RTM_GETLINK %q: no link in the reply: %w", name, unix.ENODEV)
}

// byIndex looks an interface up by index (RTM_GETLINK with ifi_index). A missing one is unix.ENODEV.
func (s *rtnl) byIndex(index int32) (linkInfo, error) {
	msgs, err := s.request(unix.RTM_GETLINK, 0, ifInfoMsg(index, 0, 0))
	if err != nil {
		return linkInfo{}, err
	}
	for _, m := range msgs {
		if l, ok := parseLink(m); ok && l.index == index {
			return l, nil
		}
	}
	return linkInfo{}, fmt.Errorf("RTM_GETLINK index %d: no link in the reply: %w", index, unix.ENODEV)
}

// find is the device just moved into this namespace under name (exact, or a %d template). The kernel keeps the
// ifindex across the move unless the target namespace already uses it (__dev_change_net_namespace), so the index
// is tried first: it is the only key that finds a device the kernel named from a template.
func (s *rtnl) find(index int32, name string) (linkInfo, error) {
	l, err := s.byIndex(index)
	if err != nil && !errors.Is(err, unix.ENODEV) {
		return linkInfo{}, err
	}
	if err == nil && nameMatches(l.name, name) {
		return l, nil
	}
	if strings.Contains(name, "%") {
		return linkInfo{}, fmt.Errorf("no interface named after %q with index %d: %w", name, index, unix.ENODEV)
	}
	return s.link(name)
}

// nameMatches reports whether the kernel's name for a device is name, or what the template name (one %d) makes.
func nameMatches(got, name string) bool {
	before, after, template := strings.Cut(name, "%d")
	if !template {
		return got == name
	}
	digits, ok := strings.CutPrefix(got, before)
	if !ok {
		return false
	}
	digits, ok = strings.CutSuffix(digits, after)
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// ifAddr is one interface address as RTM_NEWADDR carries it: the family message's fields and the raw IFA_*
// address attributes (IFA_LOCAL is the local address, IFA_ADDRESS the peer's on a point-to-point link,
// rtnetlink(7)).
type ifAddr struct {
	family, prefixLen, scope uint8
	flags                    uint32 // IFA_FLAGS when present (it holds the flags above bit 7), else ifa_flags
	index                    uint32
	local, address, brd      []byte
}

// prefix is the address for messages: the local address (else the address) with its prefix length.
func (a ifAddr) prefix() string {
	ip := a.local
	if ip == nil {
		ip = a.address
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return fmt.Sprintf("%x/%d", ip, a.prefixLen)
	}
	return netip.PrefixFrom(addr, int(a.prefixLen)).String()
}

// keep reports whether an address moves with its device. runtime-spec: "all permanent IP addresses (IFA_F_PERMANENT
// flag) of any family with global scope (RT_SCOPE_UNIVERSE value)"; runc filters the same. Others (link-local,
// host scope, SLAAC and DHCP ones with lifetimes) belong to the host's network or are remade by the kernel.
func (a ifAddr) keep() bool {
	return a.flags&unix.IFA_F_PERMANENT != 0 && a.scope == unix.RT_SCOPE_UNIVERSE
}

// addrs returns the permanent addresses of interface index but the IPv6 link-local ones, which the kernel makes
// itself when the link comes up (addrconf): what Restore puts back, and of which keep() says what moves. The dump
// lists every interface's addresses; without NETLINK_GET_STRICT_CHK the kernel ignores the index in the request,
// so it is filtered here.
func (s *rtnl) addrs(index int32) ([]ifAddr, error) {
	msgs, err := s.request(unix.RTM_GETADDR, unix.NLM_F_DUMP, ifAddrMsg(ifAddr{family: unix.AF_UNSPEC}))
	if err != nil {
		return nil, err
	}
	var out []ifAddr
	for _, m := range msgs {
		a, ok := parseAddr(m)
		if ok && a.index == uint32(index) && a.flags&unix.IFA_F_PERMANENT != 0 && //nolint:gosec // ifindexes are positive
			!(a.family == unix.AF_INET6 && a.scope == unix.RT_SCOPE_LINK) {
			out = append(out, a)
		}
	}
	return out, nil
}

// addAddr adds a on interface index, with its address attributes but not its flags, lifetimes or label (a label
// names the interface, which may be renamed), as runc re-adds only the address.
func (s *rtnl) addAddr(index int32, a ifAddr) error {
	a.index, a.flags = uint32(index), 0 //nolint:gosec // ifindexes are positive
	var attrs [][]byte
	if a.local != nil {
		attrs = append(attrs, attr(unix.IFA_LOCAL, a.local))
	}
	if a.address != nil {
		attrs = append(attrs, attr(unix.IFA_ADDRESS, a.address))
	}
	if a.brd != nil {
		attrs = append(attrs, attr(unix.IFA_BROADCAST, a.brd))
	}
	return s.do(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, ifAddrMsg(a), attrs...)
}

// do sends a request that answers with an acknowledgement only.
func (s *rtnl) do(typ, flags uint16, body []byte, attrs ...[]byte) error {
	_, err := s.request(typ, flags, body, attrs...)
	return err
}

// request sends one rtnetlink request and collects the replies up to its acknowledgement, or up to NLMSG_DONE for
// a dump (netlink(7)). A negative error in the acknowledgement is the request's own: the kernel handles a
// NETLINK_ROUTE request synchronously inside the sender's sendto(2) (netlink_unicast_kernel -> rtnetlink_rcv) and
// queues the errno as the ack, so it becomes an os.SyscallError "sendto" wrapped with the request type.
func (s *rtnl) request(typ, flags uint16, body []byte, attrs ...[]byte) ([][]byte, error) {
	s.seq++
	req := nlMessage(typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags, s.seq, body, attrs...)
	if err := unix.Sendto(s.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("%s: %w", nlTypeName(typ), os.NewSyscallError("sendto", err))
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s reply: %w", nlTypeName(typ), os.NewSyscallError("recvfrom", err))
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue // only the kernel answers
		}
		msgs, err := splitMessages(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("%s reply: %w", nlTypeName(typ), err)
		}
		for _, m := range msgs {
			if m.seq != s.seq {
				continue
			}
			switch m.typ {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.data) < 4 {
					return nil, fmt.Errorf("%s: short acknowledgement: %w", nlTypeName(typ), errNetlink)
				}
				if errno := int32(binary.NativeEndian.Uint32(m.data)); errno != 0 { //nolint:gosec // the kernel's int
					return out, fmt.Errorf("%s: %w", nlTypeName(typ), os.NewSyscallError("sendto", unix.Errno(-errno)))
				}
				return out, nil
			default:
				out = append(out, append([]byte(nil), m.data...)) // buf is reused for the next datagram
			}
		}
	}
}

// nlTypeName names a request type for the message that wraps its error (the error itself names the syscall).
func nlTypeName(typ uint16) string {
	switch typ {
	case unix.RTM_GETLINK:
		return "RTM_GETLINK"
	case unix.RTM_NEWLINK:
		return "RTM_NEWLINK"
	case unix.RTM_GETADDR:
		return "RTM_GETADDR"
	case unix.RTM_NEWADDR:
		return "RTM_NEWADDR"
	}
	return fmt.Sprintf("netlink request %d", typ)
}

// nlAlign rounds up to the 4-byte alignment of netlink messages and attributes (NLMSG_ALIGN, RTA_ALIGN).
func nlAlign(n int) int { return (n + 3) &^ 3 }

// nlMessage encodes one netlink message: struct nlmsghdr, the family message body, then the attributes.
func nlMessage(typ, flags uint16, seq uint32, body []byte, attrs ...[]byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, 64)
	b = append(b, body...)
	for _, a := range attrs {
		b = append(b, make([]byte, nlAlign(len(b))-len(b))...)
		b = append(b, a...)
	}
	ne := binary.NativeEndian
	ne.PutUint32(b[0:4], uint32(len(b))) //nolint:gosec // a request is a few dozen bytes
	ne.PutUint16(b[4:6], typ)
	ne.PutUint16(b[6:8], flags)
	ne.PutUint32(b[8:12], seq)
	// nlmsg_pid 0: the kernel fills in the sender (netlink(7)).
	return b
}

// attr encodes one struct rtattr with its payload, padded to the alignment.
func attr(typ uint16, data []byte) []byte {
	n := unix.SizeofRtAttr + len(data)
	b := make([]byte, nlAlign(n))
	binary.NativeEndian.PutUint16(b[0:2], uint16(n)) //nolint:gosec // attributes here are a few bytes
	binary.NativeEndian.PutUint16(b[2:4], typ)
	copy(b[unix.SizeofRtAttr:], data)
	return b
}

// attrString encodes a NUL-terminated string attribute (IFLA_IFNAME is NLA_STRING, up to IFNAMSIZ with the NUL).
func attrString(typ uint16, s string) []byte { return attr(typ, append([]byte(s), 0)) }

// attrU32 encodes a native-endian u32 attribute.
func attrU32(typ uint16, v uint32) []byte {
	return attr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// ifInfoMsg encodes struct ifinfomsg (rtnetlink(7)): family AF_UNSPEC, the index, and the flags to set within the
// change mask.
func ifInfoMsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:8], uint32(index)) //nolint:gosec // ifi_index is an int on the wire
	binary.NativeEndian.PutUint32(b[8:12], flags)
	binary.NativeEndian.PutUint32(b[12:16], change)
	return b
}

// ifAddrMsg encodes struct ifaddrmsg (rtnetlink(7)) from a's family, prefix length, low flag bits, scope and index.
func ifAddrMsg(a ifAddr) []byte {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0], b[1], b[2], b[3] = a.family, a.prefixLen, uint8(a.flags), a.scope //nolint:gosec // ifa_flags is the low byte
	binary.NativeEndian.PutUint32(b[4:8], a.index)
	return b
}

// nlMsg is one received netlink message.
type nlMsg struct {
	typ  uint16
	seq  uint32
	data []byte // after struct nlmsghdr
}

// errNetlink is the class of malformed netlink replies.
var errNetlink = errors.New("malformed netlink message")

// splitMessages splits a datagram into its netlink messages.
func splitMessages(b []byte) ([]nlMsg, error) {
	var out []nlMsg
	for len(b) >= unix.SizeofNlMsghdr {
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		if n < unix.SizeofNlMsghdr || n > len(b) {
			return nil, fmt.Errorf("length %d of %d bytes: %w", n, len(b), errNetlink)
		}
		out = append(out, nlMsg{
			typ:  binary.NativeEndian.Uint16(b[4:6]),
			seq:  binary.NativeEndian.Uint32(b[8:12]),
			data: b[unix.SizeofNlMsghdr:n],
		})
		b = b[min(nlAlign(n), len(b)):]
	}
	return out, nil
}

// parseAttrs calls fn with each attribute of b (the part after the family message).
func parseAttrs(b []byte, fn func(typ uint16, data []byte)) {
	for len(b) >= unix.SizeofRtAttr {
		n := int(binary.NativeEndian.Uint16(b[0:2]))
		if n < unix.SizeofRtAttr || n > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:4])&^unix.NLA_F_NESTED, b[unix.SizeofRtAttr:n])
		b = b[min(nlAlign(n), len(b)):]
	}
}

// parseLink decodes an RTM_NEWLINK payload.
func parseLink(b []byte) (linkInfo, bool) {
	if len(b) < unix.SizeofIfInfomsg {
		return linkInfo{}, false
	}
	l := linkInfo{
		index: int32(binary.NativeEndian.Uint32(b[4:8])), //nolint:gosec // ifi_index is an int on the wire
		flags: binary.NativeEndian.Uint32(b[8:12]),
	}
	parseAttrs(b[unix.SizeofIfInfomsg:], func(typ uint16, data []byte) {
		if typ == unix.IFLA_IFNAME {
			l.name = strings.TrimRight(string(data), "\x00")
		}
	})
	return l, true
}

// parseAddr decodes an RTM_NEWADDR payload.
func parseAddr(b []byte) (ifAddr, bool) {
	if len(b) < unix.SizeofIfAddrmsg {
		return ifAddr{}, false
	}
	a := ifAddr{
		family: b[0], prefixLen: b[1], flags: uint32(b[2]), scope: b[3],
		index: binary.NativeEndian.Uint32(b[4:8]),
	}
	parseAttrs(b[unix.SizeofIfAddrmsg:], func(typ uint16, data []byte) {
		v := append([]byte(nil), data...)
		switch typ {
		case unix.IFA_LOCAL:
			a.local = v
		case unix.IFA_ADDRESS:
			a.address = v
		case unix.IFA_BROADCAST:
			a.brd = v
		case unix.IFA_FLAGS:
			if len(data) >= 4 {
				a.flags = binary.NativeEndian.Uint32(data)
			}
		}
	})
	return a, true
}
