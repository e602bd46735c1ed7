package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultDevices returns the device rules runc appends to every container's linux.resources.devices
// (libcontainer/specconv AllowedDevices): mknod of any char or block device, and rwm on /dev/null, random, full,
// tty, zero, urandom, /dev/pts/*, ptmx and /dev/net/tun. The container's console is a /dev/pts entry bind-mounted
// on /dev/console, so the 136:* rule covers it. Append these after the config's rules; do not use them for a
// rootless container, whose device rules cannot be enforced anyway (runc skips them there too).
func DefaultDevices() []specs.LinuxDeviceCgroup {
	c := func(major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: access}
		if major >= 0 {
			d.Major = &major
		}
		if minor >= 0 {
			d.Minor = &minor
		}
		return d
	}
	b := c(-1, -1, "m")
	b.Type = "b"
	return []specs.LinuxDeviceCgroup{
		c(-1, -1, "m"), b,
		c(1, 3, "rwm"),    // /dev/null
		c(1, 8, "rwm"),    // /dev/random
		c(1, 7, "rwm"),    // /dev/full
		c(5, 0, "rwm"),    // /dev/tty
		c(1, 5, "rwm"),    // /dev/zero
		c(1, 9, "rwm"),    // /dev/urandom
		c(136, -1, "rwm"), // /dev/pts/*
		c(5, 2, "rwm"),    // /dev/ptmx
		c(10, 200, "rwm"), // /dev/net/tun: removed in runc 1.2.0-rc1, restored for compatibility (runc#3468)
	}
}

// Device access bits and types, as the kernel passes them to a BPF_PROG_TYPE_CGROUP_DEVICE program in
// bpf_cgroup_dev_ctx.access_type: (access << 16) | type (include/uapi/linux/bpf.h BPF_DEVCG_*).
const (
	accMknod = 1
	accRead  = 2
	accWrite = 4
	accAll   = accMknod | accRead | accWrite

	devBlock = 1
	devChar  = 2
)

// deviceRule is a parsed linux.resources.devices entry; major/minor -1 mean any.
type deviceRule struct {
	allow        bool
	typ          byte // 'a', 'b' or 'c'
	major, minor int64
	access       uint32
}

// errDeviceRule marks a malformed device rule.
var errDeviceRule = errors.New("invalid device rule")

func parseDeviceRule(r specs.LinuxDeviceCgroup) (deviceRule, error) {
	d := deviceRule{allow: r.Allow, major: -1, minor: -1}
	switch r.Type {
	case "", "a":
		d.typ = 'a'
	case "b", "c":
		d.typ = r.Type[0]
	default:
		return d, fmt.Errorf("device type %q: %w", r.Type, errDeviceRule)
	}
	if r.Major != nil {
		d.major = *r.Major
	}
	if r.Minor != nil {
		d.minor = *r.Minor
	}
	if d.major < -1 || d.minor < -1 || d.major > 1<<31-1 || d.minor > 1<<31-1 {
		return d, fmt.Errorf("device number %d:%d: %w", d.major, d.minor, errDeviceRule)
	}
	if r.Access == "" {
		// runc: "device access at %d field cannot be empty".
		return d, fmt.Errorf("empty access: %w", errDeviceRule)
	}
	for _, ch := range r.Access {
		switch ch {
		case 'r':
			d.access |= accRead
		case 'w':
			d.access |= accWrite
		case 'm':
			d.access |= accMknod
		default:
			return d, fmt.Errorf("access %q: %w", r.Access, errDeviceRule)
		}
	}
	return d, nil
}

// matchesAll reports whether the rule covers every device and every access: it resets everything before it.
func (d deviceRule) matchesAll() bool {
	return d.typ == 'a' && d.major == -1 && d.minor == -1 && d.access == accAll
}

