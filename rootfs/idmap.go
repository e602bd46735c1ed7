package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/procfs"
)

// IsIdmapped says whether m asks for an idmapped mount (runtime-spec config.md "uidMappings"/"gidMappings"):
// mappings of its own, or the idmap or ridmap option.
func IsIdmapped(m *specs.Mount) bool {
	o := parseOptions(m.Options)
	return len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 || o.idmap || o.ridmap
}

// OpenIdmapped makes the idmapped bind mount m asks for as a detached mount, for the caller to attach with
// move_mount(2): open_tree(2) OPEN_TREE_CLONE of the source (AT_RECURSIVE for rbind), mount_setattr(2)
// MOUNT_ATTR_IDMAP (AT_RECURSIVE for ridmap), then the per-mount flags (ro, nosuid, ...) on its top mount. The
// mapping is the mount's own uidMappings/gidMappings, through a user namespace made for them; a mount without any
// takes ownNS, the container's user namespace, and is refused when that is nil. A relative source is relative to
// bundleDir, as for every bind mount.
//
// Setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the user namespace that owns the source's filesystem: call it
// in the runtime's own namespaces (the parent of `rt init`, as runc 1.2+ does), not inside a container's user
// namespace, where it fails with EPERM. The errors name no mount: the caller knows its index.
func OpenIdmapped(m *specs.Mount, bundleDir string, ownNS *os.File) (_ *os.File, retErr error) {
	o := parseOptions(m.Options)
	if typ := m.Type; !isBind(typ, o) {
		return nil, fmt.Errorf("type %q: %w: only bind mounts can be idmapped", typ, ErrIdmap)
	}
	ns := ownNS
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		if len(m.UIDMappings) == 0 || len(m.GIDMappings) == 0 {
			return nil, fmt.Errorf("%w: both uidMappings and gidMappings are needed", ErrIdmap)
		}
		own, err := userns(m.UIDMappings, m.GIDMappings)
		if err != nil {
			return nil, err
		}
		defer own.Close()
		ns = own
	}
	if ns == nil {
		return nil, fmt.Errorf("%w: no uidMappings/gidMappings, and no user namespace to take them from", ErrIdmap)
	}
	src := m.Source
	if !filepath.IsAbs(src) && bundleDir != "" {
		src = filepath.Join(bundleDir, src)
	}
	treeFlags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.flags&unix.MS_REC != 0 {
		treeFlags |= unix.AT_RECURSIVE
	}
	tfd, err := unix.OpenTree(unix.AT_FDCWD, src, treeFlags)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: src, Err: err}
	}
	tree := os.NewFile(uintptr(tfd), src)
	defer func() {
		if retErr != nil {
			tree.Close()
		}
	}()
	setFlags := uint(unix.AT_EMPTY_PATH)
	if o.ridmap {
		setFlags |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(tfd, "", setFlags, &attr); err != nil {
		// EINVAL: the filesystem cannot be idmapped (no FS_ALLOW_IDMAP), or a mount in the tree already is.
		return nil, &os.PathError{Op: "mount_setattr MOUNT_ATTR_IDMAP", Path: src, Err: err}
	}
	if a := attrFromFlags(o.flags); a.Attr_set != 0 || a.Attr_clr != 0 {
		// The per-mount flags a bind remount would set, on the detached tree's top mount.
		if err := unix.MountSetattr(tfd, "", unix.AT_EMPTY_PATH, &a); err != nil {
			return nil, &os.PathError{Op: "mount_setattr", Path: src, Err: err}
		}
	}
	return tree, nil
}

