package cgroups

import (
	"fmt"
	"path/filepath"
	"strings"
)

// resolve maps linux.cgroupsPath to one directory per hierarchy, following runc's cgroupfs driver
// (libcontainer/specconv CreateCgroupConfig + cgroups/fs paths.go + fs2 defaultpath.go):
//   - an absolute path is relative to each hierarchy's mount point;
//   - a relative path is relative to this process's own cgroup in that hierarchy; on a pure v2 host it is relative
//     to the parent of our own cgroup, because our own cgroup has processes and so cannot enable controllers for a
//     child (the v2 "no internal processes" rule);
//   - an empty path means the container id as a relative path (runc sets Name=id, Path="").
//
// Unlike runc, which lexically clamps "..", a path that climbs above the hierarchy root is refused.
func (h *host) resolve(cgroupsPath, id string) (map[string]string, error) {
	inner := cgroupsPath
	if inner == "" {
		inner = id
	}
	if inner == "" {
		return nil, fmt.Errorf("cgroups path: empty path and container id: %w", ErrInvalidPath)
	}
	if escapes(inner) {
		return nil, fmt.Errorf("cgroups path %q leaves the hierarchy: %w", cgroupsPath, ErrInvalidPath)
	}
	abs := filepath.IsAbs(inner)
	inner = filepath.Clean(inner)
	if inner == "/" || inner == "." {
		return nil, fmt.Errorf("cgroups path %q names the hierarchy root: %w", cgroupsPath, ErrInvalidPath)
	}
	paths := make(map[string]string, len(h.v1)+1)
	for ctrl, mnt := range h.v1 {
		if abs {
			paths[ctrl] = filepath.Join(mnt, inner)
		} else {
			paths[ctrl] = filepath.Join(mnt, h.own[ctrl], inner)
		}
	}
	if h.unified != "" {
		switch {
		case abs:
			paths[""] = filepath.Join(h.unified, inner)
		case h.mode == "v2":
			paths[""] = filepath.Join(h.unified, filepath.Dir(h.own[""]), inner)
		default:
			// Hybrid: runc joins the unified tree like a named v1 hierarchy (fs.NameGroup with GroupName "").
			paths[""] = filepath.Join(h.unified, h.own[""], inner)
		}
	}
	return paths, nil
}

// escapes reports whether p, read element by element, climbs above its starting point.
func escapes(p string) bool {
	depth := 0
	for _, e := range strings.Split(p, "/") {
		switch e {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// validFileName reports whether name is a plain file name inside a cgroup directory (for linux.resources.unified
// keys): no separator, not "." or "..", no NUL.
func validFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}
