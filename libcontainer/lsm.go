package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/procfs"
)

// applyLSM asks the kernel to start the process's next execve(2) in its AppArmor profile or SELinux label
// (process.apparmorProfile, process.selinuxLabel). Both are written to the calling thread's attr files (proc(5)
// /proc/pid/attr/exec), so it runs on the locked thread that will exec, and through proc, a procfs handle the
// container cannot have redirected (CVE-2025-52881: runc wrote these through the container's /proc). Validation
// has already refused either field on a host without that LSM.
func applyLSM(proc *os.File, p *specs.Process) error {
	if p.ApparmorProfile != "" {
		attr := apparmorExecAttr(proc)
		if err := writeAttr(proc, attr, "exec "+p.ApparmorProfile); err != nil {
			if attr == apparmorAttr && errors.Is(err, unix.ENOENT) {
				// The file is there (apparmorExecAttr opened it): AppArmor's change_onexec refuses a name it has no
				// profile for with ENOENT.
				return fmt.Errorf("process.apparmorProfile %q: profile not loaded in the kernel: %w", p.ApparmorProfile, err)
			}
			return fmt.Errorf("process.apparmorProfile %q: %w", p.ApparmorProfile, err)
		}
	}
	if p.SelinuxLabel != "" {
		// setexeccon(3): the label itself, in attr/exec.
		if err := writeAttr(proc, "exec", p.SelinuxLabel); err != nil {
			return fmt.Errorf("process.selinuxLabel %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

// apparmorExecAttr is the attr file AppArmor's change_onexec is written to: AppArmor's own attr/apparmor/exec where
// the kernel has that directory (Linux 5.8+), the shared attr/exec before. Decided by what the kernel offers, as
// runc's apparmor.setProcAttr does (it stats /proc/self/attr/apparmor/exec), never by a write's error: ENOENT from
// the write means the profile is not loaded.
func apparmorExecAttr(proc *os.File) string {
	if procfs.Has(proc, "thread-self/attr/"+apparmorAttr) {
		return apparmorAttr
	}
	return "exec"
}

// apparmorAttr is AppArmor's own exec attr file, under thread-self/attr.
const apparmorAttr = "apparmor/exec"

// writeAttr writes value to thread-self/attr/name under proc. thread-self is procfs's plain symlink to
// <pid>/task/<tid>, the calling thread.
func writeAttr(proc *os.File, name, value string) error {
	return procfs.Write(proc, "thread-self/attr/"+name, value, 0)
}

// setProcessLSM applies the process's LSM fields, if any, through proc, the init's trusted procfs handle; proc is nil
// for a process exec'd into a running container, which has no trusted /proc of its own and mounts a private procfs
// of its pid namespace, which nothing the container mounts can cover.
func setProcessLSM(proc *os.File, p *specs.Process) error {
	if p.ApparmorProfile == "" && p.SelinuxLabel == "" {
		return nil
	}
	if proc != nil {
		return applyLSM(proc, p)
	}
	proc, err := procfs.Private()
	if err != nil {
		return fmt.Errorf("process LSM attributes: %w", err)
	}
	defer proc.Close()
	return applyLSM(proc, p)
}

// Host facts about the LSMs, variables so that unit tests can point them elsewhere.
var (
	// apparmorPaths are what runc's apparmor.IsEnabled reads: the securityfs directory, and the module
	// parameter that says "Y" when AppArmor is the active LSM.
	apparmorPaths = [2]string{"/sys/kernel/security/apparmor", "/sys/module/apparmor/parameters/enabled"}
	// selinuxfsPath is where selinuxfs is mounted when SELinux is enabled (go-selinux looks there first).
	selinuxfsPath = "/sys/fs/selinux"
)

// errSelinuxOff is runc's refusal of a SELinux label where SELinux is off (libcontainer/configs/validate, and
// validateProcessSpec for exec), word for word.
const errSelinuxOff = "selinux label is specified in config, but selinux is disabled or not supported"

// selinuxMagic is SELINUX_MAGIC (include/uapi/linux/magic.h), the f_type of selinuxfs.
const selinuxMagic = 0xf97cff8c

// apparmorEnabled is runc's apparmor.IsEnabled: securityfs has an apparmor directory and the module says "Y".
func apparmorEnabled() bool {
	if _, err := os.Stat(apparmorPaths[0]); err != nil {
		return false
	}
	b, err := os.ReadFile(apparmorPaths[1])
	return err == nil && bytes.HasPrefix(b, []byte("Y"))
}
