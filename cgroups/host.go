package cgroups

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/internal/rawfile"
)

// host describes the cgroup filesystems of one machine as this process sees them. The real host is read once per
// process (hostInfo); tests build one over a directory of plain files.
type host struct {
	mode    string            // "v2", "hybrid" or "v1"
	unified string            // the cgroup2 mount point; "" if there is none
	v1      map[string]string // v1 controller (or "name=systemd") -> its mount point
	// own maps a controller ("" for v2) to this process's cgroup, relative to the hierarchy's mount point.
	own map[string]string
	// devices attaches the v2 device program; a seam so the file-logic tests do not need a kernel.
	devices func(dir string, rules []specs.LinuxDeviceCgroup) error
	// created, when set, is told of each directory Create makes: the plain-file tests use it to add the control
	// files the kernel would create. Nil on the real host.
	created func(dir string)
	// mounts are the cgroup and cgroup2 entries of the mount table the host was read from (Mounts).
	mounts []*mountinfo.Info
}

// knownV1 reports whether rt manages the v1 controller name; other hierarchies (e.g. a named one other than
// systemd) are ignored. The list matches the subsystems runc's cgroupfs driver joins (libcontainer/cgroups/fs
// subsystems). A switch, not a map: a package-level map is built in package initialisation, in every rt process.
func knownV1(name string) bool {
	switch name {
	case "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio", "perf_event",
		"hugetlb", "pids", "rdma", "misc", "name=systemd":
		return true
	}
	return false
}

// hostOnce holds the host, read once per process by hostInfo.
var hostOnce struct {
	once sync.Once
	h    *host
	err  error
}

// hostInfo reads /proc/self/mountinfo and /proc/self/cgroup once and caches the answer for the life of the process:
// the container start path calls New several times and must not re-parse the mount table. A function over a
// sync.Once rather than a sync.OnceValues variable, which would be built in package initialisation, in every rt
// process.
func hostInfo() (*host, error) {
	hostOnce.once.Do(func() { hostOnce.h, hostOnce.err = readHost() })
	return hostOnce.h, hostOnce.err
}

func readHost() (*host, error) {
	mounts, err := procfs.Mounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup mounts: %w", err)
	}
	// One read(2) into a buffer the size of the usual file (a line per hierarchy), no *os.File or bufio.Scanner.
	buf, err := rawfile.Read("/proc/self/cgroup", make([]byte, 0, 1024))
	if err != nil {
		return nil, err
	}
	h := parseHost(mounts, string(buf))
	h.devices = attachDeviceFilter
	h.mounts = mounts
	return h, nil
}

// Mounts returns the cgroup and cgroup2 entries of this process's /proc/self/mountinfo, from the one read that
// decides Mode: a container's init, whose mount namespace starts as a copy of its parent's, gets them from the
// parent (rootfs.Options.CgroupMounts) rather than parse the mount table a second time. Callers must not change
// them.
func Mounts() ([]*mountinfo.Info, error) {
	h, err := hostInfo()
	if err != nil {
		return nil, err
	}
	return h.mounts, nil
}

// Mode reports the host's cgroup layout: "v2" (only the unified hierarchy), "hybrid" (v1 controllers plus a cgroup2
// mount, usually /sys/fs/cgroup/unified) or "v1". It is decided once per process; "v1" is also the answer when the
// mount table cannot be read.
func Mode() string {
	h, err := hostInfo()
	if err != nil {
		return "v1"
	}
	return h.mode
}

// parseHost builds a host from the cgroup mounts and the contents of /proc/self/cgroup. The maps are sized for a
// host's usual dozen hierarchies, so that filling them does not grow them.
func parseHost(mounts []*mountinfo.Info, procCgroup string) *host {
	h := &host{v1: make(map[string]string, 16), own: make(map[string]string, 16)}
	mountRoot := make(map[string]string, 16)
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup2":
			if h.unified == "" {
				h.unified = m.Mountpoint
				mountRoot[""] = m.Root
			}
		case "cgroup":
			for _, opt := range strings.Split(m.VFSOptions, ",") {
				if !knownV1(opt) {
					continue
				}
				if _, dup := h.v1[opt]; !dup {
					h.v1[opt] = m.Mountpoint
					mountRoot[opt] = m.Root
				}
			}
		}
	}
	controllers := 0
	for c := range h.v1 {
		if !strings.HasPrefix(c, "name=") {
			controllers++
		}
	}
	switch {
	case controllers == 0 && h.unified != "":
		h.mode = "v2"
		h.v1 = map[string]string{}
	case h.unified != "":
		h.mode = "hybrid"
	default:
		h.mode = "v1"
	}

	// /proc/self/cgroup: "hierarchy-ID:controller-list:cgroup-path" (cgroups(7)); v2 is "0::path".
	for line := range strings.Lines(procCgroup) {
		parts := strings.SplitN(strings.TrimSuffix(line, "\n"), ":", 3)
		if len(parts) != 3 {
			continue
		}
		names := []string{parts[1]}
		if parts[1] != "" {
			names = strings.Split(parts[1], ",")
		}
		for _, n := range names {
			// The path is relative to the hierarchy root; a mount of a sub-cgroup (a container without cgroupns)
			// shows that sub-cgroup at its mount point, so strip the mount's root.
			p := parts[2]
			if root := mountRoot[n]; root != "" && root != "/" {
				if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
					p = "/" + rel
				}
			}
			h.own[n] = filepath.Clean("/" + p)
		}
	}
	return h
}
