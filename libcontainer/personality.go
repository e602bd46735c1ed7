package libcontainer

// linux.personality: validated in the parent (validateLinuxAttrs), applied in `rt init` (applyPersonality).

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// personalityDomains maps linux.personality.domain to PER_* (include/uapi/linux/personality.h).
var personalityDomains = table.Table[specs.LinuxPersonalityDomain, uintptr]{
	{Key: specs.PerLinux, Val: 0x0000},   // PER_LINUX
	{Key: specs.PerLinux32, Val: 0x0008}, // PER_LINUX32: uname(2) reports a 32-bit machine (i686 on x86_64)
}

// applyPersonality calls personality(2) with linux.personality. It is per task and kept across execve, so it is
// called on the thread that execs, in the container's init and in an exec'd process (runc applies it to both).
func applyPersonality(per *specs.LinuxPersonality) error {
	if per == nil {
		return nil
	}
	domain, ok := personalityDomains.Get(per.Domain)
	if !ok {
		return fieldError("linux.personality.domain", "unknown domain %q", per.Domain)
	}
	// personality(2) returns the previous persona; only -1 is an error. 0xffffffff would query, not set.
	if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, domain, 0, 0); errno != 0 {
		return fmt.Errorf("linux.personality: %w", os.NewSyscallError("personality", errno))
	}
	return nil
}
