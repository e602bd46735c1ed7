package libcontainer

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/rootfs"
)

// Some bind mounts are made by the parent, as runc 1.2+ does, and passed to the init as detached mounts:
//   - idmapped mounts: setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the user namespace that owns the source's
//     filesystem (mount_setattr(2)), which the init, inside the container's user namespace, lacks;
//   - with a user namespace, every bind mount: the init's credentials are the container's, and a source below a
//     directory only host root may enter (containerd's 0700 state directory holding a pod's /dev/shm) cannot be
//     reached from there.
// The parent opens them with its host credentials but in the container's mount namespace (a thread of the parent
// joins it, as runc's mount source thread does), so the clones are of the container's copy of the host's mounts,
// with the propagation and locked flags an in-init bind would get. Each is made finished (rootfs.BindTree: the
// flags and recursive attributes set) and sent over the init socket; the init attaches it with move_mount(2) at
// its destination in the rootfs, in config order (rootfs.Options.Mounts), with the same path-safety rules as a bind
// it makes itself. A rootless rt cannot join the mount namespace (and needs no help: the container's user is the
// caller), so only idmapped mounts are made there, in its own namespaces. A config with neither pays nothing.
// A bind source inside the container's rootfs is the exception: it may be below a mount an earlier entry makes, so
// the init makes it in its turn, and for an idmapped one sends the parent its detached clone to idmap
// (syncMountRequest), which mount_setattr(2) accepts from outside since the clone is detached.

// parentMount says whether the parent makes m (see above) before the init starts on the rootfs: every idmapped
// mount, and with hostBinds every bind mount, whose source is not in the container's rootfs (root). A source there
// (written as its host path; a relative one is relative to bundle) is the container's own, reachable from its user
// namespace, and may be below a mount an earlier entry makes, which the init sees when it gets there: the init
// makes it then, and asks the parent to set the idmapping of an idmapped one (syncMountRequest, idmapRequest).
func parentMount(m *specs.Mount, hostBinds bool, bundle, root string) bool {
	if !rootfs.IsIdmapped(m) && (!hostBinds || !rootfs.IsBind(m)) {
		return false
	}
	_, inRoot := rootfs.SourceInRoot(m, bundle, root)
	return !inRoot
}

// sendMountSources makes the bind mounts the parent makes for the container init pid, whose rootfs is root, and
// sends them to it, ahead of its config. Nothing is sent when there are none.
func sendMountSources(sock *os.File, spec *specs.Spec, bundle, root string, pid int) error {
	fds, err := openMountSources(spec, bundle, root, pid)
	if err != nil {
		return err
	}
	defer closeMountFds(fds)
	return sendMountFds(sock, fds)
}

// openMountSources makes the detached mounts the parent makes for the container init pid, whose rootfs is root,
// keyed by their index in spec.Mounts; nil when there are none. An error names the mount as mounts[N].
func openMountSources(spec *specs.Spec, bundle, root string, pid int) (map[int]*os.File, error) {
	hostBinds := namespace.Has(spec, specs.UserNamespace) && os.Geteuid() == 0
	some := false
	for i := range spec.Mounts {
		some = some || parentMount(&spec.Mounts[i], hostBinds, bundle, root)
	}
	if !some {
		return nil, nil
	}
	if !hostBinds || !namespace.Has(spec, specs.MountNamespace) {
		return makeMountSources(spec, bundle, root, pid, hostBinds)
	}
	var fds map[int]*os.File
	err := onSpareThread(func() error {
		if err := joinMountNS(pid); err != nil {
			return err
		}
		var err error
		fds, err = makeMountSources(spec, bundle, root, pid, hostBinds)
		return err
	})
	return fds, err
}

// onSpareThread runs f on a locked thread that is not the process's main thread, and lets that thread end with it
// (never unlocked): f may leave the thread's fs and mount namespace other than rt's, so the Go runtime must not give
// it to another goroutine (runtime.LockOSThread). The main thread is kept out because the Go runtime never ends it,
// and because procfs.Mounts reads its mount table (/proc/self/mountinfo) as the process's.
func onSpareThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Held, locked, while another goroutine runs f: it cannot be given this thread.
			done <- onSpareThread(f)
			runtime.UnlockOSThread()
			return
		}
		done <- f()
	}()
	return <-done
}

