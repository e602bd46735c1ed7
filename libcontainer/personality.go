package libcontainer

// linux.personality: validated in the parent (validateLinuxAttrs), applied in `rt init` (applyPersonality).

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// personalityDomains maps linux.personality.domain to PER_* (include/uapi/linux/personality.h).
var personalityDomains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000, // PER_LINUX
	specs.PerLinux32: 0x0008, // PER_LINUX32: uname(2) reports a 32-bit machine (i686 on x86_64)
}

// applyPersonality calls personality(2) with linux.personality. It is per task and kept across execve, so it is
// called on the thread that execs, in the container's init and in an exec'd process (runc applies it to both).
func applyPersonality(per *specs.LinuxPersonality) error {
	if per == nil {
		return nil
	}
	domain, ok := personalityDomains[per.Domain]
	if !ok {
		return fieldError("linux.personality.domain", "unknown domain %q", per.Domain)
	}
	// personality(2) returns the previous persona; only -1 is an error. 0xffffffff would query, not set.
	if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, domain, 0, 0); errno != 0 {
		return fmt.Errorf("linux.personality: %w", os.NewSyscallError("personality", errno))
	}
	return nil
}
