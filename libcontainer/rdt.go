package libcontainer

// linux.intelRdt: refused clearly rather than ignored; rt has no resctrl support yet.

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// resctrlPath is where Intel RDT's resctrl filesystem is mounted (Documentation/arch/x86/resctrl.rst); a variable so
// that unit tests can point it elsewhere.
var resctrlPath = "/sys/fs/resctrl"

// validateIntelRdt refuses linux.intelRdt, saying whether the host could have it at all.
func validateIntelRdt(r *specs.LinuxIntelRdt) error {
	if r == nil {
		return nil
	}
	if !isFS(resctrlPath, unix.RDTGROUP_SUPER_MAGIC) {
		return fieldError("linux.intelRdt", "the host has no resctrl filesystem (mount -t resctrl)")
	}
	return fieldError("linux.intelRdt", "Intel RDT is not supported by rt yet")
}
