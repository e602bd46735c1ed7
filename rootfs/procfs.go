package rootfs

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// PrivateProcfs mounts a procfs instance of the calling process's pid namespace that is attached nowhere
// (fsopen(2), fsmount(2), Linux 5.2): the returned directory fd is its only reference, so no mount anyone makes
// later, in the container or elsewhere, can cover or redirect a path under it (the CVE-2025-52881 class). It needs
// CAP_SYS_ADMIN over the pid namespace's owner.
func PrivateProcfs() (*os.File, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("fsopen", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, os.NewSyscallError("fsconfig", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("fsmount", err)
	}
	return os.NewFile(uintptr(mfd), "proc"), nil
}

// IDMapText is the uid_map/gid_map form of ms: "inside outside count" lines (user_namespaces(7)).
func IDMapText(ms []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	return b.String()
}
