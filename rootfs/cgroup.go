package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/internal/rawfile"
)

// CgroupMount is the part of a cgroup or cgroup2 mountinfo entry a "cgroup" mount uses (Options.CgroupMounts).
type CgroupMount struct {
	Mountpoint string `json:"mountpoint"`
	FSType     string `json:"fstype"`
	Root       string `json:"root"`
	VFSOptions string `json:"vfs_options"`
}

// CgroupMountsOf keeps of mountinfo entries what Options.CgroupMounts needs.
func CgroupMountsOf(ms []*mountinfo.Info) []CgroupMount {
	out := make([]CgroupMount, 0, len(ms))
	for _, m := range ms {
		out = append(out, CgroupMount{Mountpoint: m.Mountpoint, FSType: m.FSType, Root: m.Root, VFSOptions: m.VFSOptions})
	}
	return out
}

// cgroupHost is what a "cgroup" mount needs to know about the host, read once per Prepare and only when the spec
// has such a mount: the host's cgroup hierarchies (Options.CgroupMounts, else one mountinfo read) and, when a
// hierarchy has no directory of the container's (hostDir), this process's own cgroups.
type cgroupHost struct {
	unified bool              // /sys/fs/cgroup is cgroup2: a pure v2 host
	mounts  []*mountinfo.Info // the v1 hierarchies, plus the hybrid cgroup2 one
	own     map[string]string // /proc/self/cgroup: controller list ("" for v2) -> path; read on first use
}

func (p *preparer) cgroupHost() (*cgroupHost, error) {
	if p.cg != nil {
		return p.cg, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return nil, &os.PathError{Op: "statfs", Path: cgroupRoot, Err: err}
	}
	cg := &cgroupHost{unified: st.Type == unix.CGROUP2_SUPER_MAGIC}
	if !cg.unified {
		var ms []*mountinfo.Info
		if p.opts.CgroupMounts != nil {
			for _, m := range p.opts.CgroupMounts {
				if m.FSType == "cgroup" || m.FSType == "cgroup2" {
					ms = append(ms, &mountinfo.Info{Mountpoint: m.Mountpoint, FSType: m.FSType, Root: m.Root, VFSOptions: m.VFSOptions})
				}
			}
		} else {
			var err error
			if ms, err = procfs.Mounts(mountinfo.FSTypeFilter("cgroup", "cgroup2")); err != nil {
				return nil, fmt.Errorf("read mountinfo: %w", err)
			}
		}
		seen := map[string]bool{}
		for _, m := range ms {
			// Only the host's own hierarchies under /sys/fs/cgroup, each once (bind mounts of them are skipped).
			if filepath.Dir(m.Mountpoint) != cgroupRoot || seen[m.Mountpoint] {
				continue
			}
			seen[m.Mountpoint] = true
			cg.mounts = append(cg.mounts, m)
		}
	}
	p.cg = cg
	return cg, nil
}

// ownCgroups reads this process's cgroups from /proc/self/cgroup. A procfs file, whose reads never block: read
// with rawfile, as the rest of the init's procfs and cgroupfs reads (os.Open would offer the fd to the poller).
func ownCgroups() (map[string]string, error) {
	buf, err := rawfile.Read("/proc/self/cgroup", make([]byte, 0, 1024))
	if err != nil {
		return nil, err
	}
	return parseOwnCgroups(string(buf)), nil
}

// parseOwnCgroups parses the lines of /proc/PID/cgroup (cgroups(7)), "ID:controller-list:path", into controller
// list ("" for the v2 hierarchy) -> path. A path may itself contain ':'.
func parseOwnCgroups(text string) map[string]string {
	own := map[string]string{}
	for line := range strings.Lines(text) {
		parts := strings.SplitN(strings.TrimSuffix(line, "\n"), ":", 3)
		if len(parts) == 3 {
			own[parts[1]] = parts[2]
		}
	}
	return own
}

// controllers are the v1 controllers (and name=) of a hierarchy: its superblock options without the generic ones.
func controllers(m *mountinfo.Info) []string {
	var cs []string
	for _, o := range strings.Split(m.VFSOptions, ",") {
		switch {
		case o == "rw" || o == "ro" || o == "" || o == "xattr" || o == "clone_children" || o == "noprefix" ||
			o == "cpuset_v2_mode" || strings.HasPrefix(o, "release_agent="):
		default:
			cs = append(cs, o)
		}
	}
	return cs
}

// hostDir is the container's directory in hierarchy m: the one in opts.CgroupPaths under it, else this process's
// own cgroup there (the parent has already put it in the container's cgroups), as runc reads /proc/self/cgroup.
func (p *preparer) hostDir(cg *cgroupHost, m *mountinfo.Info) (string, bool, error) {
	for _, dir := range p.opts.CgroupPaths {
		if dir == m.Mountpoint || strings.HasPrefix(dir, m.Mountpoint+"/") {
			return dir, true, nil
		}
	}
	if cg.own == nil {
		own, err := ownCgroups()
		if err != nil {
			return "", false, err
		}
		cg.own = own
	}
	key := ""
	if m.FSType == "cgroup" {
		key = strings.Join(controllers(m), ",")
	}
	if path, ok := cg.own[key]; ok {
		if rel, err := filepath.Rel(m.Root, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join(m.Mountpoint, rel), true, nil
		}
	}
	return "", false, nil
}

