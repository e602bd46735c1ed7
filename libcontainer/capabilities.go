package libcontainer

import (
	"fmt"
	"log/slog"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// capabilities maps capability names (capabilities(7)) to their numbers.
var capabilities = table.Table[string, int]{
	{Key: "CAP_AUDIT_CONTROL", Val: unix.CAP_AUDIT_CONTROL},
	{Key: "CAP_AUDIT_READ", Val: unix.CAP_AUDIT_READ},
	{Key: "CAP_AUDIT_WRITE", Val: unix.CAP_AUDIT_WRITE},
	{Key: "CAP_BLOCK_SUSPEND", Val: unix.CAP_BLOCK_SUSPEND},
	{Key: "CAP_BPF", Val: unix.CAP_BPF},
	{Key: "CAP_CHECKPOINT_RESTORE", Val: unix.CAP_CHECKPOINT_RESTORE},
	{Key: "CAP_CHOWN", Val: unix.CAP_CHOWN},
	{Key: "CAP_DAC_OVERRIDE", Val: unix.CAP_DAC_OVERRIDE},
	{Key: "CAP_DAC_READ_SEARCH", Val: unix.CAP_DAC_READ_SEARCH},
	{Key: "CAP_FOWNER", Val: unix.CAP_FOWNER},
	{Key: "CAP_FSETID", Val: unix.CAP_FSETID},
	{Key: "CAP_IPC_LOCK", Val: unix.CAP_IPC_LOCK},
	{Key: "CAP_IPC_OWNER", Val: unix.CAP_IPC_OWNER},
	{Key: "CAP_KILL", Val: unix.CAP_KILL},
	{Key: "CAP_LEASE", Val: unix.CAP_LEASE},
	{Key: "CAP_LINUX_IMMUTABLE", Val: unix.CAP_LINUX_IMMUTABLE},
	{Key: "CAP_MAC_ADMIN", Val: unix.CAP_MAC_ADMIN},
	{Key: "CAP_MAC_OVERRIDE", Val: unix.CAP_MAC_OVERRIDE},
	{Key: "CAP_MKNOD", Val: unix.CAP_MKNOD},
	{Key: "CAP_NET_ADMIN", Val: unix.CAP_NET_ADMIN},
	{Key: "CAP_NET_BIND_SERVICE", Val: unix.CAP_NET_BIND_SERVICE},
	{Key: "CAP_NET_BROADCAST", Val: unix.CAP_NET_BROADCAST},
	{Key: "CAP_NET_RAW", Val: unix.CAP_NET_RAW},
	{Key: "CAP_PERFMON", Val: unix.CAP_PERFMON},
	{Key: "CAP_SETFCAP", Val: unix.CAP_SETFCAP},
	{Key: "CAP_SETGID", Val: unix.CAP_SETGID},
	{Key: "CAP_SETPCAP", Val: unix.CAP_SETPCAP},
	{Key: "CAP_SETUID", Val: unix.CAP_SETUID},
	{Key: "CAP_SYSLOG", Val: unix.CAP_SYSLOG},
	{Key: "CAP_SYS_ADMIN", Val: unix.CAP_SYS_ADMIN},
	{Key: "CAP_SYS_BOOT", Val: unix.CAP_SYS_BOOT},
	{Key: "CAP_SYS_CHROOT", Val: unix.CAP_SYS_CHROOT},
	{Key: "CAP_SYS_MODULE", Val: unix.CAP_SYS_MODULE},
	{Key: "CAP_SYS_NICE", Val: unix.CAP_SYS_NICE},
	{Key: "CAP_SYS_PACCT", Val: unix.CAP_SYS_PACCT},
	{Key: "CAP_SYS_PTRACE", Val: unix.CAP_SYS_PTRACE},
	{Key: "CAP_SYS_RAWIO", Val: unix.CAP_SYS_RAWIO},
	{Key: "CAP_SYS_RESOURCE", Val: unix.CAP_SYS_RESOURCE},
	{Key: "CAP_SYS_TIME", Val: unix.CAP_SYS_TIME},
	{Key: "CAP_SYS_TTY_CONFIG", Val: unix.CAP_SYS_TTY_CONFIG},
	{Key: "CAP_WAKE_ALARM", Val: unix.CAP_WAKE_ALARM},
}

// capabilityValue looks a capability name up; an unknown name is refused, not ignored (runc 1.1 only warned).
func capabilityValue(name string) (int, bool) {
	v, ok := capabilities.Get(name)
	return v, ok
}

// capSet is a set of capabilities as the capset(2) data words hold them.
type capSet [2]uint32

func capsOf(names []string) capSet {
	var s capSet
	for _, n := range names {
		if v, ok := capabilities.Get(n); ok {
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
	// Up to the first capability the kernel does not know (prctl(2): EINVAL), not to
	// /proc/sys/kernel/cap_last_cap: that is the container's procfs here, which a container allowed to mount could
	// cover with a lower number to keep capabilities in the bounding set; and reading it was an open, a read and
	// a close in every process start.
	for v := 0; v < 64; v++ {
		if keep.has(v) {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(v), 0, 0, 0)
		// Every kernel Go runs on (Linux 3.2 or later) knows the capabilities up to CAP_WAKE_ALARM (Linux 3.0):
		// an EINVAL below that is not the end of the kernel's list but a refusal, from the config's own seccomp
		// filter (loaded before this without no_new_privs), and stopping would leave the rest in the set. runc
		// ignores every EINVAL and goes on; rt fails instead.
		if err == unix.EINVAL && v > unix.CAP_WAKE_ALARM {
			return nil
		}
		if err != nil {
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
		v := capabilities.Val(n)
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
		if v, ok := capabilities.Get(n); ok && (!perm.has(v) || !inh.has(v)) {
			slog.Warn(fmt.Sprintf("can't raise ambient capability %s: %v", n, unix.EPERM))
		}
	}
}

// CapabilityNames lists every capability name rt knows.
func CapabilityNames() []string {
	return capabilities.Keys()
}