// mountIdmapped attaches an idmapped bind mount at dest with move_mount(2): the detached mount the parent made with
// OpenIdmapped (Options.IdmapMounts[index]); inside a user namespace it could not be made here. The destination is
// resolved and created inside the rootfs as for any bind mount; propagation and recursive attributes follow.
func (p *preparer) mountIdmapped(index int, m *specs.Mount, dest string, o mountOpts) error {
	var tree *os.File
	if p.opts != nil {
		tree = p.opts.IdmapMounts[index]
	}
	if tree == nil {
		if typ := m.Type; !isBind(typ, o) {
			return fmt.Errorf("type %q: %w: only bind mounts can be idmapped", typ, ErrIdmap)
		}
		return fmt.Errorf("%w: the mount was not prepared by the parent (Options.IdmapMounts)", ErrIdmap)
	}
	// The detached mount's root tells what to create at the destination: a directory or a file.
	dst, in, err := p.bindDest(&handle{fd: int(tree.Fd()), name: m.Source}, dest)
	if err != nil {
		return err
	}
	if err := checkProcDest(in, "bind"); err != nil {
		dst.Close()
		return err
	}
	if err := unix.MoveMount(int(tree.Fd()), "", int(dst.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		dst.Close()
		return &os.PathError{Op: "move_mount", Path: dest, Err: err}
	}
	mnt, err := p.root.reopenAfterMount(in, dst)
	if err != nil {
		return err
	}
	defer mnt.Close()
	return p.applyPost(mnt, dest, o)
}

// attrFromFlags translates the per-mount MS_* flags to mount_setattr(2) attributes to set.
func attrFromFlags(flags uintptr) unix.MountAttr {
	var a unix.MountAttr
	for ms, attr := range map[uintptr]uint64{
		unix.MS_RDONLY:      unix.MOUNT_ATTR_RDONLY,
		unix.MS_NOSUID:      unix.MOUNT_ATTR_NOSUID,
		unix.MS_NODEV:       unix.MOUNT_ATTR_NODEV,
		unix.MS_NOEXEC:      unix.MOUNT_ATTR_NOEXEC,
		unix.MS_NODIRATIME:  unix.MOUNT_ATTR_NODIRATIME,
		unix.MS_NOSYMFOLLOW: unix.MOUNT_ATTR_NOSYMFOLLOW,
	} {
		if flags&ms != 0 {
			a.Attr_set |= attr
		}
	}
	switch {
	case flags&unix.MS_NOATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_NOATIME
	case flags&unix.MS_STRICTATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
	case flags&unix.MS_RELATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	}
	return a
}

// userns returns a handle on a new user namespace with the given mappings. A child is started in it from
// /proc/self/exe with ptrace, so it stops before its first instruction and never runs (runc spawns its mapping
// holder the same way); the namespace outlives it through the handle. The maps are written through a private
// procfs instance: the container's init is in a new pid namespace while /proc is still the host's, where the
// child's pid means another process (so SysProcAttr.UidMappings cannot be used).
func userns(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	proc, err := procfs.Private()
	if err != nil {
		return nil, fmt.Errorf("make user namespace for idmapped mount: %w", err)
	}
	defer proc.Close()
	// SysProcAttr.Ptrace requires the calling goroutine to stay on one thread (syscall package doc).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr := &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER, Ptrace: true, Pdeathsig: syscall.SIGKILL}
	child, err := os.StartProcess("/proc/self/exe", []string{"rt-idmap"}, &os.ProcAttr{Sys: attr})
	if err != nil {
		return nil, fmt.Errorf("make user namespace for idmapped mount: %w", err)
	}
	defer func() {
		_ = child.Kill()
		_, _ = child.Wait()
	}()
	pid := strconv.Itoa(child.Pid)
	for _, m := range []struct {
		file string
		ids  []specs.LinuxIDMapping
	}{{"uid_map", uids}, {"gid_map", gids}} {
		if err := procfs.Write(proc, pid+"/"+m.file, procfs.IDMapText(m.ids), 0); err != nil {
			return nil, fmt.Errorf("make user namespace for idmapped mount: %w", err)
		}
	}
	fd, err := unix.Openat(int(proc.Fd()), pid+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: "/proc/" + pid + "/ns/user", Err: err}
	}
	return os.NewFile(uintptr(fd), "/proc/"+pid+"/ns/user"), nil
}