// joinMountNS moves the calling thread into the mount namespace of process pid: unshare(2) CLONE_FS first, since
// setns(2) refuses a thread that shares its root and cwd with others (Go's threads all do).
func joinMountNS(pid int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("bind mount sources: %w", os.NewSyscallError("unshare CLONE_FS", err))
	}
	path := "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bind mount sources: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("bind mount sources: join the container's mount namespace: %w", os.NewSyscallError("setns", err))
	}
	return nil
}

// makeMountSources is openMountSources in the namespace the mounts are made in.
func makeMountSources(spec *specs.Spec, bundle, root string, pid int, hostBinds bool) (_ map[int]*os.File, retErr error) {
	var fds map[int]*os.File
	defer func() {
		if retErr != nil {
			closeMountFds(fds)
		}
	}()
	var ownNS *os.File
	looked := false // whether ownNS was looked up: it stays nil for a container without a user namespace
	defer func() {
		if ownNS != nil {
			ownNS.Close()
		}
	}()
	for i := range spec.Mounts {
		m := &spec.Mounts[i]
		if !parentMount(m, hostBinds, bundle, root) {
			continue
		}
		var tree *os.File
		var err error
		if rootfs.IsIdmapped(m) {
			if !looked && len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 {
				ns, err := containerUserNS(pid)
				if err != nil {
					return nil, fmt.Errorf("mounts[%d]: %w", i, err)
				}
				ownNS, looked = ns, true
			}
			tree, err = openIdmapped(m, bundle, ownNS)
		} else {
			tree, err = rootfs.BindTree(m, bundle, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("mounts[%d] (%s on %s): %w", i, m.Source, m.Destination, err)
		}
		if fds == nil {
			fds = map[int]*os.File{}
		}
		fds[i] = tree
	}
	return fds, nil
}

// containerUserNS opens the user namespace of process pid, or returns nil when it is rt's own (the container has
// none): an idmapped mount of the initial namespace's identity would map nothing.
func containerUserNS(pid int) (*os.File, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/ns/user"
	same, err := procfs.SameNamespace(path, "/proc/self/ns/user")
	if err != nil {
		return nil, fmt.Errorf("open the container's user namespace: %w", err)
	}
	if same {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the container's user namespace: %w", err)
	}
	return f, nil
}

// sendMountFds sends the detached mounts to the init: syncMountFds messages whose payload is the mounts' indexes
// (uint32 each, native endian), each followed by one byte carrying their fds in the same order (SCM_RIGHTS), at
// most maxFdsPerMsg a message. No reply: the config follows at once.
func sendMountFds(sock *os.File, fds map[int]*os.File) error {
	idx := make([]int, 0, len(fds))
	for i := range fds {
		idx = append(idx, i)
	}
	for len(idx) > 0 {
		batch := idx[:min(len(idx), maxFdsPerMsg)]
		idx = idx[len(batch):]
		payload := make([]byte, 0, 4*len(batch))
		files := make([]fdHolder, 0, len(batch))
		for _, i := range batch {
			payload = binary.NativeEndian.AppendUint32(payload, uint32(i))
			files = append(files, fds[i])
		}
		if err := send(sock, syncMountFds, payload, files...); err != nil {
			return fmt.Errorf("send bind mounts to init: %w", err)
		}
	}
	return nil
}

// addMountFds adds the fds of a syncMountFds message to fds under their mount indexes. They are close-on-exec
// (MSG_CMSG_CLOEXEC): none may reach the container's process.
func addMountFds(m *syncMsg, fds map[int]*os.File) {
	for k, f := range m.files {
		i := int(binary.NativeEndian.Uint32(m.payload[4*k:]))
		if old := fds[i]; old != nil {
			old.Close()
		}
		fds[i] = f
	}
}

// closeMountFds closes every fd in fds.
func closeMountFds(fds map[int]*os.File) {
	for _, f := range fds {
		f.Close()
	}
}

// openIdmapped makes the idmapped bind mount m asks for as a detached mount, finished (rootfs.BindTree), for the
// init to attach with move_mount(2). The mapping is the mount's own uidMappings/gidMappings, through a user
// namespace made for them; a mount without any takes ownNS, the container's user namespace, and is refused when
// that is nil. A relative source is relative to bundleDir, as for every bind mount.
//
// Setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the user namespace that owns the source's filesystem: call it
// in the runtime's own namespaces (the parent of `rt init`, as runc 1.2+ does), not inside a container's user
// namespace, where it fails with EPERM. The errors name no mount: the caller knows its index.
func openIdmapped(m *specs.Mount, bundleDir string, ownNS *os.File) (*os.File, error) {
	if !rootfs.IsBind(m) {
		return nil, fmt.Errorf("type %q: %w: only bind mounts can be idmapped", m.Type, rootfs.ErrIdmap)
	}
	ns, made, err := idmapNS(m, ownNS)
	if err != nil {
		return nil, err
	}
	if made {
		defer ns.Close()
	}
	return rootfs.BindTree(m, bundleDir, ns)
}

// idmapUserNS returns a handle on a new user namespace with the given mappings. A child is started in it from
// /proc/self/exe with ptrace, so it stops before its first instruction and never runs (runc spawns its mapping
// holder the same way); the namespace outlives it through the handle. The maps are written through a private
// procfs instance: the container's init is in a new pid namespace while /proc is still the host's, where the
// child's pid means another process (so SysProcAttr.UidMappings cannot be used).
func idmapUserNS(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
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

// idmapRequest returns an initRequests.idmap for the container init pid: it finishes the detached clone the init
// made of an idmapped mount's source inside the rootfs (rootfs.Options.Idmap) with the idmapping, which only the
// runtime's credentials may set, and the mount's flags. The clone is of the init's mount namespace and detached,
// which mount_setattr(2) accepts from here. Only a mount the parent did not make (an idmapped bind whose source is
// in the rootfs root, bundle as for parentMount) is served, once: the parent sets an idmapping on nothing else.
func idmapRequest(spec *specs.Spec, bundle, root string, pid int) func(index int, clone *os.File) error {
	served := map[int]bool{}
	return func(index int, clone *os.File) error {
		if index < 0 || index >= len(spec.Mounts) || !rootfs.IsIdmapped(&spec.Mounts[index]) {
			return fmt.Errorf("sync with init: mount request for mounts[%d], not an idmapped mount: %w", index, unix.EPROTO)
		}
		m := &spec.Mounts[index]
		if _, in := rootfs.SourceInRoot(m, bundle, root); !in || served[index] {
			return fmt.Errorf("sync with init: mount request for mounts[%d], not one the init makes or a second time: %w",
				index, unix.EPROTO)
		}
		served[index] = true
		err := func() error {
			var own *os.File
			if len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 {
				var err error
				if own, err = containerUserNS(pid); err != nil {
					return err
				}
				if own != nil {
					defer own.Close()
				}
			}
			ns, made, err := idmapNS(m, own)
			if err != nil {
				return err
			}
			if made {
				defer ns.Close()
			}
			return rootfs.FinishIdmapped(clone, m, ns)
		}()
		if err != nil {
			return fmt.Errorf("mounts[%d] (%s on %s): %w", index, m.Source, m.Destination, err)
		}
		return nil
	}
}

// idmapNS is the user namespace of m's idmapping: one made for its own mappings (made: the caller closes it), or
// else own, the container's (nil when it has none: refused).
func idmapNS(m *specs.Mount, own *os.File) (ns *os.File, made bool, _ error) {
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		if len(m.UIDMappings) == 0 || len(m.GIDMappings) == 0 {
			return nil, false, fmt.Errorf("%w: both uidMappings and gidMappings are needed", rootfs.ErrIdmap)
		}
		ns, err := idmapUserNS(m.UIDMappings, m.GIDMappings)
		return ns, err == nil, err
	}
	if own == nil {
		return nil, false, fmt.Errorf("%w: no uidMappings/gidMappings, and no user namespace to take them from", rootfs.ErrIdmap)
	}
	return own, false, nil
}

// askIdmap returns the init's rootfs.Options.Idmap: it sends the parent the clone (syncMountRequest) and waits for
// it back, finished (syncMountFds).
func askIdmap(sock *os.File) func(index int, clone *os.File) (*os.File, error) {
	return func(index int, clone *os.File) (*os.File, error) {
		if err := send(sock, syncMountRequest, binary.NativeEndian.AppendUint32(nil, uint32(index)), clone); err != nil {
			return nil, err
		}
		m, err := recv(sock)
		if err != nil {
			return nil, fmt.Errorf("idmapped mount: %w", err)
		}
		if m.typ != syncMountFds || len(m.files) != 1 || binary.NativeEndian.Uint32(m.payload) != uint32(index) {
			m.closeFiles()
			return nil, fmt.Errorf("idmapped mount: unexpected %s: %w", m.typ, unix.EPROTO)
		}
		return m.files[0], nil
	}
}
