package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Sub returns the manager of the cgroup below m's that `exec --cgroup` names: sub[""] is a path below the
// container's cgroup in every hierarchy; sub[controller] one below that controller's (and those co-mounted with
// it), the others staying where they are. Each must stay inside the container's cgroup; it must already exist,
// which ApplyThread finds out. Per-controller paths need v1 hierarchies: on a pure v2 host there is only one. An
// empty sub is m itself.
func (m *Manager) Sub(sub map[string]string) (*Manager, error) {
	if len(sub) == 0 {
		return m, nil
	}
	paths := maps.Clone(m.paths)
	below := func(base, p string) (string, error) {
		dir := path.Join(base, p)
		// runc's words ("bad sub cgroup path"), which its suite matches.
		if dir != base && !strings.HasPrefix(dir, base+"/") {
			return "", fmt.Errorf("bad sub cgroup path: %s: %w", p, ErrInvalidPath)
		}
		return dir, nil
	}
	if p, ok := sub[""]; ok {
		if len(sub) != 1 {
			return nil, fmt.Errorf("--cgroup %s: a path without a controller must be the only one: %w", p, ErrInvalidPath)
		}
		for k, base := range paths {
			dir, err := below(base, p)
			if err != nil {
				return nil, err
			}
			paths[k] = dir
		}
		return &Manager{paths: paths, h: m.h}, nil
	}
	if m.unifiedOnly() {
		return nil, fmt.Errorf("--cgroup CONTROLLER:PATH: cgroup v2 has one hierarchy, give PATH alone: %w", ErrNotSupported)
	}
	for ctrl, p := range sub {
		base, ok := m.paths[ctrl]
		if !ok || ctrl == "" {
			return nil, fmt.Errorf("--cgroup %s:%s: unknown controller %s", ctrl, p, ctrl)
		}
		dir, err := below(base, p)
		if err != nil {
			return nil, err
		}
		// Co-mounted controllers (cpu,cpuacct) share a directory: all of them move, or ApplyThread would write the
		// thread into both the base and the sub-cgroup of the one hierarchy.
		for k, d := range m.paths {
			if d == base && k != "" {
				paths[k] = dir
			}
		}
	}
	return &Manager{paths: paths, h: m.h}, nil
}

// procRoot is where the init's /proc/<pid>/cgroup is read; a variable for the plain-file tests.
var procRoot = "/proc"

// ApplyThreadToInitCgroup moves tid's process into the v2 cgroup the container's init is in now, for exec when the
// container's cgroup refused it, as runc's addIntoCgroupV2 falls back: on a v2 host the init may have moved itself
// below it and enabled a domain controller there (the cgroup then takes no processes, EBUSY), or into another cgroup
// altogether and the container's is gone. Only on a pure v2 host; m's own paths are not changed.
func (m *Manager) ApplyThreadToInitCgroup(tid, initPid int) error {
	if !m.unifiedOnly() || initPid <= 0 {
		return fmt.Errorf("no init cgroup to fall back to: %w", ErrNotSupported)
	}
	mnt := m.host().unified
	if mnt == "" {
		return fmt.Errorf("no cgroup2 mount: %w", ErrNotSupported)
	}
	rel, err := unifiedCgroupOf(filepath.Join(procRoot, strconv.Itoa(initPid), "cgroup"))
	if err != nil {
		return err
	}
	dir := filepath.Join(mnt, rel)
	if err := writeFile(dir, "cgroup.procs", strconv.Itoa(tid)); err != nil {
		return fmt.Errorf("adding pid %d to cgroup %s: %w", tid, dir, err)
	}
	return nil
}

// unifiedCgroupOf returns the v2 cgroup ("0::" line) of a /proc/<pid>/cgroup file, relative to the mount point.
func unifiedCgroupOf(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rel, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			if !path.IsAbs(rel) || escapes(rel) {
				return "", fmt.Errorf("%s: cgroup %q: %w", file, rel, ErrInvalidPath)
			}
			return rel, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no cgroup v2 line: %w", file, errors.ErrUnsupported)
}
