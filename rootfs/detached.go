package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Every mount is built detached and finished before it is attached (the new mount API, Linux 5.2; mount_setattr(2)
// 5.12): a bind is an open_tree(2) OPEN_TREE_CLONE of its source, a filesystem an fsopen(2)/fsconfig(2)/fsmount(2)
// instance, and every attribute (ro, nosuid, nodev, noexec, atime, the recursive ones, the idmapping), a tmpfs's
// mode and tmpcopyup's contents are set on that detached mount. move_mount(2) then attaches it onto the O_PATH
// handle of its destination, resolved inside the rootfs before. Nothing is looked up by name once a mount exists:
// a container sharing a volume cannot swap a path for a symlink between the mount and a follow-up that a name
// lookup would then apply to another mount (the remount race, issue 17). Propagation is the one change made after
// the attach, through the same mount fd, since attaching under a shared parent makes the new tree shared
// (mount_namespaces(7)): setting it before would be undone. The host kernel (6.18) and User-mode Linux's (6.1)
// both have the whole API; there is no mount(2) fallback.

// tree is a detached (or, once attached, attached) mount: the fd open_tree(2) or fsmount(2) returned, which keeps
// referring to that mount wherever it is attached.
type tree struct {
	fd   int
	name string
}

// Close closes the mount fd; a detached mount that was never attached is then unmounted by the kernel.
func (t *tree) Close() {
	if t.fd >= 0 {
		_ = unix.Close(t.fd)
		t.fd = -1
	}
}

// BindTree makes the bind mount m asks for as a detached mount, finished, for the caller to attach with
// move_mount(2): open_tree(2) OPEN_TREE_CLONE of the source (AT_RECURSIVE for rbind; symlinks followed: the source
// is the caller's, not the container's), MOUNT_ATTR_IDMAP with the user namespace idmapNS when it is not nil
// (AT_RECURSIVE for ridmap), then the per-mount flags as a bind remount would set them (only when the options ask
// for one, as runc remounts), then the recursive attributes (rro, rnosuid, ...). A relative source is relative to
// bundleDir. It works in any mount namespace the caller is in: the parent calls it in the container's, the init in
// its own. The errors name the source; the caller names the mount.
func BindTree(m *specs.Mount, bundleDir string, idmapNS *os.File) (*os.File, error) {
	t, err := bindTree(m, parseOptions(m.Options), bundleDir, idmapNS)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(t.fd), t.name), nil
}

func bindTree(m *specs.Mount, o mountOpts, bundleDir string, idmapNS *os.File) (*tree, error) {
	src := m.Source
	if !filepath.IsAbs(src) && bundleDir != "" {
		src = filepath.Join(bundleDir, src)
	}
	t, err := cloneTree(unix.AT_FDCWD, src, src, o)
	if err != nil {
		return nil, err
	}
	if err := t.finish(o, idmapNS); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// cloneTree is open_tree(2) OPEN_TREE_CLONE of path in dirfd ("" for dirfd itself), recursive for rbind; name is
// the source for errors.
func cloneTree(dirfd int, path, name string, o mountOpts) (*tree, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	fd, err := unix.OpenTree(dirfd, path, flags)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: name, Err: err}
	}
	return &tree{fd: fd, name: name}, nil
}

// FinishIdmapped finishes the detached bind mount f, a clone of the source of m the init made (a source inside the
// rootfs, which exists only once the earlier mounts are made): MOUNT_ATTR_IDMAP with idmapNS, then the flags and
// recursive attributes, as BindTree does. Setting the idmapping needs the runtime's own credentials: call it in the
// parent.
func FinishIdmapped(f *os.File, m *specs.Mount, idmapNS *os.File) error {
	t := &tree{fd: int(f.Fd()), name: m.Source}
	return t.finish(parseOptions(m.Options), idmapNS)
}

