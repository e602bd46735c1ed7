// Package rootfs builds a container's root filesystem inside its new mount namespace: the config's mounts, /dev,
// pivot_root, masked and read-only paths.
package rootfs

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Options carries what Prepare needs besides the spec.
type Options struct {
	// CgroupPaths are the container's cgroup directories keyed by controller ("" for the v2 hierarchy), for mounts
	// of type "cgroup".
	CgroupPaths map[string]string
}

// Prepare sets up the rootfs at root (absolute host path, already resolved) in the current mount namespace:
// propagation, the bind of root onto itself, every spec mount in order, /dev and its devices. (STUB.)
func Prepare(spec *specs.Spec, root string, opts *Options) error { return nil }

// Pivot makes root the process's root directory with pivot_root(2), or MS_MOVE + chroot when noPivot is set.
func Pivot(root string, noPivot bool) error { return nil }

// Finalize runs after Pivot: masked paths, read-only paths, and the read-only remount of / for root.readonly.
func Finalize(spec *specs.Spec) error { return nil }
