package libcontainer

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/rootfs"
)

// applyLSM asks the kernel to start the process's next execve(2) in its AppArmor profile or SELinux label
// (process.apparmorProfile, process.selinuxLabel). Both are written to the calling thread's attr files (proc(5)
// /proc/pid/attr/exec), so it runs on the locked thread that will exec, and through proc, a procfs handle the
// container cannot have redirected (CVE-2025-52881: runc wrote these through the container's /proc). Validation
// has already refused either field on a host without that LSM.
func applyLSM(proc *os.File, p *specs.Process) error {
	if p.ApparmorProfile != "" {
		// AppArmor's own attr directory since Linux 5.8, the shared attr/exec before; runc's apparmor.ApplyProfile
		// writes "exec NAME" to the same two files in the same order.
		err := writeAttr(proc, "apparmor/exec", "exec "+p.ApparmorProfile)
		if errors.Is(err, unix.ENOENT) {
			err = writeAttr(proc, "exec", "exec "+p.ApparmorProfile)
		}
		if err != nil {
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

// writeAttr writes value to thread-self/attr/name under proc. thread-self is procfs's plain symlink to
// <pid>/task/<tid>, the calling thread.
func writeAttr(proc *os.File, name, value string) error {
	return writeProcFile(proc, "thread-self/attr/"+name, value, 0)
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
	proc, err := rootfs.PrivateProcfs()
	if err != nil {
		return fmt.Errorf("process LSM attributes: %w", err)
	}
	defer proc.Close()
	return applyLSM(proc, p)
}