// finish sets MOUNT_ATTR_IDMAP with the user namespace idmapNS when it is not nil (AT_RECURSIVE for ridmap), then
// the per-mount flags as a bind remount would set them (only when the options ask for one, as runc remounts), then
// the recursive attributes (rro, rnosuid, ...).
func (t *tree) finish(o mountOpts, idmapNS *os.File) error {
	if idmapNS != nil {
		setFlags := uint(unix.AT_EMPTY_PATH)
		if o.ridmap {
			setFlags |= unix.AT_RECURSIVE
		}
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(idmapNS.Fd())}
		if err := unix.MountSetattr(t.fd, "", setFlags, &attr); err != nil {
			// EINVAL: the filesystem cannot be idmapped (no FS_ALLOW_IDMAP), or a mount in the tree already is.
			return &os.PathError{Op: "mount_setattr MOUNT_ATTR_IDMAP", Path: t.name, Err: err}
		}
	}
	if needsRemount(o) {
		if err := t.remount(o); err != nil {
			return err
		}
	}
	return t.setRecursive(o)
}

// remount gives the top mount of t exactly the per-mount flags a MS_REMOUNT|MS_BIND mount(2) with o's flags would
// (remountAttr). When the kernel refuses (EPERM: in a user namespace the flags a mount came with are locked), it
// retries with the locked flags the mount has re-applied, unless o asks to clear one or for another atime mode:
// those fail with runc 1.5's texts.
func (t *tree) remount(o mountOpts) error {
	flags := o.flags & perMountFlags
	a := remountAttr(flags)
	err := unix.MountSetattr(t.fd, "", unix.AT_EMPTY_PATH, &a)
	if errors.Is(err, unix.EPERM) {
		var st unix.Statfs_t
		if err := unix.Fstatfs(t.fd, &st); err != nil {
			return &os.PathError{Op: "fstatfs", Path: t.name, Err: err}
		}
		src := lockedFlags(st.Flags)
		if src&atimeFlags == 0 {
			src |= unix.MS_STRICTATIME // no atime flag in statfs(2) is strictatime (runc's statfsToMountFlags)
		}
		perm := &os.PathError{Op: "mount_setattr", Path: t.name, Err: err}
		if locked := src & o.cleared & lockableFlags; locked != 0 {
			return fmt.Errorf("cannot clear locked flags %s: %w", flagNames(locked), perm)
		}
		if want := flags & (atimeFlags | unix.MS_NODIRATIME); want != 0 && want != src&(atimeFlags|unix.MS_NODIRATIME) {
			return fmt.Errorf("cannot change locked atime flags %s: %w", flagNames(src&(atimeFlags|unix.MS_NODIRATIME)), perm)
		}
		a = remountAttr(keepLocked(flags, src&lockableFlags))
		if err = unix.MountSetattr(t.fd, "", unix.AT_EMPTY_PATH, &a); err != nil {
			return fmt.Errorf("remount with locked flags %s re-applied: %w", flagNames(src&lockableFlags), &os.PathError{Op: "mount_setattr", Path: t.name, Err: err})
		}
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "mount_setattr", Path: t.name, Err: err}
	}
	return nil
}

// setRecursive applies the recursive attributes (rro, rnosuid, ...) to the whole tree.
func (t *tree) setRecursive(o mountOpts) error {
	if o.recAttr == nil {
		return nil
	}
	if err := unix.MountSetattr(t.fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, o.recAttr); err != nil {
		return &os.PathError{Op: "mount_setattr", Path: t.name, Err: err}
	}
	return nil
}

// setPropagation applies the propagation options in order to the mount t (attached by then: see the top).
func (t *tree) setPropagation(o mountOpts, dest string) error {
	for _, pr := range o.propagation {
		if err := setPropagation(t.fd, pr, dest); err != nil {
			return err
		}
	}
	return nil
}

// setPropagation is mount_setattr(2) of the propagation type in the MS_* flags pr (MS_REC: the whole tree).
func setPropagation(fd int, pr uintptr, dest string) error {
	flags := uint(unix.AT_EMPTY_PATH)
	if pr&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Propagation: uint64(pr &^ unix.MS_REC)}
	if err := unix.MountSetattr(fd, "", flags, &attr); err != nil {
		return &os.PathError{Op: "mount_setattr", Path: dest, Err: err}
	}
	return nil
}

