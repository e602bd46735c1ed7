package libcontainer

import (
	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/rootfs"
)

// MountOptions lists the mount options rt understands, for `rt features`.
func MountOptions() []string { return rootfs.OptionNames() }

// CgroupMode says which cgroup layout rt found on this host: "v2", "hybrid" or "v1".
func CgroupMode() string { return cgroups.Mode() }
