package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/nsenter"
)

// Exec starts process inside the running container c and returns its host pid once it has exec'd. The process is a
// child of the caller (the bootstrap child clones it with CLONE_PARENT), so the caller can wait for it. A paused
// container takes a process only with ignorePaused (runc's exec --ignore-paused): it starts frozen.
//
// Exec releases the container's lock (Close) once it holds what it needs, before the process inside the container
// exists: that process can be stopped by the container, and must not wedge every other rt command on the container
// while it is (issue 17). Its namespaces are then held open, and its cgroup placement fails, or the process is
// killed, if the container is deleted meanwhile.
func (c *Container) Exec(process *specs.Process, io *ProcessIO, ignorePaused bool) (int, error) {
	defer c.Close()
	st := c.Status()
	switch {
	case st == Running || st == Created:
	case st == Paused && ignorePaused:
	default:
		return 0, classErr(ErrState, "container %q is %s, not running", c.ID(), st)
	}
	if err := ValidateProcess(process, "process"); err != nil {
		return 0, err
	}
	boot, files, setgroupsDeny, err := c.execNamespaces()
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	// The child opens each namespace through rt's own fd (it is rt's child, with rt's credentials, and opens them
	// all before it joins any), so it joins exactly the namespaces checked here.
	for i, f := range files {
		boot.Join[i].Path = "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(f.Fd()))
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
			SetgroupsDenied: setgroupsDeny,
		},
		boot:        boot,
		placed:      placeAndScore(c.cgroup().Apply, process.OOMScoreAdj),
		console:     io.Console,
		stepTimeout: execStepTimeout,
	}
	if st == Paused {
		// The process freezes as it joins the cgroup and goes on when the container is resumed, however late;
		// nothing in a frozen container can stop it meanwhile.
		p.stepTimeout = 0
	}
	c.Close()
	if err := p.start(io, nil); err != nil {
		if errors.Is(err, unix.EAGAIN) {
			return 0, fmt.Errorf("container %q: the process entering it did not answer within %v (stopped?): %w",
				c.ID(), execStepTimeout, err)
		}
		return 0, err
	}
	return p.pid, nil
}

// boundSteps makes every read from and write to the child on sock fail (EAGAIN) after d instead of blocking for
// ever: the process entering a running container is inside it, where the container's root can stop it (SIGSTOP).
// sock is a blocking socket outside Go's poller, so the timeouts are the kernel's (socket(7) SO_RCVTIMEO).
func boundSteps(sock *os.File, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(int(sock.Fd()), unix.SOL_SOCKET, opt, &tv); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	return nil
}

// setgroupsDenied reports whether setgroups(2) is denied in the user namespace of the process pid
// (/proc/<pid>/setgroups, user_namespaces(7)): a rootless container's is, and a process joining it must not call it.
func setgroupsDenied(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", pid))
	return err == nil && strings.TrimSpace(string(data)) == "deny"
}

// execStepTimeout bounds each wait for the process entering the container during exec's handshake: the container can
// stop it (SIGSTOP from its root), and exec then gives up, kills it and fails instead of waiting forever. Generous,
// for a process starting in a container throttled by its CPU limit.
const execStepTimeout = 30 * time.Second

// execNamespaces opens the namespaces exec joins (nsjoin.go) and says whether setgroups(2) is denied in the
// container's user namespace. For a container an older rt created, which recorded none, they are the init's live
// ones, as that rt joined them.
func (c *Container) execNamespaces() (nsenter.Bootstrap, []*os.File, bool, error) {
	if c.state.Namespaces == nil {
		boot, err := joinBootstrap(c.state.InitPid)
		if err != nil {
			return boot, nil, false, fmt.Errorf("container %q namespaces: %w", c.ID(), err)
		}
		return boot, nil, setgroupsDenied(c.state.InitPid), nil
	}
	boot, files, err := c.openNamespaces()
	return boot, files, c.state.SetgroupsDenied, err
}
