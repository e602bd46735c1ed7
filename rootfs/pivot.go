package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/procfs"
)

// Pivot makes root the process's root directory with pivot_root(2), or MS_MOVE + chroot when noPivot is set. It
// ends with the working directory at the new "/".
//
// pivot_root(".", ".") stacks the old root on top of the new one at "/"; the old root is then made rslave (so the
// detach below cannot propagate to the host) and lazily unmounted, without ever needing a directory for it in
// the rootfs (pivot_root(2) NOTES; runc's pivotRoot).
func Pivot(root string, noPivot bool) error {
	if noPivot {
		return moveRoot(root)
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return &os.PathError{Op: "fchdir", Path: root, Err: err}
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot root: %w", &os.PathError{Op: "pivot_root", Path: root, Err: err})
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return &os.PathError{Op: "fchdir", Path: "/", Err: err}
	}
	if err := mountPath("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", &os.PathError{Op: "umount2", Path: ".", Err: err})
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// moveRoot is --no-pivot: move the rootfs mount over "/" and chroot into it (runc's msMoveRoot, without pivot_root
// for a rootfs on initramfs). The old root stays reachable by a process that escapes the chroot: --no-pivot is
// weaker, as it is in runc.
func moveRoot(root string) error {
	if err := detachHostProcSys(root); err != nil {
		return fmt.Errorf("detach the host's proc and sysfs mounts: %w", err)
	}
	if err := unix.Chdir(root); err != nil {
		return &os.PathError{Op: "chdir", Path: root, Err: err}
	}
	if err := mountPath(root, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return &os.PathError{Op: "chroot", Path: root, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// detachHostProcSys detaches every whole procfs or sysfs mount outside root from this mount namespace, or covers
// it with an empty tmpfs where it cannot be unmounted. The kernel lets a user namespace mount a new procfs or sysfs
// only when a whole, uncovered one is already visible in its mount namespace; after a chroot the host's stay
// there, and a workload's `unshare -mrpf mount -t proc proc /proc` would get a procfs without the container's
// masks (runc's msMoveRoot does the same).
//
// An unmount (or the covering tmpfs) propagates to the peers of the mount it is on, not of the mount itself: with
// rootfsPropagation shared, "/" here is a peer of the host's, and runc 1.5.3's unmount of /proc detaches the
// host's /proc. So the mount each one is on is made a slave first (only that mount: the rootfs's own propagation is
// untouched), and the mount itself rslave, for the mounts under it.
func detachHostProcSys(root string) error {
	all, err := procfs.Mounts(nil) // not /proc/thread-self: the init is in this mount namespace whole
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	byID := make(map[int]*mountinfo.Info, len(all))
	for _, m := range all {
		byID[m.ID] = m
	}
	for _, m := range all {
		inRoot := m.Mountpoint == root || strings.HasPrefix(m.Mountpoint, root+"/")
		if m.Root != "/" || (m.FSType != "proc" && m.FSType != "sysfs") || inRoot {
			continue
		}
		parent, ok := byID[m.Parent]
		if !ok || parent.ID == m.ID {
			return fmt.Errorf("%s: the mount it is on (%d) is not in mountinfo", m.Mountpoint, m.Parent)
		}
		if err := mountPath("", parent.Mountpoint, "", unix.MS_SLAVE, ""); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		if err := mountPath("", m.Mountpoint, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // under a mount detached already
			}
			return err
		}
		err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) {
			// Locked in a user namespace: cover it instead.
			err = mountPath("tmpfs", m.Mountpoint, "tmpfs", 0, "")
		} else if err != nil {
			err = &os.PathError{Op: "umount2", Path: m.Mountpoint, Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
