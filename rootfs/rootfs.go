// Package rootfs builds a container's root filesystem inside its new mount namespace: the config's mounts, /dev,
// pivot_root, masked and read-only paths.
//
// Every destination is resolved inside the rootfs with openat2(2) RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS on one
// handle of the rootfs (filepath-securejoin's pathrs-lite on kernels without openat2), missing directories are
// made one level at a time on their parent's handle, and every mount is built detached and finished, then attached
// onto the resolved O_PATH handle (detached.go), so a symlink or a rename race in a hostile rootfs or a shared
// volume can never lead a mount, or one of its attributes, anywhere else.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/rawfile"
)

// Errors Prepare and Finalize return, for errors.Is.
var (
	// ErrEscapesRoot means a path resolved, or a mount landed, outside the rootfs.
	ErrEscapesRoot = errors.New("path escapes the rootfs")
	// ErrUnsafeDestination means a proc or sysfs destination exists and is not a plain directory.
	ErrUnsafeDestination = errors.New("destination is not a plain directory")
	// ErrForbiddenDestination means a mount would cover /proc or a file under it that may not be covered.
	ErrForbiddenDestination = errors.New("mount destination is not allowed")
	// ErrNotDevNull means the /dev/null used to mask paths is not the 1:3 character device (CVE-2025-31133).
	ErrNotDevNull = errors.New("not the null character device")
	// ErrInvalidPropagation means linux.rootfsPropagation is not a propagation mode.
	ErrInvalidPropagation = errors.New("not a propagation mode")
	// ErrIdmap means an idmapped mount was asked for in a way rt cannot honour (not a bind, or no mappings).
	ErrIdmap = errors.New("unsupported idmapped mount")
)

// Options carries what Prepare needs besides the spec.
type Options struct {
	// CgroupPaths are the container's cgroup directories keyed by controller ("" for the v2 hierarchy), for mounts
	// of type "cgroup".
	CgroupPaths map[string]string
	// CgroupMounts are the cgroup and cgroup2 entries of the mount table, for mounts of type "cgroup" on a v1 or
	// hybrid host: the parent's (the init's mount namespace starts as a copy of it), so that the init does not
	// read and parse /proc/self/mountinfo again. Nil makes Prepare read its own.
	CgroupMounts []CgroupMount
	// BundleDir, when set, is the directory relative bind-mount sources are resolved against (runc resolves them
	// against the bundle); when empty they are relative to the working directory.
	BundleDir string
	// Mounts are the bind mounts the parent made (BindTree), keyed by their index in spec.Mounts: detached mounts
	// that Prepare attaches with move_mount(2). Every idmapped mount must be among them; a bind mount that is not
	// is made by Prepare itself. Prepare does not close them.
	Mounts map[int]*os.File
	// Idmap, for an idmapped bind mount whose source is inside the rootfs (which exists only once the earlier
	// mounts are made, so the parent cannot make it ahead), is given the mount's index and the detached clone of
	// its source Prepare made, and returns the finished mount (the parent sets the idmapping: the init cannot).
	Idmap func(index int, clone *os.File) (*os.File, error)
	// HostMountNS says the container has no mount namespace of its own: Prepare then changes no propagation but
	// that of its own bind of the rootfs (rslave, so nothing mounted in it reaches other namespaces), and detaches
	// that bind, with everything mounted under it, when it fails (runc's prepareRootInHostMountNS).
	HostMountNS bool
}

// preparer is one Prepare call's state.
type preparer struct {
	spec     *specs.Spec
	opts     *Options
	hostRoot string // the rootfs's host path, as Prepare was given it
	root     *rootDir
	userns   bool    // running in a user namespace that is not the initial one
	rootProp uintptr // the propagation the rootfs's mounts were given, for the parent's mounts
	setupDev bool    // rt creates /dev's devices and links (no bind mount of /dev in the spec)
	cg       *cgroupHost
}

