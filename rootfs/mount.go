package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
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
	dest := stripRoot(p.hostRoot, m.Destination) // a destination may be written as the rootfs's host path (runc)
	var err error
	switch {
	case typ == "bind" || IsIdmapped(m):
		err = p.mountBind(index, m, dest, o)
	case typ == "cgroup":
		err = p.mountCgroup(m, dest, o)
	default:
		var t *tree
		if t, err = p.mountFS(m.Source, dest, typ, o); err == nil {
			t.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", m.Source, typ, m.Destination, err)
	}
	return nil
}

// mountFS mounts a filesystem (proc, sysfs, tmpfs, devpts, mqueue, cgroup2, overlay, ...) at dest: the destination
// is resolved (made if missing), the instance made detached and finished (a tmpfs's mode, tmpcopyup), attached
// onto the destination's handle, and its propagation set. It returns the attached mount, for a caller that fills
// it (the cgroup tree); others close it.
func (p *preparer) mountFS(src, dest, typ string, o mountOpts) (*tree, error) {
	var (
		dst     *handle
		in      string
		err     error
		existed = true
	)
	switch typ {
	case "proc", "sysfs":
		if dst, in, err = p.root.plainDir(dest); errors.Is(err, ErrUnsafeDestination) {
			err = fmt.Errorf("filesystem %q must be mounted on ordinary directory: %w", typ, err) // runc's text
		}
	default:
		dst, in, existed, err = p.root.openOrMkdir(dest)
	}
	if err != nil {
		return nil, err
	}
	if err := checkProcDest(in, typ, nil); err != nil {
		dst.Close()
		return nil, err
	}
	if in == "/dev" && p.setupDev {
		// The devices are created after the mounts: /dev goes read-only in Finalize (runc does the same).
		o.flags &^= unix.MS_RDONLY
	}
	var extra []string
	var covered *os.File // the directory under the tmpfs, for tmpcopyup
	if typ == "tmpfs" && existed {
		if !hasOption(o.data, "mode") {
			// A tmpfs over an existing directory keeps that directory's mode unless mode= was given (runc).
			var st unix.Stat_t
			if err := unix.Fstat(dst.fd, &st); err != nil {
				dst.Close()
				return nil, &os.PathError{Op: "fstat", Path: dest, Err: err}
			}
			extra = append(extra, "mode="+strconv.FormatUint(uint64(st.Mode&0o7777), 8))
		}
		if o.tmpcopyup {
			fd, err := unix.Openat(dst.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				dst.Close()
				return nil, &os.PathError{Op: "openat", Path: dest, Err: err}
			}
			covered = os.NewFile(uintptr(fd), dest)
			defer covered.Close()
		}
	}
	t, err := fsTree(src, typ, dest, o, extra, covered != nil && o.flags&unix.MS_RDONLY != 0)
	if err != nil {
		dst.Close()
		return nil, err
	}
	if covered != nil {
		if err := fillTmpfs(t, covered, o); err != nil {
			t.Close()
			dst.Close()
			return nil, err
		}
	}
	if err := t.attach(dst, dest); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.setPropagation(o, dest); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// hasOption says whether the data string has the option key (as key=value).
func hasOption(data, key string) bool {
	for _, opt := range splitData(data) {
		if k, _, _ := strings.Cut(opt, "="); k == key {
			return true
		}
	}
	return false
}

// fillTmpfs copies the covered directory into the detached tmpfs t (tmpcopyup), then makes it read-only when the
// options ask (fsTree left it writable for the copy).
func fillTmpfs(t *tree, covered *os.File, o mountOpts) error {
	dir, err := t.dir()
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := copyTree(covered, dir); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	if o.flags&unix.MS_RDONLY != 0 {
		if err := unix.MountSetattr(t.fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
			return &os.PathError{Op: "mount_setattr", Path: t.name, Err: err}
		}
	}
	return nil
}

// mountBind attaches the bind mount mounts[index] at dest: the detached mount the parent made (Options.Mounts),
// or else one made here with BindTree, already carrying its flags and attributes. An idmapped mount must come
// from the parent: inside a user namespace it cannot be made. The destination is made to match the mount's root
// (a directory or a file), and a bind over /proc must be of a procfs.
func (p *preparer) mountBind(index int, m *specs.Mount, dest string, o mountOpts) error {
	var t *tree
	if f := p.opts.Mounts[index]; f != nil {
		t = &tree{fd: int(f.Fd()), name: m.Source} // the caller owns and closes f
		if err := p.asRoot(t); err != nil {
			return err
		}
		return p.attachBind(t, dest, o)
	}
	if IsIdmapped(m) && !isBind(m.Type, o) {
		return fmt.Errorf("type %q: %w: only bind mounts can be idmapped", m.Type, ErrIdmap)
	}
	var err error
	if in, ok := SourceInRoot(m, p.opts.BundleDir, p.hostRoot); ok {
		t, err = p.inRootTree(index, m, in, o)
	} else if IsIdmapped(m) {
		return fmt.Errorf("%w: the mount was not prepared by the parent (Options.Mounts)", ErrIdmap)
	} else {
		t, err = bindTree(m, o, p.opts.BundleDir, nil)
	}
	if err != nil {
		return err
	}
	defer t.Close()
	return p.attachBind(t, dest, o)
}

// inRootTree makes the bind mount m of in, a source inside the rootfs (written as its host path), resolved inside
// the rootfs now, after the mounts before it: never through a symlink out of it, as runc 1.5 would follow one. An
// idmapped one is finished by the parent (Options.Idmap).
func (p *preparer) inRootTree(index int, m *specs.Mount, in string, o mountOpts) (*tree, error) {
	h, _, err := p.root.open(in)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	t, err := cloneTree(h.fd, "", m.Source, o)
	if err != nil {
		return nil, err
	}
	if !IsIdmapped(m) {
		if err := t.finish(o, nil); err != nil {
			t.Close()
			return nil, err
		}
		return t, nil
	}
	if p.opts.Idmap == nil {
		t.Close()
		return nil, fmt.Errorf("%w: no one to set the idmapping (Options.Idmap)", ErrIdmap)
	}
	clone := os.NewFile(uintptr(t.fd), t.name)
	f, err := p.opts.Idmap(index, clone)
	_ = clone.Close()
	if err != nil {
		return nil, err
	}
	// The tree takes over f's descriptor.
	fd, err := unix.Dup(int(f.Fd()))
	_ = f.Close()
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	unix.CloseOnExec(fd)
	return &tree{fd: fd, name: m.Source}, nil
}

// attachBind attaches the finished detached bind t at dest and sets its propagation.
func (p *preparer) attachBind(t *tree, dest string, o mountOpts) error {
	dst, in, err := p.bindDest(t, dest)
	if err != nil {
		return err
	}
	if err := checkProcDest(in, "bind", t); err != nil {
		dst.Close()
		return err
	}
	if err := t.attach(dst, dest); err != nil {
		return err
	}
	return t.setPropagation(o, dest)
}

// asRoot gives a mount the parent made the propagation the rootfs's mounts were given (Prepare's first step): the
// parent cloned it before that step, and a clone of a shared mount would otherwise stay a peer of the host's.
func (p *preparer) asRoot(t *tree) error {
	if p.rootProp&unix.MS_REC == 0 {
		return nil
	}
	return setPropagation(t.fd, p.rootProp, t.name)
}

// bindDest resolves (creating if missing) the destination for the mount t: a directory for a directory, an empty
// file for anything else (runc's createIfNotExists).
func (p *preparer) bindDest(t *tree, dest string) (*handle, string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(t.fd, &st); err != nil {
		return nil, "", &os.PathError{Op: "fstat", Path: t.name, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return p.root.mkdirAll(dest)
	}
	return p.root.createFile(dest)
}
