package rootfs

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountIdmapped makes an idmapped bind mount (runtime-spec config.md "uidMappings"/"gidMappings", options idmap and
// ridmap): open_tree(2) clones the source, mount_setattr(2) with MOUNT_ATTR_IDMAP attaches a user namespace with
// the mount's mappings (the container's own when the mount has none), move_mount(2) puts it at the destination.
// The kernel allows this only with CAP_SYS_ADMIN over the source's filesystem, so inside a container's user
// namespace it fails with EPERM until the lead's parent process prepares the mount (as runc 1.2 does).
func (p *preparer) mountIdmapped(m *specs.Mount, dest, typ string, o mountOpts) error {
	if typ != "bind" {
		return fmt.Errorf("type %q: %w: only bind mounts can be idmapped", typ, ErrIdmap)
	}
	uids, gids := m.UIDMappings, m.GIDMappings
	if len(uids) == 0 && len(gids) == 0 && p.spec.Linux != nil {
		uids, gids = p.spec.Linux.UIDMappings, p.spec.Linux.GIDMappings
	}
	if len(uids) == 0 || len(gids) == 0 {
		return fmt.Errorf("%w: both uidMappings and gidMappings are needed", ErrIdmap)
	}
	ns, err := userns(uids, gids)
	if err != nil {
		return err
	}
	defer ns.Close()
	src, err := p.openSource(m.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	treeFlags := uint(unix.OPEN_TREE_CLONE | unix.O_CLOEXEC | unix.AT_EMPTY_PATH)
	if o.flags&unix.MS_REC != 0 {
		treeFlags |= unix.AT_RECURSIVE
	}
	tfd, err := unix.OpenTree(int(src.Fd()), "", treeFlags)
	if err != nil {
		return &os.PathError{Op: "open_tree", Path: m.Source, Err: err}
	}
	tree := os.NewFile(uintptr(tfd), m.Source)
	defer tree.Close()
	setFlags := uint(unix.AT_EMPTY_PATH)
	if o.ridmap {
		setFlags |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(tfd, "", setFlags, &attr); err != nil {
		return &os.PathError{Op: "mount_setattr", Path: m.Source, Err: err}
	}
	if a := attrFromFlags(o.flags); a.Attr_set != 0 || a.Attr_clr != 0 {
		// The per-mount flags a bind remount would set, on the detached tree's top mount.
		if err := unix.MountSetattr(tfd, "", unix.AT_EMPTY_PATH, &a); err != nil {
			return &os.PathError{Op: "mount_setattr", Path: m.Source, Err: err}
		}
	}
	dst, in, err := p.bindDest(src, dest)
	if err != nil {
		return err
	}
	if err := checkProcDest(in, "bind"); err != nil {
		dst.Close()
		return err
	}
	if err := unix.MoveMount(tfd, "", int(dst.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
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
	proc, err := privateProc()
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
		if err := writeAt(proc, pid+"/"+m.file, idMapText(m.ids)); err != nil {
			return nil, fmt.Errorf("make user namespace for idmapped mount: %w", err)
		}
	}
	fd, err := unix.Openat(int(proc.Fd()), pid+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: "/proc/" + pid + "/ns/user", Err: err}
	}
	return os.NewFile(uintptr(fd), "/proc/"+pid+"/ns/user"), nil
}

// privateProc mounts a detached procfs of this process's pid namespace (fsopen(2), Linux 5.2).
func privateProc() (*os.File, error) {
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

// writeAt writes text to the existing file name under dir in one write(2), as uid_map requires.
func writeAt(dir *os.File, name, text string) error {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "openat", Path: "/proc/" + name, Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(text)); err != nil {
		return &os.PathError{Op: "write", Path: "/proc/" + name, Err: err}
	}
	return nil
}

// idMapText is the uid_map/gid_map form of ms: "inside outside count" lines (user_namespaces(7)).
func idMapText(ms []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	return b.String()
}
