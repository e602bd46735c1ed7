// Package rtnetlink is the small NETLINK_ROUTE client rt needs for linux.netDevices (libcontainer/netdev.go): look
// links and addresses up, move a link into another network namespace under a new name, add addresses, set a link
// up; with the hand-written codec of the few messages that takes (rtnetlink(7), netlink(7)).
package rtnetlink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Conn is a NETLINK_ROUTE socket bound in one network namespace (the one it was created in, for its lifetime).
type Conn struct {
	fd  int
	seq uint32
}

// Dial opens a NETLINK_ROUTE socket in the calling thread's network namespace.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return &Conn{fd: fd}, nil
}

// DialIn opens a NETLINK_ROUTE socket in the network namespace ns: a socket stays in the namespace it was
// made in (network_namespaces(7)), so one OS thread enters ns for the socket(2) call only. That thread is locked
// and, if it cannot return to its own namespace, never unlocked: Go then ends it with its goroutine
// (runtime.LockOSThread), so no other goroutine runs in the container's namespace.
func DialIn(ns *os.File) (*Conn, error) {
	var s *Conn
	err := InNetNS(func() error {
		return os.NewSyscallError("setns", unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET))
	}, func() (release func(), err error) {
		s, err = Dial()
		return func() {
			if s != nil {
				s.Close()
			}
		}, err
	})
	return s, err
}

