package rtnetlink

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNameMatches(t *testing.T) {
	cases := []struct {
		name      string
		got, want string
		match     bool
	}{
		{name: "exact", got: "eth0", want: "eth0", match: true},
		{name: "other", got: "eth1", want: "eth0"},
		{name: "template", got: "net0", want: "net%d", match: true},
		{name: "template, two digits", got: "net12", want: "net%d", match: true},
		{name: "template with a suffix", got: "e3x", want: "e%dx", match: true},
		{name: "template, no digits", got: "net", want: "net%d"},
		{name: "template, letters", got: "netab", want: "net%d"},
		{name: "template, other prefix", got: "eth0", want: "net%d"},
		{name: "template, suffix missing", got: "e3", want: "e%dx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nameMatches(tc.got, tc.want); got != tc.match {
				t.Fatalf("nameMatches(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.match)
			}
		})
	}
}

// TestNLMessage checks the wire layout of the move request against netlink(7) and rtnetlink(7): nlmsghdr, then
// ifinfomsg, then each rtattr at a 4-byte boundary, the string NUL-terminated.
func TestNLMessage(t *testing.T) {
	ne := binary.NativeEndian
	msg := nlMessage(unix.RTM_NEWLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK, 7, ifInfoMsg(42, unix.IFF_UP, unix.IFF_UP),
		attrU32(unix.IFLA_NET_NS_FD, 9), attrString(unix.IFLA_IFNAME, "ctr0"))

	var want []byte
	hdr := make([]byte, 16)
	want = append(want, hdr...)
	info := make([]byte, 16)
	ne.PutUint32(info[4:], 42)
	ne.PutUint32(info[8:], unix.IFF_UP)
	ne.PutUint32(info[12:], unix.IFF_UP)
	want = append(want, info...)
	fd := make([]byte, 8) // rtattr{len 8, type IFLA_NET_NS_FD}, u32 9
	ne.PutUint16(fd[0:], 8)
	ne.PutUint16(fd[2:], unix.IFLA_NET_NS_FD)
	ne.PutUint32(fd[4:], 9)
	want = append(want, fd...)
	name := make([]byte, 12) // rtattr{len 9, type IFLA_IFNAME}, "ctr0\0", 3 bytes of padding
	ne.PutUint16(name[0:], 9)
	ne.PutUint16(name[2:], unix.IFLA_IFNAME)
	copy(name[4:], "ctr0\x00")
	want = append(want, name...)
	ne.PutUint32(want[0:], uint32(len(want)))
	ne.PutUint16(want[4:], unix.RTM_NEWLINK)
	ne.PutUint16(want[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(want[8:], 7)

	if !bytes.Equal(msg, want) {
		t.Fatalf("message\n got % x\nwant % x", msg, want)
	}
}

// addrMessage builds an RTM_NEWADDR datagram as the kernel sends it in a dump.
func addrMessage(seq uint32, a Addr, ifaFlags []byte) []byte {
	var attrs [][]byte
	if a.Local != nil {
		attrs = append(attrs, attr(unix.IFA_LOCAL, a.Local))
	}
	if a.Address != nil {
		attrs = append(attrs, attr(unix.IFA_ADDRESS, a.Address))
	}
	attrs = append(attrs, attrString(unix.IFA_LABEL, "eth0"))
	if ifaFlags != nil {
		attrs = append(attrs, attr(unix.IFA_FLAGS, ifaFlags))
	}
	return nlMessage(unix.RTM_NEWADDR, unix.NLM_F_MULTI, seq, ifAddrMsg(a), attrs...)
}

func TestParseAddr(t *testing.T) {
	v4 := []byte{10, 1, 2, 3}
	v6 := []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	cases := []struct {
		name     string
		in       Addr
		ifaFlags []byte // an IFA_FLAGS attribute, or none
		keep     bool
		prefix   string
	}{
		{
			name: "permanent global IPv4", in: Addr{Family: unix.AF_INET, PrefixLen: 24, Flags: unix.IFA_F_PERMANENT, Index: 5, Local: v4, Address: v4},
			keep: true, prefix: "10.1.2.3/24",
		},
		{
			name: "IFA_FLAGS wins over ifa_flags", in: Addr{Family: unix.AF_INET, PrefixLen: 24, Index: 5, Local: v4, Address: v4},
			ifaFlags: u32(unix.IFA_F_PERMANENT | unix.IFA_F_NOPREFIXROUTE), keep: true, prefix: "10.1.2.3/24",
		},
		{
			name: "dynamic (no IFA_F_PERMANENT)", in: Addr{Family: unix.AF_INET, PrefixLen: 24, Index: 5, Local: v4, Address: v4},
			prefix: "10.1.2.3/24",
		},
		{
			name: "link scope", in: Addr{Family: unix.AF_INET, PrefixLen: 16, Flags: unix.IFA_F_PERMANENT, Scope: unix.RT_SCOPE_LINK, Index: 5, Local: v4},
			prefix: "10.1.2.3/16",
		},
		{
			name: "host scope", in: Addr{Family: unix.AF_INET, PrefixLen: 8, Flags: unix.IFA_F_PERMANENT, Scope: unix.RT_SCOPE_HOST, Index: 5, Local: v4},
			prefix: "10.1.2.3/8",
		},
		{
			name: "permanent global IPv6", in: Addr{Family: unix.AF_INET6, PrefixLen: 64, Flags: unix.IFA_F_PERMANENT, Index: 5, Address: v6},
			keep: true, prefix: "fd00::1/64",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := splitMessages(addrMessage(3, tc.in, tc.ifaFlags))
			if err != nil || len(msgs) != 1 {
				t.Fatalf("splitMessages: %v, %d messages", err, len(msgs))
			}
			if msgs[0].typ != unix.RTM_NEWADDR || msgs[0].seq != 3 {
				t.Fatalf("header: type %d seq %d", msgs[0].typ, msgs[0].seq)
			}
			a, ok := parseAddr(msgs[0].data)
			if !ok {
				t.Fatal("parseAddr: not an address message")
			}
			if a.Index != tc.in.Index || a.Family != tc.in.Family || a.PrefixLen != tc.in.PrefixLen || a.Scope != tc.in.Scope {
				t.Errorf("parsed %+v from %+v", a, tc.in)
			}
			if !bytes.Equal(a.Local, tc.in.Local) || !bytes.Equal(a.Address, tc.in.Address) {
				t.Errorf("addresses: local %v address %v, want %v %v", a.Local, a.Address, tc.in.Local, tc.in.Address)
			}
			if got := a.Global(); got != tc.keep {
				t.Errorf("Global() = %v, want %v (flags %#x scope %d)", got, tc.keep, a.Flags, a.Scope)
			}
			if got := a.Prefix(); got != tc.prefix {
				t.Errorf("Prefix() = %q, want %q", got, tc.prefix)
			}
		})
	}
}

func TestSplitMessages(t *testing.T) {
	two := append(nlMessage(unix.RTM_NEWLINK, 0, 1, ifInfoMsg(3, 0, 0), attrString(unix.IFLA_IFNAME, "abc")),
		nlMessage(unix.NLMSG_DONE, 0, 1, make([]byte, 4))...)
	cases := []struct {
		name  string
		in    []byte
		types []uint16
		bad   bool
	}{
		{name: "two messages", in: two, types: []uint16{unix.RTM_NEWLINK, unix.NLMSG_DONE}},
		{name: "empty", in: nil},
		{name: "length beyond the datagram", in: two[:20], bad: true},
		{name: "length below the header", in: append([]byte{4, 0, 0, 0}, make([]byte, 12)...), bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := splitMessages(tc.in)
			if tc.bad {
				if !errors.Is(err, errNetlink) {
					t.Fatalf("splitMessages = %v, want errNetlink", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(tc.types) {
				t.Fatalf("%d messages, want %d", len(msgs), len(tc.types))
			}
			for i, m := range msgs {
				if m.typ != tc.types[i] {
					t.Errorf("message %d: type %d, want %d", i, m.typ, tc.types[i])
				}
			}
			if len(msgs) > 0 {
				l, ok := parseLink(msgs[0].data)
				if !ok || l.Index != 3 || l.Name != "abc" {
					t.Errorf("parseLink = %+v, %v", l, ok)
				}
			}
		})
	}
}
