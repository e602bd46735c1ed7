package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Finalize runs after Pivot: read-only paths, masked paths, the read-only remount of /dev when the spec mounts it
// "ro", the read-only remount of / for root.readonly, then linux.rootfsPropagation on the new "/". runc's order:
// read-only paths before masked ones, / last. Sysctls must be written before Finalize (/proc/sys is usually a
// read-only path).
//
// Everything is done by fd with the new mount API (open_tree(2), move_mount(2), fsmount(2)), so it needs no /proc
// and follows no path twice.
func Finalize(spec *specs.Spec) error {
	root, err := openDir("/")
	if err != nil {
		return err
	}
	defer root.close()
	var lnx specs.Linux
	if spec.Linux != nil {
		lnx = *spec.Linux
	}
	for _, p := range lnx.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	if len(lnx.MaskedPaths) > 0 {
		null, err := devNull(root)
		if err != nil {
			return fmt.Errorf("mask paths: %w", err)
		}
		defer null.Close()
		m := &masker{root: root, null: null, tmpfs: -1}
		defer m.close()
		seen := map[string]bool{}
		for _, p := range lnx.MaskedPaths {
			// A path listed twice is masked once (runc 1.5).
			if clean := filepath.Clean("/" + p); !seen[clean] {
				seen[clean] = true
				if err := m.mask(p); err != nil {
					return fmt.Errorf("mask %s: %w", p, err)
				}
			}
		}
	}
	if needsSetupDev(spec.Mounts) {
		for _, m := range spec.Mounts {
			if filepath.Join("/", m.Destination) == "/dev" && parseOptions(m.Options).flags&unix.MS_RDONLY != 0 {
				if err := remountReadonly("/dev"); err != nil {
					return fmt.Errorf("make /dev read-only: %w", err)
				}
			}
		}
	}
	if spec.Root != nil && spec.Root.Readonly {
		if err := remountReadonly("/"); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if lnx.RootfsPropagation != "" {
		prop, err := propagationFlag(lnx.RootfsPropagation)
		if err != nil {
			return err
		}
		if err := mountPath("", "/", "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of /: %w", err)
		}
	}
	return nil
}

// remountReadonly remounts the mount at path read-only (MS_BIND|MS_REMOUNT|MS_RDONLY), keeping the flags it has:
// a bind remount resets every per-mount flag it is not given, and in a user namespace some are locked (runc).
func remountReadonly(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return mountPath("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|lockedFlags(st.Flags), "")
}

// openTarget resolves p under the (already pivoted) root with one openat2(2) RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS
// lookup (pathrs-lite where the kernel has no openat2); a missing path is (nil, nil): the spec's masked and
// read-only paths are ignored when absent, as runc does.
func openTarget(root *rootDir, p string) (*handle, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: inRootResolve}
	h, err := openat2(root.fd, filepath.Clean("/"+p), &how)
	if errors.Is(err, unix.ENOSYS) {
		var f *os.File
		if f, err = pathrs.OpenatInRoot(root.file(), p); err == nil {
			h = fileHandle(f)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return h, err
}

// readonlyPath binds p onto itself recursively and makes the top mount read-only; mount_setattr(2) sets only
// MOUNT_ATTR_RDONLY, so nosuid, nodev, noexec and the atime mode are kept (runc keeps them from statfs).
func readonlyPath(root *rootDir, p string) error {
	f, err := openTarget(root, p)
	if f == nil || err != nil {
		return err
	}
	defer f.Close()
	tfd, err := unix.OpenTree(int(f.Fd()), "", unix.OPEN_TREE_CLONE|unix.O_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return &os.PathError{Op: "open_tree", Path: p, Err: err}
	}
	defer unix.Close(tfd)
	if err := unix.MountSetattr(tfd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return &os.PathError{Op: "mount_setattr", Path: p, Err: err}
	}
	return moveMount(tfd, f, p)
}

// devNull opens the container's /dev/null and checks by fstat(2) of that very fd that it is the 1:3 character
// device: masking with a file the container planted there would expose it over /proc (CVE-2025-31133).
func devNull(root *rootDir) (*handle, error) {
	fd, err := unix.Openat(root.fd, "dev/null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: "/dev/null", Err: err}
	}
	f := newHandle(fd, "/dev/null")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "fstat", Path: "/dev/null", Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		f.Close()
		return nil, fmt.Errorf("/dev/null: %w", ErrNotDevNull)
	}
	return f, nil
}

// masker covers the masked paths: a bind of the verified /dev/null over a file, and one empty read-only tmpfs
// over every directory, the first attached and the others clones of it (runc 1.5 masks directories with one
// shared tmpfs).
type masker struct {
	root  *rootDir
	null  *handle
	tmpfs int // the masking tmpfs once made (attached at the first directory), else -1
}

func (m *masker) close() {
	if m.tmpfs >= 0 {
		_ = unix.Close(m.tmpfs)
	}
}

// mask covers p (runc's maskPath).
func (m *masker) mask(p string) error {
	f, err := openTarget(m.root, p)
	if f == nil || err != nil {
		return err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "fstat", Path: p, Err: err}
	}
	var tfd int
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		tfd, err = unix.OpenTree(int(m.null.Fd()), "", unix.OPEN_TREE_CLONE|unix.O_CLOEXEC|unix.AT_EMPTY_PATH)
		if err != nil {
			return &os.PathError{Op: "open_tree", Path: "/dev/null", Err: err}
		}
	case m.tmpfs < 0:
		if m.tmpfs, err = emptyTmpfs(p); err != nil {
			return err
		}
		return moveMount(m.tmpfs, f, p) // m.tmpfs stays open: it refers to the attached mount, to clone
	default:
		tfd, err = unix.OpenTree(m.tmpfs, "", unix.OPEN_TREE_CLONE|unix.O_CLOEXEC|unix.AT_EMPTY_PATH)
		if err != nil {
			return &os.PathError{Op: "open_tree", Path: p, Err: err}
		}
	}
	defer unix.Close(tfd)
	return moveMount(tfd, f, p)
}

// emptyTmpfs returns a detached read-only tmpfs mount.
func emptyTmpfs(p string) (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, &os.PathError{Op: "fsopen", Path: p, Err: err}
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, &os.PathError{Op: "fsconfig", Path: p, Err: err}
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return -1, &os.PathError{Op: "fsmount", Path: p, Err: err}
	}
	return mfd, nil
}

// moveMount attaches the detached mount tfd on top of what f refers to.
func moveMount(tfd int, f *handle, p string) error {
	if err := unix.MoveMount(tfd, "", int(f.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount", Path: p, Err: err}
	}
	return nil
}