// InNetNS runs fn on one locked OS thread after enter has moved that thread into another network namespace, then
// moves it back. release undoes what fn made when the way back fails; the thread then stays locked, so Go ends it
// with its goroutine and nothing else runs in the other namespace.
func InNetNS(enter func() error, fn func() (release func(), err error)) error {
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

// Close closes the socket.
func (s *Conn) Close() { unix.Close(s.fd) }

// Link is what rt needs of an RTM_NEWLINK reply.
type Link struct {
	Index int32
	Flags uint32
	Name  string
}

// LinkByName looks an interface up by name (RTM_GETLINK with IFLA_IFNAME). A missing one is unix.ENODEV.
func (s *Conn) LinkByName(name string) (Link, error) {
	msgs, err := s.request(unix.RTM_GETLINK, 0, ifInfoMsg(0, 0, 0), attrString(unix.IFLA_IFNAME, name))
	if err != nil {
		return Link{}, err
	}
	for _, m := range msgs {
		if l, ok := parseLink(m); ok {
			return l, nil
		}
	}
	return Link{}, fmt.Errorf("RTM_GETLINK %q: no link in the reply: %w", name, unix.ENODEV)
}

// LinkByIndex looks an interface up by index (RTM_GETLINK with ifi_index). A missing one is unix.ENODEV.
func (s *Conn) LinkByIndex(index int32) (Link, error) {
	msgs, err := s.request(unix.RTM_GETLINK, 0, ifInfoMsg(index, 0, 0))
	if err != nil {
		return Link{}, err
	}
	for _, m := range msgs {
		if l, ok := parseLink(m); ok && l.Index == index {
			return l, nil
		}
	}
	return Link{}, fmt.Errorf("RTM_GETLINK index %d: no link in the reply: %w", index, unix.ENODEV)
}

// Find is the device just moved into this namespace under name (exact, or a %d template). The kernel keeps the
// ifindex across the move unless the target namespace already uses it (__dev_change_net_namespace), so the index
// is tried first: it is the only key that finds a device the kernel named from a template.
func (s *Conn) Find(index int32, name string) (Link, error) {
	l, err := s.LinkByIndex(index)
	if err != nil && !errors.Is(err, unix.ENODEV) {
		return Link{}, err
	}
	if err == nil && nameMatches(l.Name, name) {
		return l, nil
	}
	if strings.Contains(name, "%") {
		return Link{}, fmt.Errorf("no interface named after %q with index %d: %w", name, index, unix.ENODEV)
	}
	return s.LinkByName(name)
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

// Addr is one interface address as RTM_NEWADDR carries it: the family message's fields and the raw IFA_*
// address attributes (IFA_LOCAL is the local address, IFA_ADDRESS the peer's on a point-to-point link,
// rtnetlink(7)).
type Addr struct {
	Family, PrefixLen, Scope uint8
	Flags                    uint32 // IFA_FLAGS when present (it holds the flags above bit 7), else ifa_flags
	Index                    uint32
	Local, Address, Brd      []byte
}

// Prefix is the address for messages: the local address (else the address) with its prefix length.
func (a Addr) Prefix() string {
	ip := a.Local
	if ip == nil {
		ip = a.Address
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return fmt.Sprintf("%x/%d", ip, a.PrefixLen)
	}
	return netip.PrefixFrom(addr, int(a.PrefixLen)).String()
}

// Global reports whether an address is permanent with global scope: what moves with its device. runtime-spec: "all permanent IP addresses (IFA_F_PERMANENT
// flag) of any family with global scope (RT_SCOPE_UNIVERSE value)"; runc filters the same. Others (link-local,
// host scope, SLAAC and DHCP ones with lifetimes) belong to the host's network or are remade by the kernel.
func (a Addr) Global() bool {
	return a.Flags&unix.IFA_F_PERMANENT != 0 && a.Scope == unix.RT_SCOPE_UNIVERSE
}

// Addrs returns the permanent addresses of interface index but the IPv6 link-local ones, which the kernel makes
// itself when the link comes up (addrconf): what a failed create puts back, and of which Global() says what moves. The dump
// lists every interface's addresses; without NETLINK_GET_STRICT_CHK the kernel ignores the index in the request,
// so it is filtered here.
func (s *Conn) Addrs(index int32) ([]Addr, error) {
	msgs, err := s.request(unix.RTM_GETADDR, unix.NLM_F_DUMP, ifAddrMsg(Addr{Family: unix.AF_UNSPEC}))
	if err != nil {
		return nil, err
	}
	var out []Addr
	for _, m := range msgs {
		a, ok := parseAddr(m)
		if ok && a.Index == uint32(index) && a.Flags&unix.IFA_F_PERMANENT != 0 && //nolint:gosec // ifindexes are positive
			!(a.Family == unix.AF_INET6 && a.Scope == unix.RT_SCOPE_LINK) {
			out = append(out, a)
		}
	}
	return out, nil
}

// AddAddr adds a on interface index, with its address attributes but not its flags, lifetimes or label (a label
// names the interface, which may be renamed), as runc re-adds only the address.
func (s *Conn) AddAddr(index int32, a Addr) error {
	a.Index, a.Flags = uint32(index), 0 //nolint:gosec // ifindexes are positive
	var attrs [][]byte
	if a.Local != nil {
		attrs = append(attrs, attr(unix.IFA_LOCAL, a.Local))
	}
	if a.Address != nil {
		attrs = append(attrs, attr(unix.IFA_ADDRESS, a.Address))
	}
	if a.Brd != nil {
		attrs = append(attrs, attr(unix.IFA_BROADCAST, a.Brd))
	}
	return s.do(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, ifAddrMsg(a), attrs...)
}

// Links lists the interfaces of the socket's namespace (an RTM_GETLINK dump).
func (s *Conn) Links() ([]Link, error) {
	msgs, err := s.request(unix.RTM_GETLINK, unix.NLM_F_DUMP, ifInfoMsg(0, 0, 0))
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, m := range msgs {
		if l, ok := parseLink(m); ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// MoveTo moves interface index into the network namespace ns and names it name there, in one RTM_NEWLINK
// (IFLA_NET_NS_FD and IFLA_IFNAME; do_setlink moves, then renames in the new namespace).
func (s *Conn) MoveTo(index int32, ns *os.File, name string) error {
	return s.do(unix.RTM_NEWLINK, 0, ifInfoMsg(index, 0, 0),
		attrU32(unix.IFLA_NET_NS_FD, uint32(ns.Fd())), attrString(unix.IFLA_IFNAME, name)) //nolint:gosec // an fd fits in 32 bits
}

// SetUp sets interface index up (IFF_UP).
func (s *Conn) SetUp(index int32) error {
	return s.do(unix.RTM_NEWLINK, 0, ifInfoMsg(index, unix.IFF_UP, unix.IFF_UP))
}

// do sends a request that answers with an acknowledgement only.
func (s *Conn) do(typ, flags uint16, body []byte, attrs ...[]byte) error {
	_, err := s.request(typ, flags, body, attrs...)
	return err
}

// request sends one rtnetlink request and collects the replies up to its acknowledgement, or up to NLMSG_DONE for
// a dump (netlink(7)). A negative error in the acknowledgement is the request's own: the kernel handles a
// NETLINK_ROUTE request synchronously inside the sender's sendto(2) (netlink_unicast_kernel -> rtnetlink_rcv) and
// queues the errno as the ack, so it becomes an os.SyscallError "sendto" wrapped with the request type.
func (s *Conn) request(typ, flags uint16, body []byte, attrs ...[]byte) ([][]byte, error) {
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
func ifAddrMsg(a Addr) []byte {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0], b[1], b[2], b[3] = a.Family, a.PrefixLen, uint8(a.Flags), a.Scope //nolint:gosec // ifa_flags is the low byte
	binary.NativeEndian.PutUint32(b[4:8], a.Index)
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
func parseLink(b []byte) (Link, bool) {
	if len(b) < unix.SizeofIfInfomsg {
		return Link{}, false
	}
	l := Link{
		Index: int32(binary.NativeEndian.Uint32(b[4:8])), //nolint:gosec // ifi_index is an int on the wire
		Flags: binary.NativeEndian.Uint32(b[8:12]),
	}
	parseAttrs(b[unix.SizeofIfInfomsg:], func(typ uint16, data []byte) {
		if typ == unix.IFLA_IFNAME {
			l.Name = strings.TrimRight(string(data), "\x00")
		}
	})
	return l, true
}

// parseAddr decodes an RTM_NEWADDR payload.
func parseAddr(b []byte) (Addr, bool) {
	if len(b) < unix.SizeofIfAddrmsg {
		return Addr{}, false
	}
	a := Addr{
		Family: b[0], PrefixLen: b[1], Flags: uint32(b[2]), Scope: b[3],
		Index: binary.NativeEndian.Uint32(b[4:8]),
	}
	parseAttrs(b[unix.SizeofIfAddrmsg:], func(typ uint16, data []byte) {
		v := append([]byte(nil), data...)
		switch typ {
		case unix.IFA_LOCAL:
			a.Local = v
		case unix.IFA_ADDRESS:
			a.Address = v
		case unix.IFA_BROADCAST:
			a.Brd = v
		case unix.IFA_FLAGS:
			if len(data) >= 4 {
				a.Flags = binary.NativeEndian.Uint32(data)
			}
		}
	})
	return a, true
}