// Prepare sets up the rootfs at root (absolute host path, already resolved) in the current mount namespace:
// propagation, the bind of root onto itself, every spec mount in order, /dev and its devices.
//
// It must run in the container's own mount namespace: it changes the propagation of "/". It does not make anything
// read-only that must still be written before the container starts (see Finalize).
func Prepare(spec *specs.Spec, root string, opts *Options) (retErr error) {
	if opts == nil {
		opts = &Options{}
	}
	var lnx specs.Linux
	if spec.Linux != nil {
		lnx = *spec.Linux
	}
	prop, err := propagationFlag(lnx.RootfsPropagation)
	if err != nil {
		return err
	}
	if opts.HostMountNS {
		if err := mountPath(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind rootfs onto itself: %w", err)
		}
		defer func() {
			if retErr != nil {
				_ = unix.Unmount(root, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) // what was made goes with the bind: the host keeps nothing
			}
		}()
		if err := mountPath("", root, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make rootfs rslave: %w", err)
		}
		prop = unix.MS_SLAVE | unix.MS_REC
	} else {
		// An unbindable "/" would make the bind of the rootfs onto itself fail; Finalize applies it after
		// pivot_root.
		if prop&unix.MS_UNBINDABLE != 0 {
			prop = unix.MS_SLAVE | unix.MS_REC
		}
		if err := mountPath("", "/", "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of /: %w", err)
		}
		parentProp := prop
		if lnx.RootfsPropagation == "" {
			parentProp = 0 // private unless a slave was asked for
		}
		// Once "/" is rslave or rprivate no mount is shared: the bind cannot propagate anywhere and pivot_root(2)
		// accepts its parent as it is. What parentPrivate's walk up to the parent mount (one mount(2) per level up to
		// the mount point: 6 for the bench's rootfs) would leave that counts is then the bind's own propagation, a
		// clone's of its parent: the bind is made first and given it itself, private unless a slave was asked for
		// (a clone of a slave is a slave of the same master, of a private mount private).
		noShared := prop&unix.MS_REC != 0 && prop&(unix.MS_SLAVE|unix.MS_PRIVATE) != 0
		if !noShared {
			if err := parentPrivate(root, parentProp); err != nil {
				return err
			}
		}
		if err := mountPath(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind rootfs onto itself: %w", err)
		}
		if noShared && prop&unix.MS_PRIVATE == 0 && parentProp&unix.MS_SLAVE == 0 {
			if err := mountPath("", root, "", unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("make rootfs private: %w", err)
			}
		}
	}
	r, err := openRoot(root) // after the bind, so lookups start on the new mount
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer r.close()
	userns, err := inUserNS()
	if err != nil {
		return err
	}
	p := &preparer{spec: spec, opts: opts, hostRoot: root, root: r, userns: userns, rootProp: prop, setupDev: needsSetupDev(spec.Mounts)}
	for i := range spec.Mounts {
		if err := p.mount(i, &spec.Mounts[i]); err != nil {
			return err
		}
	}
	if p.setupDev {
		if err := p.setupDevices(lnx.Devices); err != nil {
			return err
		}
	}
	return nil
}

// needsSetupDev says whether rt creates /dev's contents: not when the spec bind-mounts something at /dev (runc's
// needsSetupDev).
func needsSetupDev(mounts []specs.Mount) bool {
	for _, m := range mounts {
		if filepath.Join("/", m.Destination) == "/dev" && isBind(m.Type, parseOptions(m.Options)) {
			return false
		}
	}
	return true
}

// parentPrivate makes the mount containing path private, or a slave when rootfsPropagation makes "/" one (prop), so
// the bind of the rootfs does not propagate to other namespaces and pivot_root(2) accepts it (it refuses a new root
// whose parent mount is shared), while a slave keeps receiving the host's mounts as asked. EINVAL from mount(2)
// means "not a mount point": walk up (runc's rootfsParentMountPropagation).
func parentPrivate(path string, prop uintptr) error {
	flags := uintptr(unix.MS_PRIVATE)
	if prop&unix.MS_SLAVE != 0 {
		flags = unix.MS_SLAVE
	}
	for {
		err := unix.Mount("", path, "", flags, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || path == "/" {
			return fmt.Errorf("make parent mount of rootfs private: %w", &os.PathError{Op: "mount", Path: path, Err: err})
		}
		path = filepath.Dir(path)
	}
}

// inUserNS says whether this process is in a user namespace other than the initial one: the initial one maps the
// whole uid range onto itself (user_namespaces(7)).
func inUserNS() (bool, error) {
	// rawfile: os.ReadFile adds fcntl and fstat calls this one-line file does not need.
	buf, err := rawfile.Read("/proc/self/uid_map", make([]byte, 0, 128))
	if err != nil {
		return false, fmt.Errorf("read uid map: %w", err)
	}
	// Compared field by field, not with fmt.Sscan, whose reflection costs the init more than the read.
	f := strings.Fields(string(buf))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"), nil
}

// mountPath is mount(2) as an *os.PathError named after the syscall and the target.
func mountPath(src, target, typ string, flags uintptr, data string) error {
	if err := unix.Mount(src, target, typ, flags, data); err != nil {
		return &os.PathError{Op: "mount", Path: target, Err: err}
	}
	return nil
}

// mountOn is mount(2) onto the handle dst (through its /proc/self/fd magic link); the error names dest, the
// in-container path.
func mountOn(src string, dst *handle, dest, typ string, flags uintptr, data string) error {
	if err := unix.Mount(src, fdPath(dst), typ, flags, data); err != nil {
		return &os.PathError{Op: "mount", Path: dest, Err: err}
	}
	return nil
}

// stripRoot takes a path written as the rootfs's host path (root/...) as the path inside the rootfs, as runc does
// (a config may name a destination that way); any other path is returned clean.
func stripRoot(root, p string) string {
	root, p = filepath.Clean("/"+root), filepath.Clean("/"+p)
	switch {
	case root == "/":
		return p
	case p == root:
		return "/"
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):]
	}
	return p
}

// SourceInRoot says whether the bind mount m's source (relative ones are relative to bundleDir) is written as a
// path inside the rootfs at root, a host path, and returns it as a path inside the rootfs. Such a source is the
// container's own: Prepare resolves it inside the rootfs when its turn comes, after the mounts before it.
func SourceInRoot(m *specs.Mount, bundleDir, root string) (string, bool) {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundleDir, src)
	}
	src, root = filepath.Clean(src), filepath.Clean(root)
	if src != root && !strings.HasPrefix(src, root+"/") {
		return "", false
	}
	return stripRoot(root, src), true
}
