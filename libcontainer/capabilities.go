package libcontainer

import (
	"fmt"
	"log/slog"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capabilities maps capability names (capabilities(7)) to their numbers.
var capabilities = map[string]int{
	"CAP_AUDIT_CONTROL":      unix.CAP_AUDIT_CONTROL,
	"CAP_AUDIT_READ":         unix.CAP_AUDIT_READ,
	"CAP_AUDIT_WRITE":        unix.CAP_AUDIT_WRITE,
	"CAP_BLOCK_SUSPEND":      unix.CAP_BLOCK_SUSPEND,
	"CAP_BPF":                unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
	"CAP_CHOWN":              unix.CAP_CHOWN,
	"CAP_DAC_OVERRIDE":       unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH":    unix.CAP_DAC_READ_SEARCH,
	"CAP_FOWNER":             unix.CAP_FOWNER,
	"CAP_FSETID":             unix.CAP_FSETID,
	"CAP_IPC_LOCK":           unix.CAP_IPC_LOCK,
	"CAP_IPC_OWNER":          unix.CAP_IPC_OWNER,
	"CAP_KILL":               unix.CAP_KILL,
	"CAP_LEASE":              unix.CAP_LEASE,
	"CAP_LINUX_IMMUTABLE":    unix.CAP_LINUX_IMMUTABLE,
	"CAP_MAC_ADMIN":          unix.CAP_MAC_ADMIN,
	"CAP_MAC_OVERRIDE":       unix.CAP_MAC_OVERRIDE,
	"CAP_MKNOD":              unix.CAP_MKNOD,
	"CAP_NET_ADMIN":          unix.CAP_NET_ADMIN,
	"CAP_NET_BIND_SERVICE":   unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST":      unix.CAP_NET_BROADCAST,
	"CAP_NET_RAW":            unix.CAP_NET_RAW,
	"CAP_PERFMON":            unix.CAP_PERFMON,
	"CAP_SETFCAP":            unix.CAP_SETFCAP,
	"CAP_SETGID":             unix.CAP_SETGID,
	"CAP_SETPCAP":            unix.CAP_SETPCAP,
	"CAP_SETUID":             unix.CAP_SETUID,
	"CAP_SYSLOG":             unix.CAP_SYSLOG,
	"CAP_SYS_ADMIN":          unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT":           unix.CAP_SYS_BOOT,
	"CAP_SYS_CHROOT":         unix.CAP_SYS_CHROOT,
	"CAP_SYS_MODULE":         unix.CAP_SYS_MODULE,
	"CAP_SYS_NICE":           unix.CAP_SYS_NICE,
	"CAP_SYS_PACCT":          unix.CAP_SYS_PACCT,
	"CAP_SYS_PTRACE":         unix.CAP_SYS_PTRACE,
	"CAP_SYS_RAWIO":          unix.CAP_SYS_RAWIO,
	"CAP_SYS_RESOURCE":       unix.CAP_SYS_RESOURCE,
	"CAP_SYS_TIME":           unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG":     unix.CAP_SYS_TTY_CONFIG,
	"CAP_WAKE_ALARM":         unix.CAP_WAKE_ALARM,
}

// capabilityValue looks a capability name up; an unknown name is refused, not ignored (runc 1.1 only warned).
func capabilityValue(name string) (int, bool) {
	v, ok := capabilities[name]
	return v, ok
}

// capSet is a set of capabilities as the capset(2) data words hold them.
type capSet [2]uint32

func capsOf(names []string) capSet {
	var s capSet
	for _, n := range names {
		if v, ok := capabilities[n]; ok {
			s[v/32] |= 1 << (uint(v) % 32)
		}
	}
	return s
}

func (s capSet) has(c int) bool { return s[c/32]&(1<<(uint(c)%32)) != 0 }

// dropBounding removes from the bounding set every capability the process does not keep. It needs CAP_SETPCAP, so
// it runs before the switch to the process's user.
func dropBounding(c *specs.LinuxCapabilities) error {
	keep := capsOf(c.Bounding)
	last := lastCap()
	for v := 0; v <= last; v++ {
		if keep.has(v) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(v), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", v, os.NewSyscallError("prctl", err))
		}
	}
	return nil
}

// applyCaps sets the effective, permitted and inheritable sets of the calling thread, then raises the ambient ones.
// The thread is the one that will execve (the init locks itself to its OS thread).
func applyCaps(c *specs.LinuxCapabilities) error {
	eff, perm, inh := capsOf(c.Effective), capsOf(c.Permitted), capsOf(c.Inheritable)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: eff[0], Permitted: perm[0], Inheritable: inh[0]},
		{Effective: eff[1], Permitted: perm[1], Inheritable: inh[1]},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", os.NewSyscallError("capset", err))
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", os.NewSyscallError("prctl", err))
	}
	for _, n := range c.Ambient {
		v := capabilities[n]
		// A capability missing from the permitted or inheritable set cannot be ambient; runc ignores that too,
		// and `runc spec` configs rely on it (ambient set, inheritable empty).
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(v), 0, 0); err != nil && err != unix.EPERM {
			return fmt.Errorf("raise ambient capability %s: %w", n, os.NewSyscallError("prctl", err))
		}
	}
	return nil
}

// warnAmbient logs, in runc's words, each ambient capability the kernel will refuse to raise because it is not in
// both the permitted and the inheritable set (capabilities(7), "Ambient capability set"): applyCaps skips those,
// as runc does (it warns from its init and carries on). Called once the config has been accepted, so a refused
// one prints only its error.
func warnAmbient(p *specs.Process) {
	if p == nil || p.Capabilities == nil {
		return
	}
	c := p.Capabilities
	perm, inh := capsOf(c.Permitted), capsOf(c.Inheritable)
	for _, n := range c.Ambient {
		if v, ok := capabilities[n]; ok && (!perm.has(v) || !inh.has(v)) {
			slog.Warn(fmt.Sprintf("can't raise ambient capability %s: %v", n, unix.EPERM))
		}
	}
}

// lastCap is the highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
func lastCap() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	var n int
	if _, err := fmt.Sscanf(string(data), "%d", &n); err != nil {
		return unix.CAP_LAST_CAP
	}
	return n
}

// CapabilityNames lists every capability name rt knows.
func CapabilityNames() []string {
	names := make([]string, 0, len(capabilities))
	for n := range capabilities {
		names = append(names, n)
	}
	return names
}
