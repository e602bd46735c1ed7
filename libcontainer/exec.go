package libcontainer

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
		},
		boot:    boot,
		placed:  c.cgroup().Apply,
		console: io.Console,
	}
	if err := p.start(io, nil); err != nil {
		return 0, err
	}
	if process.OOMScoreAdj != nil {
		path := fmt.Sprintf("/proc/%d/oom_score_adj", p.pid)
		if err := os.WriteFile(path, []byte(fmt.Sprint(*process.OOMScoreAdj)), 0); err != nil {
			_ = unix.Kill(p.pid, unix.SIGKILL)
			return 0, fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	return p.pid, nil
}
