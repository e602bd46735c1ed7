package libcontainer

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Exec starts process inside the running container c and returns its host pid once it has exec'd. The process is a
// child of the caller (the bootstrap child clones it with CLONE_PARENT), so the caller can wait for it. A paused
// container takes a process only with ignorePaused (runc's exec --ignore-paused): it starts frozen.
func (c *Container) Exec(process *specs.Process, io *ProcessIO, ignorePaused bool) (int, error) {
	switch st := c.Status(); {
	case st == Running || st == Created:
	case st == Paused && ignorePaused:
	default:
		return 0, classErr(ErrState, "container %q is %s, not running", c.ID(), st)
	}
	if err := ValidateProcess(process, "process"); err != nil {
		return 0, err
	}
	boot, err := joinBootstrap(c.state.InitPid)
	if err != nil {
		return 0, fmt.Errorf("container %q namespaces: %w", c.ID(), err)
	}
	boot.NonDumpable = true
	spec := *c.state.Config
	spec.Process = process
	p := &parentProcess{
		config: &initConfig{
			Exec:        true,
			ID:          c.ID(),
			Bundle:      c.state.Bundle,
			Spec:        &spec,
			PreserveFDs: len(io.ExtraFiles),
			// The container's user namespace decides, as seen from the host, not from a /proc it provides.
			SetgroupsDenied: setgroupsDenied(c.state.InitPid),
		},
		boot: boot,
		// Not the bootstrap child: it clones, and the Go init starts threads, none of which may count against
		// the container's pids.max. The thread that will execve joins last (join).
		placed:  placeAndScore(nil, process.OOMScoreAdj),
		join:    c.cgroup().ApplyThread,
		console: io.Console,
	}
	if err := p.start(io, nil); err != nil {
		return 0, err
	}
	return p.pid, nil
}

// setgroupsDenied reports whether setgroups(2) is denied in the user namespace of the process pid
// (/proc/<pid>/setgroups, user_namespaces(7)): a rootless container's is, and a process joining it must not call it.
func setgroupsDenied(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", pid))
	return err == nil && strings.TrimSpace(string(data)) == "deny"
}
