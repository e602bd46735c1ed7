package libcontainer

import (
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/nsenter"
)

// Which namespaces a process entering a running container (`rt exec`) joins. Not the ones the init is in now: the
// workload may leave them (one unprivileged unshare(CLONE_NEWUSER) makes a user namespace without mappings, in which
// the joining process could not become root). It joins the namespaces the container was created with, recorded at
// create by identity (nsfs device and inode), as runc joins its recorded namespace paths; each is reached through
// any process still in it, and a user namespace also as the owner of the container's other namespaces or as an
// ancestor of the init's current one. One that nothing reaches any more is gone, and exec refuses.

// NamespaceID names one namespace the container was created with: its type and nsfs identity.
type NamespaceID struct {
	Type specs.LinuxNamespaceType `json:"type"`
	Dev  uint64                   `json:"dev"`
	Ino  uint64                   `json:"ino"`
}

// ioctl_ns(2) requests: the user namespace owning a namespace, and a user namespace's parent (linux/nsfs.h).
const (
	nsGetUserns = 0xb701 // _IO(0xb7, 0x1)
	nsGetParent = 0xb702 // _IO(0xb7, 0x2)
)

// recordNamespaces reads the identity of each namespace linux.namespaces gives the container (new or joined) from
// its init pid, which has not run the workload yet. A joined one that is rt's own is not recorded: there is nothing
// to join (a new one never is). It also says whether setgroups(2) is denied in the container's user namespace,
// which cannot change once its gid_map is written (user_namespaces(7)). A few stat(2)s on the create path.
func recordNamespaces(pid int, l *specs.Linux) (ids []NamespaceID, setgroupsDeny bool, err error) {
	ids = []NamespaceID{} // recorded, even when there are none: not an older rt's state (State.Namespaces)
	if l == nil {
		return ids, false, nil
	}
	for _, k := range namespace.Kinds { // user first
		ns, ok := namespaceOf(l, k.Type)
		if !ok {
			continue
		}
		path := "/proc/" + strconv.Itoa(pid) + "/ns/" + k.Proc
		var theirs, ours unix.Stat_t
		if err := unix.Stat(path, &theirs); err != nil {
			if err == unix.EACCES || err == unix.EPERM {
				// A rootless init that became a subordinate uid: rt may not look at it, and exec joins as an older
				// rt did (it could not enter such a container before either).
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("container init: %w", &os.PathError{Op: "stat", Path: path, Err: err})
		}
		if ns.Path != "" && unix.Stat("/proc/self/ns/"+k.Proc, &ours) == nil && ours.Dev == theirs.Dev && ours.Ino == theirs.Ino {
			continue
		}
		ids = append(ids, NamespaceID{Type: k.Type, Dev: theirs.Dev, Ino: theirs.Ino})
		if k.Type == specs.UserNamespace {
			setgroupsDeny = procfs.SetgroupsDenied(strconv.Itoa(pid))
		}
	}
	return ids, setgroupsDeny, nil
}

// namespaceOf is linux.namespaces' entry of type t.
func namespaceOf(l *specs.Linux, t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, ns := range l.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}

// openNamespaces opens each recorded namespace of the container and returns the nsenter records to join them,
// with the open files in the same order (Exec names each file in its record, and keeps them open until the
// child has joined them). The caller closes the files. A namespace nothing reaches any more is an ErrState error.
func (c *Container) openNamespaces() (nsenter.Bootstrap, []*os.File, error) {
	var boot nsenter.Bootstrap
	found := map[specs.LinuxNamespaceType]*os.File{}
	fail := func(err error) (nsenter.Bootstrap, []*os.File, error) {
		for _, f := range found {
			f.Close()
		}
		return boot, nil, err
	}
	var pids []int // the container's processes, read once, only when the init is no longer in a namespace
	// The user namespace last: the others, once found, lead to it as their owner.
	order := make([]NamespaceID, 0, len(c.state.Namespaces))
	for _, ns := range c.state.Namespaces {
		if ns.Type != specs.UserNamespace {
			order = append(order, ns)
		}
	}
	for _, ns := range c.state.Namespaces {
		if ns.Type == specs.UserNamespace {
			order = append(order, ns)
		}
	}
	for _, want := range order {
		f := openNsOf(c.state.InitPid, want)
		if f == nil && want.Type == specs.UserNamespace {
			f = ownerUserns(found, c.state.InitPid, want)
		}
		if f == nil {
			if pids == nil {
				pids, _ = c.cgroup().Pids()
			}
			for _, pid := range pids {
				if f = openNsOf(pid, want); f != nil {
					break
				}
			}
		}
		if f == nil {
			k, _ := namespace.Lookup(want.Type)
			return fail(classErr(ErrState, "container %q: the %s namespace it was created with is gone (no process of the container is left in it)",
				c.ID(), k.Proc))
		}
		found[want.Type] = f
	}
	var files []*os.File
	for _, k := range namespace.Kinds { // user first, so the others are entered with its capabilities
		if f, ok := found[k.Type]; ok {
			boot.Join = append(boot.Join, nsenter.NsPath{Type: k.Flag})
			files = append(files, f)
		}
	}
	return boot, files, nil
}

// openNsOf opens /proc/<pid>/ns/<type> and returns it when it is the namespace want; nil when pid is gone or in
// another one. The identity is checked on the open fd, so a recycled pid cannot substitute a namespace.
func openNsOf(pid int, want NamespaceID) *os.File {
	k, _ := namespace.Lookup(want.Type)
	path := "/proc/" + strconv.Itoa(pid) + "/ns/" + k.Proc
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if !isNs(fd, want) {
		unix.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), path)
}

// ownerUserns finds the container's user namespace as the owner of one of its other namespaces (found), or as an
// ancestor of the user namespace the init is in now (ioctl_ns(2) NS_GET_USERNS, NS_GET_PARENT): the workload's
// unshare(CLONE_NEWUSER) makes a child of it.
func ownerUserns(found map[specs.LinuxNamespaceType]*os.File, initPid int, want NamespaceID) *os.File {
	for _, f := range found {
		if fd, err := unix.IoctlRetInt(int(f.Fd()), nsGetUserns); err == nil {
			if isNs(fd, want) {
				return os.NewFile(uintptr(fd), "user namespace of "+f.Name())
			}
			unix.Close(fd)
		}
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(initPid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	// Bounded: user namespaces nest at most 32 deep (user_namespaces(7)).
	for depth := 0; depth < 33; depth++ {
		parent, err := unix.IoctlRetInt(fd, nsGetParent)
		unix.Close(fd)
		if err != nil {
			return nil // EPERM: above rt's own user namespace
		}
		if isNs(parent, want) {
			return os.NewFile(uintptr(parent), "user namespace")
		}
		fd = parent
	}
	unix.Close(fd)
	return nil
}

// isNs reports whether the nsfs fd is the namespace want.
func isNs(fd int, want NamespaceID) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino
}
