package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are the devices every container gets (runtime-spec config-linux.md "Default Devices"), 0666 and
// owned by root as runc creates them.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// devLinks are /dev's symlinks (runc's setupDevSymlinks), target first.
var devLinks = [][2]string{
	{"/proc/self/fd", "fd"},
	{"/proc/self/fd/0", "stdin"},
	{"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"},
}

// setupDevices creates linux.devices and the default devices not overridden there, the /dev symlinks, /dev/ptmx
// and the /dev/pts and /dev/shm directories, all resolved inside the rootfs.
func (p *preparer) setupDevices(devices []specs.LinuxDevice) error {
	all := append([]specs.LinuxDevice(nil), devices...)
	listed := map[string]bool{}
	for _, d := range devices {
		listed[filepath.Join("/", d.Path)] = true
	}
	for _, d := range defaultDevices {
		if !listed[d.Path] {
			all = append(all, d)
		}
	}
	// The modes are the spec's exactly: no umask (runc sets it to 0 around device creation too).
	old := unix.Umask(0)
	defer unix.Umask(old)
	// Each directory is resolved once for the devices in it (usually all of them in /dev) and the links.
	dirs := map[string]*handle{}
	defer func() {
		for _, h := range dirs {
			h.Close()
		}
	}()
	for i := range all {
		if err := p.createDevice(&all[i], dirs); err != nil {
			return fmt.Errorf("create device %s: %w", all[i].Path, err)
		}
	}
	dev, err := p.deviceDir("/dev/", dirs)
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	dfd := int(dev.Fd())
	links := devLinks
	// /dev/core only where the kernel has /proc/kcore (CONFIG_PROC_KCORE), as runc.
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		links = append(links[:len(links):len(links)], [2]string{"/proc/kcore", "core"})
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[0], dfd, l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], &os.PathError{Op: "symlinkat", Path: "/dev/" + l[1], Err: err})
		}
	}
	// /dev/ptmx is the devpts instance's ptmx (kernel Documentation/filesystems/devpts.rst; runc's setupPtmx),
	// replacing whatever the rootfs had there: the link first, and only if a name is in the way (not on the fresh
	// tmpfs /dev usually is) the unlink and the link again.
	err = unix.Symlinkat("pts/ptmx", dfd, "ptmx")
	if errors.Is(err, unix.EEXIST) {
		if err := unix.Unlinkat(dfd, "ptmx", 0); err != nil {
			return fmt.Errorf("set up /dev/ptmx: %w", &os.PathError{Op: "unlinkat", Path: "/dev/ptmx", Err: err})
		}
		err = unix.Symlinkat("pts/ptmx", dfd, "ptmx")
	}
	if err != nil {
		return fmt.Errorf("set up /dev/ptmx: %w", &os.PathError{Op: "symlinkat", Path: "/dev/ptmx", Err: err})
	}
	for _, d := range []struct {
		name string
		mode uint32
	}{{"pts", 0o755}, {"shm", 0o1777}} {
		if err := unix.Mkdirat(dfd, d.name, d.mode); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir /dev/%s: %w", d.name, &os.PathError{Op: "mkdirat", Path: "/dev/" + d.name, Err: err})
		}
	}
	return nil
}

// deviceMode is the mknod(2) mode of d: its type bits and its fileMode permissions (0666 when unset, as runc).
func deviceMode(d *specs.LinuxDevice) (uint32, error) {
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	switch d.Type {
	case "c", "u":
		return unix.S_IFCHR | perm, nil
	case "b":
		return unix.S_IFBLK | perm, nil
	case "p":
		return unix.S_IFIFO | perm, nil
	}
	return 0, fmt.Errorf("type %q: %w", d.Type, unix.EINVAL)
}

// deviceDir is the handle of dir (with its trailing slash) inside the rootfs, made if missing, from dirs or
// resolved and added to it.
func (p *preparer) deviceDir(dir string, dirs map[string]*handle) (*handle, error) {
	if h, ok := dirs[dir]; ok {
		return h, nil
	}
	h, _, err := p.root.mkdirAll(dir)
	if err != nil {
		return nil, err
	}
	dirs[dir] = h
	return h, nil
}

// createDevice makes one device node in its directory inside the rootfs (its handle from dirs, see deviceDir):
// mknod, or in a user namespace (where mknod is refused) a bind mount of the host's node at that path, as runc does.
func (p *preparer) createDevice(d *specs.LinuxDevice, dirs map[string]*handle) error {
	path := filepath.Join("/", d.Path)
	dir, base := filepath.Split(path)
	if base == "" || path == "/dev" {
		return fmt.Errorf("path %q: %w", d.Path, unix.EINVAL)
	}
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	parent, err := p.deviceDir(dir, dirs)
	if err != nil {
		return err
	}
	if p.userns {
		return p.bindDevice(parent, base, path)
	}
	pfd := int(parent.Fd())
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	err = unix.Mknodat(pfd, base, mode, dev)
	if errors.Is(err, unix.EEXIST) {
		// Replace whatever the rootfs had there (it may be a symlink planted to redirect the device): only the
		// node rt makes may stand at a device path.
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			return &os.PathError{Op: "unlinkat", Path: path, Err: err}
		}
		err = unix.Mknodat(pfd, base, mode, dev)
	}
	if errors.Is(err, unix.EPERM) {
		return p.bindDevice(parent, base, path) // no CAP_MKNOD: bind from the host like runc
	}
	if err != nil {
		return &os.PathError{Op: "mknodat", Path: path, Err: err}
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "fchownat", Path: path, Err: err}
	}
	return nil
}

// bindDevice bind-mounts the host node at path (outside the rootfs, the caller's /dev) onto an empty file made at
// base in parent. An existing entry there is used only if it is a regular file or a device node.
func (p *preparer) bindDevice(parent *handle, base, path string) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	src := newHandle(fd, path)
	defer src.Close()
	pfd := int(parent.Fd())
	fd, err = unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o666)
	if err == nil {
		_ = unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "openat", Path: path, Err: err}
	}
	fd, err = unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "openat", Path: path, Err: err}
	}
	dst := newHandle(fd, path)
	defer dst.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFCHR, unix.S_IFBLK:
	default:
		return fmt.Errorf("%s: %w", path, ErrUnsafeDestination)
	}
	if _, err := p.root.inRoot(dst); err != nil {
		return err
	}
	return mountOn(fdPath(src), dst, path, "", unix.MS_BIND, "")
}
