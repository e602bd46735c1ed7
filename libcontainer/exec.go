package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/nsenter"
)

// ExecOptions are the choices of `rt exec` beyond the process itself.
type ExecOptions struct {
	// IgnorePaused lets a paused container take the process (runc's exec --ignore-paused): it starts frozen.
	IgnorePaused bool
	// SubCgroups puts the process in an existing cgroup below the container's (exec --cgroup): "" for every
	// hierarchy, or per v1 controller (cgroups.Manager.Sub).
	SubCgroups map[string]string
}

// Exec starts process inside the running container c and returns its host pid once it has exec'd. The process is a
// child of the caller (the bootstrap child clones it with CLONE_PARENT), so the caller can wait for it. A paused
// container takes a process only with opts.IgnorePaused.
//
// Exec releases the container's lock (Close) once it holds what it needs, before the process inside the container
// exists: that process can be stopped by the container, and must not wedge every other rt command on the container
// while it is (issue 17). Its namespaces are then held open, and its cgroup placement fails, or the process is
// killed, if the container is deleted meanwhile.
func (c *Container) Exec(process *specs.Process, io *ProcessIO, opts ExecOptions) (_ int, retErr error) {
	defer c.Close()
	st := c.Status()
	switch {
	case st == Running || st == Created:
	case st == Paused && opts.IgnorePaused:
	case st == Paused:
		// runc's words: users and its own suite match them.
		return 0, classErr(ErrState, "cannot exec in a paused container (use --ignore-paused to override)")
	default:
		return 0, classErr(ErrState, "container %q is %s, not running", c.ID(), st)
	}
	if err := ValidateProcess(process, "process"); err != nil {
		return 0, err
	}
	view, err := c.execView()
	if err != nil {
		return 0, err
	}
	warnAmbient(process)
	process = inheritLabel(process, view.Process)
	cg, err := c.cgroup().Sub(opts.SubCgroups)
	if err != nil {
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
	cfg := view.config(process)
	cfg.PreserveFDs = len(io.ExtraFiles)
	// The container's user namespace decides, as seen from the host, not from a /proc it provides.
	cfg.SetgroupsDenied = setgroupsDeny
	// The container's state for a seccomp listener (runtime-spec config-linux.md "seccomp"), sent with the exec'd
	// process's notify fd: its pid is the container's, the init's, as runc 1.5 sends it.
	state := specs.State{
		Version: specs.Version, ID: c.ID(), Status: specs.StateRunning, Pid: c.state.InitPid, Bundle: c.state.Bundle,
		Annotations: c.Annotations(),
	}
	// The cgroup is joined last, by the thread that will execve alone (initRequests.join). On a v2 host, a cgroup
	// that refuses it, when no --cgroup was given, falls back to the init's current cgroup, as runc's does.
	initPid, fallback := c.state.InitPid, len(opts.SubCgroups) == 0
	applyThread := func(tid int) error {
		err := cg.ApplyThread(tid)
		if err != nil && fallback {
			if cg.ApplyThreadToInitCgroup(tid, initPid) == nil {
				return nil
			}
		}
		return err
	}
	c.Close()
	// The parent's side of the protocol (sync.go), in order.
	p, err := startInit(io, nil, "")
	if err != nil {
		return 0, err
	}
	crashpoint("exec:started")
	defer func() {
		if retErr != nil {
			p.abort()
			if errors.Is(retErr, unix.EAGAIN) {
				retErr = fmt.Errorf("container %q: the process entering it did not answer within %v (stopped?): %w",
					c.ID(), execStepTimeout, retErr)
			}
		}
	}()
	// A process joining a paused container freezes as it joins the cgroup and goes on when the container is
	// resumed, however late; nothing in a frozen container can stop it meanwhile.
	if st != Paused {
		if err := boundSteps(p.sock, execStepTimeout); err != nil {
			return 0, err
		}
	}
	// Not the bootstrap child into the cgroup: it clones, and the Go init starts threads, none of which may count
	// against the container's pids.max. The thread that will execve joins last (initRequests.join).
	initial := ""
	if a := process.ExecCPUAffinity; a != nil {
		initial = a.Initial
	}
	if err := p.place(nil, initial, process.OOMScoreAdj); err != nil {
		return 0, err
	}
	crashpoint("exec:placed")
	if err := p.sendBootstrap(&boot); err != nil {
		return 0, err
	}
	// No uid/gid maps: exec joins the container's user namespace, it makes none.
	pid, err := p.awaitPid(nil)
	if err != nil {
		return 0, err
	}
	crashpoint("exec:pid-read")
	if err := p.sendExecConfig(cfg); err != nil {
		return 0, err
	}
	crashpoint("exec:config")
	// Until the socket closes as the process execs; an init-style syncReady is taken as done too.
	join := func() error { return applyThread(pid) }
	notify := func(f *os.File) error {
		var s specs.LinuxSeccomp
		if err := json.Unmarshal(cfg.Seccomp, &s); err != nil {
			return fmt.Errorf("linux.seccomp: %w", err)
		}
		return sendSeccompFd(f, &s, pid, state)
	}
	if _, err := p.serve(initRequests{console: io.Console, seccomp: notify, join: join}); err != nil {
		return 0, err
	}
	return pid, nil
}

// execView is what exec reads of the container's config: its process, the base of the one to exec and whose SELinux
// label it may inherit, and the parts of linux the exec'd process applies, which go to it as they are (execConfig).
type execView struct {
	Process *specs.Process `json:"process"`
	Linux   *execLinux     `json:"linux"`
}

// execLinux is the part of linux that execView keeps, undecoded.
type execLinux struct {
	Seccomp      json.RawMessage `json:"seccomp"`
	Personality  json.RawMessage `json:"personality"`
	MemoryPolicy json.RawMessage `json:"memoryPolicy"`
}

// config is the execConfig of process p joining the container: p, and the parts of linux it applies as the
// container's config has them.
func (v *execView) config(p *specs.Process) *execConfig {
	cfg := &execConfig{Process: p}
	if l := v.Linux; l != nil {
		cfg.Seccomp, cfg.Personality, cfg.MemoryPolicy = l.Seccomp, l.Personality, l.MemoryPolicy
	}
	return cfg
}

// Process is the process of the container's config, the base of one that `exec` runs without a process.json; nil
// when the config has none. Only that part of the config is decoded (execView), not the whole (Config).
func (c *Container) Process() (*specs.Process, error) {
	v, err := c.execView()
	if err != nil {
		return nil, err
	}
	return v.Process, nil
}

// execView decodes the container's execView from the state file once; after Create, or once Config has decoded
// the whole config, it is taken from that.
func (c *Container) execView() (*execView, error) {
	if c.exec != nil {
		return c.exec, nil
	}
	if c.brief {
		// Read kept only readState's fields: take the whole config from the file.
		if _, err := c.Config(); err != nil {
			return nil, err
		}
	}
	v := &execView{}
	if c.raw != nil {
		var st struct {
			Config *execView `json:"config"`
		}
		if err := json.Unmarshal(c.raw, &st); err != nil {
			return nil, fmt.Errorf("container %q: read state: %w", c.state.ID, err)
		}
		if st.Config != nil {
			v = st.Config
		}
	} else if spec := c.state.Config; spec != nil {
		// A typed nil is "null", which decodes to nil again in the init.
		v.Process = spec.Process
		if l := spec.Linux; l != nil {
			v.Linux = &execLinux{}
			var err error
			if v.Linux.Seccomp, err = json.Marshal(l.Seccomp); err != nil {
				return nil, fmt.Errorf("container %q: linux.seccomp: %w", c.state.ID, err)
			}
			if v.Linux.Personality, err = json.Marshal(l.Personality); err != nil {
				return nil, fmt.Errorf("container %q: linux.personality: %w", c.state.ID, err)
			}
			if v.Linux.MemoryPolicy, err = json.Marshal(l.MemoryPolicy); err != nil {
				return nil, fmt.Errorf("container %q: linux.memoryPolicy: %w", c.state.ID, err)
			}
		}
	}
	c.exec = v
	return v, nil
}

// inheritLabel gives an exec'd process without a SELinux label of its own the container's, as runc 1.5 does (its
// container config keeps process.selinuxLabel, and exec -p falls back to it). Not so the AppArmor profile: runc
// keeps none for the container, so `runc exec -p process.json` without apparmorProfile runs unconfined, and so
// does rt's (make test-lsm checks both).
func inheritLabel(p, container *specs.Process) *specs.Process {
	if p.SelinuxLabel != "" || container == nil || container.SelinuxLabel == "" {
		return p
	}
	inherited := *p
	inherited.SelinuxLabel = container.SelinuxLabel
	return &inherited
}

// execStepTimeout bounds each read from and write to the process entering the container during exec's handshake:
// the container can stop it (SIGSTOP from its root), and exec then gives up, kills it and fails instead of waiting
// for ever. Generous, for a process starting in a container throttled by its CPU limit.
const execStepTimeout = 30 * time.Second

// boundSteps makes every read from and write to the child on sock fail (EAGAIN) after d instead of blocking for
// ever. sock is a blocking socket outside Go's poller, so the timeouts are the kernel's (socket(7) SO_RCVTIMEO).
func boundSteps(sock *os.File, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(int(sock.Fd()), unix.SOL_SOCKET, opt, &tv); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	return nil
}

// execNamespaces opens the namespaces exec joins (nsjoin.go) and says whether setgroups(2) is denied in the
// container's user namespace. For a container an older rt created, which recorded none, they are the init's live
// ones, as that rt joined them.
func (c *Container) execNamespaces() (nsenter.Bootstrap, []*os.File, bool, error) {
	if c.state.Namespaces == nil {
		boot, err := joinBootstrap(c.state.InitPid)
		if err != nil {
			return boot, nil, false, fmt.Errorf("container %q namespaces: %w", c.ID(), err)
		}
		return boot, nil, procfs.SetgroupsDenied(strconv.Itoa(c.state.InitPid)), nil
	}
	boot, files, err := c.openNamespaces()
	return boot, files, c.state.SetgroupsDenied, err
}
