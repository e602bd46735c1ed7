// Package cgroups manages a container's control groups: the cgroup v2 unified hierarchy, and the v1 hierarchies of
// hybrid and v1-only hosts, behind one Manager.
package cgroups

import (
	"errors"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotSupported marks a resource the host's cgroup setup cannot honour.
var ErrNotSupported = errors.New("not supported by this host's cgroups")

// Manager controls one container's cgroup. (STUB: the real implementation replaces this file.)
type Manager struct {
	paths map[string]string
}

// New returns a manager for the container cgroup named by the spec's linux.cgroupsPath (empty means the default
// for container id). Nothing is created on disk.
func New(cgroupsPath, id string) (*Manager, error) { return &Manager{paths: map[string]string{}}, nil }

// Load returns the manager of an existing container from the paths its Paths method reported.
func Load(paths map[string]string) *Manager { return &Manager{paths: paths} }

// Paths reports the cgroup directories, keyed by controller ("" for the v2 unified hierarchy), for the state file.
func (m *Manager) Paths() map[string]string { return m.paths }

// Mode says which hierarchy layout the host has: "v2", "hybrid" or "v1".
func Mode() string { return "hybrid" }

// Create makes the cgroup directories and enables the controllers the resources need; it refuses an existing
// cgroup that has processes in it or is frozen.
func (m *Manager) Create(r *specs.LinuxResources) error { return nil }

// Apply moves pid into the cgroup.
func (m *Manager) Apply(pid int) error { return nil }

// Set writes the limits of r.
func (m *Manager) Set(r *specs.LinuxResources) error { return nil }

// Freeze freezes every process in the cgroup and waits until the kernel reports it frozen.
func (m *Manager) Freeze() error { return nil }

// Thaw resumes a frozen cgroup.
func (m *Manager) Thaw() error { return nil }

// Frozen reports whether the cgroup is frozen.
func (m *Manager) Frozen() (bool, error) { return false, nil }

// Pids lists the processes in the cgroup (recursively).
func (m *Manager) Pids() ([]int, error) { return nil, nil }

// Signal sends sig to every process in the cgroup (cgroup.kill for SIGKILL where the kernel has it).
func (m *Manager) Signal(sig syscall.Signal) error { return nil }

// Destroy kills whatever is left in the cgroup and removes its directories. It is not an error if they are gone.
func (m *Manager) Destroy() error { return nil }
