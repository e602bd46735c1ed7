package rootfs

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// IsIdmapped says whether m asks for an idmapped mount (runtime-spec config.md "uidMappings"/"gidMappings"):
// mappings of its own, or the idmap or ridmap option.
func IsIdmapped(m *specs.Mount) bool {
	o := parseOptions(m.Options)
	return len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 || o.idmap || o.ridmap
}

// OpenIdmapped makes the idmapped bind mount m asks for as a detached mount, finished (BindTree), for the caller
// to attach with move_mount(2). The mapping is the mount's own uidMappings/gidMappings, through a user namespace made for them; a mount without any
// takes ownNS, the container's user namespace, and is refused when that is nil. A relative source is relative to
// bundleDir, as for every bind mount.
//
// Setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the user namespace that owns the source's filesystem: call it
// in the runtime's own namespaces (the parent of `rt init`, as runc 1.2+ does), not inside a container's user
// namespace, where it fails with EPERM. The errors name no mount: the caller knows its index.
func OpenIdmapped(m *specs.Mount, bundleDir string, ownNS *os.File) (*os.File, error) {
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
	return BindTree(m, bundleDir, ns)
}

// userns returns a handle on a new user namespace with the given mappings. A child is started in it from
// /proc/self/exe with ptrace, so it stops before its first instruction and never runs (runc spawns its mapping
// holder the same way); the namespace outlives it through the handle. The maps are written through a private
// procfs instance: the container's init is in a new pid namespace while /proc is still the host's, where the
// child's pid means another process (so SysProcAttr.UidMappings cannot be used).
func userns(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	proc, err := PrivateProcfs()
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
		if err := writeAt(proc, pid+"/"+m.file, IDMapText(m.ids)); err != nil {
			return nil, fmt.Errorf("make user namespace for idmapped mount: %w", err)
		}
	}
	fd, err := unix.Openat(int(proc.Fd()), pid+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: "/proc/" + pid + "/ns/user", Err: err}
	}
	return os.NewFile(uintptr(fd), "/proc/"+pid+"/ns/user"), nil
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