// compileDeviceFilter builds the BPF_PROG_TYPE_CGROUP_DEVICE program for rules: the last matching rule decides,
// and a request no rule matches is denied (default deny, as runc's devicefilter generates for an allow-list).
// An allow rule matches when it grants every requested access bit; a deny rule when it refuses any of them, so a
// later deny always wins over an earlier allow. Rules before the last rule that matches everything ("a *:* rwm")
// can never decide and are dropped.
//
// Register use: R1 ctx, R2 access_type, R3 device type, R4 requested access, R5 major, R6 minor, R7 scratch.
func compileDeviceFilter(rules []specs.LinuxDeviceCgroup) (asm.Instructions, error) {
	parsed := make([]deviceRule, 0, len(rules))
	for i, r := range rules {
		d, err := parseDeviceRule(r)
		if err != nil {
			return nil, fmt.Errorf("device rule %d: %w", i, err)
		}
		if d.matchesAll() {
			parsed = parsed[:0]
		}
		parsed = append(parsed, d)
	}
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.Mov.Reg32(asm.R3, asm.R2),
		asm.And.Imm32(asm.R3, 0xffff),
		asm.Mov.Reg32(asm.R4, asm.R2),
		asm.RSh.Imm32(asm.R4, 16),
		asm.LoadMem(asm.R5, asm.R1, 4, asm.Word),
		asm.LoadMem(asm.R6, asm.R1, 8, asm.Word),
	}
	label := func(i int) string { return "rule" + strconv.Itoa(i) }
	pendingSym := "" // the label the next emitted instruction must carry
	emit := func(ins asm.Instruction) {
		if pendingSym != "" {
			ins = ins.WithSymbol(pendingSym)
			pendingSym = ""
		}
		insns = append(insns, ins)
	}
	// Later rules win, so test them first.
	for n, i := 0, len(parsed)-1; i >= 0; n, i = n+1, i-1 {
		d := parsed[i]
		next := label(n + 1)
		conds := 0
		switch d.typ {
		case 'b':
			emit(asm.JNE.Imm(asm.R3, devBlock, next))
			conds++
		case 'c':
			emit(asm.JNE.Imm(asm.R3, devChar, next))
			conds++
		}
		if d.access != accAll {
			emit(asm.Mov.Reg32(asm.R7, asm.R4))
			if d.allow {
				emit(asm.And.Imm32(asm.R7, int32(^d.access&accAll)))
				emit(asm.JNE.Imm(asm.R7, 0, next))
			} else {
				emit(asm.And.Imm32(asm.R7, int32(d.access)))
				emit(asm.JEq.Imm(asm.R7, 0, next))
			}
			conds++
		}
		if d.major >= 0 {
			emit(asm.JNE.Imm(asm.R5, int32(d.major), next))
			conds++
		}
		if d.minor >= 0 {
			emit(asm.JNE.Imm(asm.R6, int32(d.minor), next))
			conds++
		}
		verdict := int32(0)
		if d.allow {
			verdict = 1
		}
		emit(asm.Mov.Imm32(asm.R0, verdict))
		emit(asm.Return())
		if conds == 0 {
			// Unconditional: anything after it is unreachable, which the verifier rejects.
			return insns, nil
		}
		pendingSym = next
	}
	emit(asm.Mov.Imm32(asm.R0, 0))
	emit(asm.Return())
	return insns, nil
}

// attachDeviceFilter loads the device program for rules and attaches it to the v2 cgroup dir with
// BPF_F_ALLOW_MULTI, then detaches the programs that were there before, so the cgroup is never without a filter
// and an update replaces the old rules in one step (the order runc's fs2 devices code uses). Requires
// CAP_SYS_ADMIN (CAP_BPF alone is not enough to attach to a cgroup).
func attachDeviceFilter(dir string, rules []specs.LinuxDeviceCgroup) error {
	insns, err := compileDeviceFilter(rules)
	if err != nil {
		return err
	}
	prog, err := loadDeviceProgram(insns, "Apache")
	if err != nil {
		return fmt.Errorf("load device program: %w", err)
	}
	defer unix.Close(prog)

	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)

	old, err := queryPrograms(fd, unix.BPF_CGROUP_DEVICE)
	if err != nil {
		return fmt.Errorf("query device programs of %s: %w", dir, err)
	}
	if err := attachProgram(fd, prog, unix.BPF_CGROUP_DEVICE, unix.BPF_F_ALLOW_MULTI); err != nil {
		return fmt.Errorf("attach device program to %s: %w", dir, err)
	}
	for _, id := range old {
		p, err := programByID(id)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // detached meanwhile
			}
			return fmt.Errorf("open old device program %d: %w", id, err)
		}
		err = detachProgram(fd, p, unix.BPF_CGROUP_DEVICE)
		unix.Close(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("detach old device program %d: %w", id, err)
		}
	}
	return nil
}
