package libcontainer

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/rootfs"
)

// Idmapped mounts are made by the parent, as runc 1.2+ does: setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the
// user namespace that owns the source's filesystem (mount_setattr(2)), which the init, inside the container's
// user namespace, lacks. The parent, still in the host's user and mount namespaces, makes each one detached
// (rootfs.OpenIdmapped) and passes it over the init socket; the init attaches it with move_mount(2) at its
// destination in the rootfs, in config order (rootfs.Options.IdmapMounts). One path for every container: with or
// without a user namespace, the mounts are made the same way.

// sendIdmapMounts makes the config's idmapped mounts in rt's own namespaces for the container init pid and sends
// them to it, ahead of its config. Nothing is sent when there are none.
func sendIdmapMounts(sock *os.File, spec *specs.Spec, bundle string, pid int) error {
	fds, err := openIdmapMounts(spec, bundle, pid)
	if err != nil {
		return err
	}
	defer closeMountFds(fds)
	return sendMountFds(sock, fds)
}

// openIdmapMounts makes the detached idmapped mounts of spec for the container init pid, keyed by their index in
// spec.Mounts; nil when there are none. A mount without mappings of its own takes the init's user namespace, when
// it has one of its own. An error names the mount as mounts[N].
func openIdmapMounts(spec *specs.Spec, bundle string, pid int) (_ map[int]*os.File, retErr error) {
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
		if !rootfs.IsIdmapped(m) {
			continue
		}
		if !looked && len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 {
			ns, err := containerUserNS(pid)
			if err != nil {
				return nil, fmt.Errorf("mounts[%d]: %w", i, err)
			}
			ownNS, looked = ns, true
		}
		tree, err := rootfs.OpenIdmapped(m, bundle, ownNS)
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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the container's user namespace: %w", err)
	}
	var theirs, ours unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &theirs); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := unix.Stat("/proc/self/ns/user", &ours); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "stat", Path: "/proc/self/ns/user", Err: err}
	}
	if theirs.Dev == ours.Dev && theirs.Ino == ours.Ino {
		f.Close()
		return nil, nil
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
			return fmt.Errorf("send idmapped mounts to init: %w", err)
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
