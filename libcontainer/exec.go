package libcontainer

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/internal/procfs"
)

// Exec starts process inside the running container c and returns its host pid once it has exec'd. The process is a
// child of the caller (the bootstrap child clones it with CLONE_PARENT), so the caller can wait for it. A paused
// container takes a process only with ignorePaused (runc's exec --ignore-paused): it starts frozen.
func (c *Container) Exec(process *specs.Process, io *ProcessIO, ignorePaused bool) (_ int, retErr error) {
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
	cfg := &initConfig{
		Exec:        true,
		ID:          c.ID(),
		Bundle:      c.state.Bundle,
		Spec:        &spec,
		PreserveFDs: len(io.ExtraFiles),
		// The container's user namespace decides, as seen from the host, not from a /proc it provides.
		SetgroupsDenied: procfs.SetgroupsDenied(strconv.Itoa(c.state.InitPid)),
	}
	// The parent's side of the protocol (sync.go), in order.
	p, err := startInit(io, nil, "")
	if err != nil {
		return 0, err
	}
	defer func() {
		if retErr != nil {
			p.abort()
		}
	}()
	// Not the bootstrap child into the cgroup: it clones, and the Go init starts threads, none of which may count
	// against the container's pids.max. The thread that will execve joins last (initRequests.join).
	if err := p.place(nil, process.OOMScoreAdj); err != nil {
		return 0, err
	}
	if err := p.sendBootstrap(&boot); err != nil {
		return 0, err
	}
	pid, err := p.awaitPid(spec.Linux)
	if err != nil {
		return 0, err
	}
	if err := p.sendConfig(cfg); err != nil {
		return 0, err
	}
	// Until the socket closes as the process execs; an init-style syncReady is taken as done too.
	join := func() error { return c.cgroup().ApplyThread(pid) }
	if _, err := p.serve(initRequests{console: io.Console, seccomp: forwardSeccomp(cfg, pid), join: join}); err != nil {
		return 0, err
	}
	return pid, nil
}