// cgroupRoot is where the host's cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// defaultCgroupFlags are the flags of the tmpfs a v1 cgroup mount is built on (runc).
const defaultCgroupFlags = unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV

// mountCgroup mounts a "cgroup" spec mount: cgroup2 itself on a v2 host; on a v1/hybrid host a tmpfs with each
// hierarchy in it: mounted directly in a cgroup namespace, else a bind of the container's cgroup directory (runc's
// mountCgroupV1/V2). The tmpfs is attached first (a mount cannot be attached inside a detached one before Linux
// 6.15) and filled through its own mount fd, which names no path: nothing in it is looked up in the rootfs.
func (p *preparer) mountCgroup(m *specs.Mount, dest string, o mountOpts) error {
	cg, err := p.cgroupHost()
	if err != nil {
		return err
	}
	cgroupns := namespace.Has(p.spec, specs.CgroupNamespace)
	if cg.unified {
		t, err := p.mountFS("cgroup2", dest, "cgroup2", o)
		if err == nil {
			t.Close()
			return nil
		}
		if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EBUSY) {
			return err
		}
		// In a user namespace without a cgroup namespace cgroup2 cannot be mounted: bind it instead (runc).
		src := cgroupRoot
		if dir := p.opts.CgroupPaths[""]; dir != "" {
			src = dir
		}
		o.flags |= unix.MS_BIND | unix.MS_REC
		bt, err := bindTree(&specs.Mount{Source: src}, o, "", nil)
		if err != nil {
			return err
		}
		defer bt.Close()
		return p.attachBind(bt, dest, o)
	}
	tmpfs := mountOpts{flags: defaultCgroupFlags, data: "mode=755", propagation: o.propagation}
	t, err := p.mountFS("tmpfs", dest, "tmpfs", tmpfs)
	if err != nil {
		return err
	}
	defer t.Close()
	hosts := -1 // the host's /sys/fs/cgroup, for the binds
	if !cgroupns && len(cg.mounts) > 0 {
		// The container's directories are looked up from one handle of /sys/fs/cgroup (every hierarchy is under it,
		// cgroupHost): a walk from "/" crossed /sys and /sys/fs too, kernfs directories whose every lookup takes
		// kernfs's lock and revalidates (9 hierarchies: 10 us more than the open and close of the handle).
		fd, err := unix.Open(cgroupRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: cgroupRoot, Err: err}
		}
		defer unix.Close(fd)
		hosts = fd
	}
	var comounted []string
	for _, h := range cg.mounts {
		name := filepath.Base(h.Mountpoint)
		if strings.Contains(name, ",") {
			comounted = append(comounted, name)
		}
		if err := p.mountHierarchy(t, cg, h, filepath.Join(dest, name), hosts, o); err != nil {
			return err
		}
	}
	if err := comountLinks(t, dest, comounted); err != nil {
		return err
	}
	if o.flags&unix.MS_RDONLY != 0 {
		// The tmpfs goes read-only last, after the hierarchies and links are in it (runc).
		if err := unix.MountSetattr(t.fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
			return &os.PathError{Op: "mount_setattr", Path: dest, Err: err}
		}
	}
	return nil
}

// mountHierarchy mounts the v1 (or hybrid cgroup2) hierarchy h at its directory in the cgroup tmpfs t, sub in the
// container: a new instance in a cgroup namespace (hosts < 0), else a bind of the container's cgroup there (skipped
// when it has none in h), looked up from hosts, a handle of the host's /sys/fs/cgroup.
func (p *preparer) mountHierarchy(t *tree, cg *cgroupHost, h *mountinfo.Info, sub string, hosts int, o mountOpts) error {
	var ht *tree
	var err error
	if hosts < 0 {
		ho := o
		ho.flags &^= unix.MS_BIND | unix.MS_REC
		ho.data = strings.Join(controllers(h), ",")
		ht, err = fsTree(h.FSType, h.FSType, sub, ho, nil, false)
	} else {
		dir, ok, derr := p.hostDir(cg, h)
		if derr != nil {
			return derr
		}
		if !ok {
			return nil
		}
		o.flags |= unix.MS_BIND | unix.MS_REC
		ht, err = hostTree(hosts, dir, o)
	}
	if err != nil {
		return err
	}
	defer ht.Close()
	if err := ht.attachIn(t, filepath.Base(sub), sub); err != nil {
		return err
	}
	return ht.setPropagation(o, sub)
}

// hostTree is bindTree of the host directory dir, under /sys/fs/cgroup, looked up from hosts, a handle of it.
func hostTree(hosts int, dir string, o mountOpts) (*tree, error) {
	rel, ok := strings.CutPrefix(dir, cgroupRoot+"/")
	if !ok {
		return bindTree(&specs.Mount{Source: dir}, o, "", nil)
	}
	t, err := cloneTree(hosts, rel, dir, o)
	if err != nil {
		return nil, err
	}
	if err := t.finish(o, nil); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// comountLinks makes cpu -> cpu,cpuacct style symlinks for comounted hierarchies in the cgroup tmpfs t; existing
// names are kept.
func comountLinks(t *tree, dest string, comounted []string) error {
	for _, name := range comounted {
		for _, c := range strings.Split(name, ",") {
			if err := unix.Symlinkat(name, t.fd, c); err != nil && !errors.Is(err, unix.EEXIST) {
				return &os.PathError{Op: "symlinkat", Path: filepath.Join(dest, c), Err: err}
			}
		}
	}
	return nil
}
