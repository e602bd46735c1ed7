package libcontainer

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
// <pid>/task/<tid>; RESOLVE_BENEATH keeps the walk inside proc and RESOLVE_NO_MAGICLINKS refuses a way out.
func writeAttr(proc *os.File, name, value string) error {
	path := "thread-self/attr/" + name
	fd, err := unix.Openat2(int(proc.Fd()), path, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return &os.PathError{Op: "open", Path: "/proc/" + path, Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return &os.PathError{Op: "write", Path: "/proc/" + path, Err: err}
	}
	return nil
}

// privateProcfs mounts a procfs instance of the caller's pid namespace that is attached nowhere (fsopen(2),
// fsmount(2)): a process that joined a running container has no trusted /proc of its own, and nothing the
// container mounts can cover a mount that is not in its tree. The returned directory fd is the only reference.
func privateProcfs() (*os.File, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("fsopen proc", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, os.NewSyscallError("fsconfig proc", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("fsmount proc", err)
	}
	return os.NewFile(uintptr(mfd), "procfs"), nil
}

// setProcessLSM applies the process's LSM fields, if any, through the init's host procfs handle (fifo is nil for a
// process exec'd into a running container, which uses a private procfs instead).
func setProcessLSM(fifo *execFifo, p *specs.Process) error {
	if p.ApparmorProfile == "" && p.SelinuxLabel == "" {
		return nil
	}
	if fifo != nil {
		return applyLSM(fifo.proc, p)
	}
	proc, err := privateProcfs()
	if err != nil {
		return fmt.Errorf("process LSM attributes: %w", err)
	}
	defer proc.Close()
	return applyLSM(proc, p)
}

// HostLSMs reports whether AppArmor and SELinux are enabled on this host, as `rt features` says (runc reports the
// same two facts there).
func HostLSMs() (apparmor, selinux bool) {
	return apparmorEnabled(), isFS(selinuxfsPath, selinuxMagic)
}
