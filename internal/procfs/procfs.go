// Package procfs is rt's access to /proc: a private procfs instance no mount can cover, the safe write under a
// trusted handle, uid/gid maps, setgroups, and namespace identity. Used by the parent and by `rt init` alike.
package procfs

import (
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/rawfile"
)

// Private mounts a procfs instance of the calling process's pid namespace that is attached nowhere
// (fsopen(2), fsmount(2), Linux 5.2): the returned directory fd is its only reference, so no mount anyone makes
// later, in the container or elsewhere, can cover or redirect a path under it (the CVE-2025-52881 class). It needs
// CAP_SYS_ADMIN over the pid namespace's owner.
func Private() (*os.File, error) {
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

// Write writes value to path under proc, a trusted procfs handle: RESOLVE_BENEATH keeps the walk inside it and
// RESOLVE_NO_MAGICLINKS refuses a way out through a magic link; resolve adds to those (procfs's self and
// thread-self are plain symlinks, so only sysctls can also refuse every symlink).
func Write(proc *os.File, path, value string, resolve uint64) error {
	fd, err := unix.Openat2(int(proc.Fd()), path, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | resolve,
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

// Has reports whether path exists under proc, a trusted procfs handle, resolved as Write resolves it: for asking
// what the kernel offers (an attr file of one LSM) without opening the file.
func Has(proc *os.File, path string) bool {
	fd, err := unix.Openat2(int(proc.Fd()), path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// SetgroupsDenied reports whether setgroups(2) is denied in the user namespace of process pid ("self" or a number):
// /proc/<pid>/setgroups says "deny" (user_namespaces(7)). A file that cannot be read (a kernel before 3.19) denies
// nothing.
func SetgroupsDenied(pid string) bool {
	data, err := os.ReadFile("/proc/" + pid + "/setgroups")
	return err == nil && strings.TrimSpace(string(data)) == "deny"
}

// SelfSetgroupsDenied is SetgroupsDenied("self") read under proc, a trusted procfs handle, resolved as Write
// resolves it: after pivot_root, /proc is whatever the container's rootfs puts there, and a fake "deny" would keep
// the host's supplementary groups.
func SelfSetgroupsDenied(proc *os.File) bool {
	fd, err := unix.Openat2(int(proc.Fd()), "self/setgroups", &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), "/proc/self/setgroups")
	defer f.Close()
	buf := make([]byte, 16)
	n, _ := f.Read(buf)
	return strings.TrimSpace(string(buf[:n])) == "deny"
}

// SameNamespace reports whether the nsfs files at a and b (/proc/PID/ns/*, or a bind mount of one) are one
// namespace: the same device and inode (namespaces(7)).
func SameNamespace(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, &os.PathError{Op: "stat", Path: a, Err: err}
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, &os.PathError{Op: "stat", Path: b, Err: err}
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// Mounts returns the mounts of /proc/self/mountinfo that filter keeps: the mount namespace of the thread-group
// leader. rt keeps every process's main thread in the process's own mount namespace (the parent moves only other,
// locked threads: see libcontainer's joinMountNS; `rt init` is put in its namespaces whole, before the Go runtime
// starts), so this is every thread's table. Do not use it on a thread that has joined another mount namespace:
// that needs /proc/thread-self/mountinfo.
//
// moby/sys/mountinfo.GetMounts reads /proc/thread-self/mountinfo instead, which makes the kernel create
// /proc/<pid>/task/<tid> dentries; reaping the exited process then walks them (proc_flush_pid, which spins on those
// its dying threads still hold), a few ms of CPU charged to whoever waits for rt.
func Mounts(filter mountinfo.FilterFunc) ([]*mountinfo.Info, error) {
	f, err := rawfile.OpenFile("/proc/self/mountinfo", unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mountinfo.GetMountsFromReader(f, filter)
}