// fsTree makes a new detached filesystem instance: fsopen(2) of typ, fsconfig(2) of the source and of each option
// in data (key=value as a string, a bare key as a flag: what mount(2) does with the data string for filesystems
// that parse their parameters, and legacy ones get it joined again), the superblock flags, then fsmount(2) with the
// per-mount attributes. extra are options added after data (a tmpfs's inherited mode). With rw set, the mount is
// made writable and the caller applies MOUNT_ATTR_RDONLY after filling it (tmpcopyup).
func fsTree(src, typ, dest string, o mountOpts, extra []string, rw bool) (_ *tree, retErr error) {
	fsfd, err := unix.Fsopen(typ, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "fsopen " + typ, Path: dest, Err: err}
	}
	defer unix.Close(fsfd)
	// set is one fsconfig(2) call: "key=value" a string (an empty one too), a bare "key" a flag.
	set := func(opt string) error {
		var err error
		key, value, isString := strings.Cut(opt, "=")
		if isString {
			err = unix.FsconfigSetString(fsfd, key, value)
		} else {
			err = unix.FsconfigSetFlag(fsfd, key)
		}
		if err != nil {
			return &os.PathError{Op: "fsconfig " + key, Path: dest, Err: err}
		}
		return nil
	}
	// A v1 hierarchy's superblock is the host's (cgroup1_get_tree finds its root): "ro" could not change it, and
	// would cost one fsconfig per hierarchy; MOUNT_ATTR_RDONLY makes the mount read-only.
	opts := sbFlagOptions(o.flags, rw || typ == "cgroup")
	if src != "" {
		opts = append([]string{"source=" + src}, opts...)
	}
	for _, opt := range append(append(opts, splitData(o.data)...), extra...) {
		if err := set(opt); err != nil {
			return nil, err
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, &os.PathError{Op: "fsconfig create " + typ, Path: dest, Err: err}
	}
	flags := o.flags
	if rw {
		flags &^= unix.MS_RDONLY
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, fsmountAttr(flags))
	if err != nil {
		return nil, &os.PathError{Op: "fsmount " + typ, Path: dest, Err: err}
	}
	t := &tree{fd: mfd, name: dest}
	defer func() {
		if retErr != nil {
			t.Close()
		}
	}()
	if err := t.setRecursive(o); err != nil {
		return nil, err
	}
	return t, nil
}

// splitData splits a mount data string at its commas, skipping empty options. A comma escaped with a backslash
// (overlayfs paths) stays in its option.
func splitData(data string) []string {
	if data == "" {
		return nil
	}
	var opts []string
	start := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case ',':
			if i > start {
				opts = append(opts, data[start:i])
			}
			start = i + 1
		}
	}
	if start < len(data) {
		opts = append(opts, data[start:])
	}
	return opts
}

// attach moves the detached mount t onto the handle dst (resolved inside the rootfs before t existed); dst is
// closed. The error names dest, the in-container path.
func (t *tree) attach(dst *handle, dest string) error {
	defer dst.Close()
	if err := unix.MoveMount(t.fd, "", dst.fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount", Path: dest, Err: err}
	}
	return nil
}

// dir opens the root of the mount t as a directory, to fill it (tmpcopyup).
func (t *tree) dir() (*os.File, error) {
	fd, err := unix.Openat(t.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: t.name, Err: err}
	}
	return os.NewFile(uintptr(fd), t.name), nil
}

// attachIn makes the directory name (0755) in the mount parent, a tmpfs this process has just made and filled
// (the cgroup tree), and attaches t there: move_mount(2) resolves the one name under parent's fd, where nothing
// but this process can have put anything, without a handle of its own.
func (t *tree) attachIn(parent *tree, name, dest string) error {
	if err := unix.Mkdirat(parent.fd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mkdirat", Path: dest, Err: err}
	}
	if err := unix.MoveMount(t.fd, "", parent.fd, name, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount", Path: dest, Err: err}
	}
	return nil
}
