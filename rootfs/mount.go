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

// mount performs one spec mount, mounts[index]; the error names the mount as `mount SRC (TYPE) on DEST: ...`.
func (p *preparer) mount(index int, m *specs.Mount) error {
	o := parseOptions(m.Options)
	typ := m.Type
	if isBind(typ, o) {
		typ = "bind"
	}
	dest := filepath.Join("/", m.Destination)
	var err error
	switch {
	case len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 || o.idmap || o.ridmap:
		err = p.mountIdmapped(index, m, dest, o)
	case typ == "bind":
		err = p.mountBind(m.Source, dest, o)
	case typ == "cgroup":
		err = p.mountCgroup(m, dest, o)
	default:
		err = p.mountFS(m.Source, dest, typ, o)
	}
	if err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", m.Source, typ, m.Destination, err)
	}
	return nil
}

// mountFS mounts a filesystem (proc, sysfs, tmpfs, devpts, mqueue, cgroup2, overlay, ...) at dest.
func (p *preparer) mountFS(src, dest, typ string, o mountOpts) error {
	var (
		dst     *handle
		in      string
		err     error
		existed = true
	)
	switch typ {
	case "proc", "sysfs":
		dst, in, err = p.root.plainDir(dest)
	default:
		dst, in, existed, err = p.root.openOrMkdir(dest)
	}
	if err != nil {
		return err
	}
	if err := checkProcDest(in, typ); err != nil {
		dst.Close()
		return err
	}
	flags := o.flags
	if in == "/dev" && p.setupDev {
		// The devices are created after the mounts: /dev goes read-only in Finalize (runc does the same).
		flags &^= unix.MS_RDONLY
	}
	data := o.data
	if typ == "tmpfs" && existed && !strings.Contains(o.data, "mode=") {
		// A tmpfs over an existing directory keeps that directory's mode unless mode= was given: passed as mode=
		// ahead of the config's options, as runc does, so that it holds on a read-only tmpfs too.
		var st unix.Stat_t
		if err := unix.Fstat(int(dst.Fd()), &st); err != nil {
			dst.Close()
			return &os.PathError{Op: "fstat", Path: dest, Err: err}
		}
		data = fmt.Sprintf("mode=%04o", st.Mode&0o7777)
		if o.data != "" {
			data += "," + o.data
		}
	}
	var covered *os.File // the directory under the tmpfs, for tmpcopyup
	if typ == "tmpfs" && o.tmpcopyup && existed {
		fd, err := unix.Openat(int(dst.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			dst.Close()
			return &os.PathError{Op: "openat", Path: dest, Err: err}
		}
		covered = os.NewFile(uintptr(fd), dest)
		defer covered.Close()
	}
	if err := mountOn(src, dst, dest, typ, flags, data); err != nil {
		dst.Close()
		return err
	}
	mnt, err := p.root.reopenAfterMount(in, dst)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if covered != nil {
		if err := p.tmpcopyup(mnt, dest, covered); err != nil {
			return err
		}
	}
	return p.applyPost(mnt, dest, o)
}

// tmpcopyup copies the covered directory's contents into a new tmpfs.
func (p *preparer) tmpcopyup(mnt *handle, dest string, covered *os.File) error {
	fd, err := unix.Openat(int(mnt.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "openat", Path: dest, Err: err}
	}
	dir := os.NewFile(uintptr(fd), dest)
	defer dir.Close()
	if err := copyTree(covered, dir); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	return nil
}

// mountBind bind-mounts the host path src at dest (MS_REC for rbind), then remounts it for its flags and applies
// propagation and recursive attributes.
func (p *preparer) mountBind(src, dest string, o mountOpts) error {
	s, err := p.openSource(src)
	if err != nil {
		return err
	}
	defer s.Close()
	dst, in, err := p.bindDest(s, dest)
	if err != nil {
		return err
	}
	if err := checkProcDest(in, "bind"); err != nil {
		dst.Close()
		return err
	}
	if err := mountOn(fdPath(s), dst, dest, "", unix.MS_BIND|o.flags&unix.MS_REC, ""); err != nil {
		dst.Close()
		return err
	}
	mnt, err := p.root.reopenAfterMount(in, dst)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if needsRemount(o) {
		flags := o.flags & perMountFlags
		if in == "/dev" && p.setupDev {
			flags &^= unix.MS_RDONLY
		}
		if err := remount(mnt, dest, flags); err != nil {
			return err
		}
	}
	return p.applyPost(mnt, dest, o)
}

// openSource opens a bind-mount source on the host as an O_PATH handle (symlinks followed: the source is the
// caller's, not the container's). Relative sources are relative to the bundle.
func (p *preparer) openSource(src string) (*handle, error) {
	if !filepath.IsAbs(src) && p.opts.BundleDir != "" {
		src = filepath.Join(p.opts.BundleDir, src)
	}
	fd, err := unix.Open(src, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: src, Err: err}
	}
	return newHandle(fd, src), nil
}

// bindDest resolves (creating if missing) the destination for the source s: a directory for a directory, an empty
// file for anything else (runc's createIfNotExists).
func (p *preparer) bindDest(s *handle, dest string) (*handle, string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(s.Fd()), &st); err != nil {
		return nil, "", &os.PathError{Op: "fstat", Path: s.Name(), Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return p.root.mkdirAll(dest)
	}
	return p.root.createFile(dest)
}

// remount applies per-mount flags to the bind mount mnt with MS_REMOUNT|MS_BIND. If the kernel refuses (EPERM: in
// a user namespace the flags a mount came with are locked), it retries keeping the flags the mount has, as runc does.
func remount(mnt *handle, dest string, flags uintptr) error {
	err := unix.Mount("", fdPath(mnt), "", unix.MS_REMOUNT|unix.MS_BIND|flags, "")
	if errors.Is(err, unix.EPERM) {
		var st unix.Statfs_t
		if err := unix.Fstatfs(int(mnt.Fd()), &st); err != nil {
			return &os.PathError{Op: "fstatfs", Path: dest, Err: err}
		}
		err = unix.Mount("", fdPath(mnt), "", unix.MS_REMOUNT|unix.MS_BIND|keepLocked(flags, lockedFlags(st.Flags)), "")
	}
	if err != nil {
		return &os.PathError{Op: "mount", Path: dest, Err: err}
	}
	return nil
}

// applyPost applies the propagation options in order, then the recursive attributes, to the new mount mnt.
func (p *preparer) applyPost(mnt *handle, dest string, o mountOpts) error {
	for _, pr := range o.propagation {
		if err := mountOn("", mnt, dest, "", pr, ""); err != nil {
			return err
		}
	}
	if o.recAttr != nil {
		if err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, o.recAttr); err != nil {
			return &os.PathError{Op: "mount_setattr", Path: dest, Err: err}
		}
	}
	return nil
}
