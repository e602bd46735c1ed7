// Package libcontainer is rt's engine: a container's lifecycle and state, the parent side of the parent<->child
// protocol, and the init side that runs inside the container.
package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/nsenter"
)

// Container is one container's state directory, held locked for as long as the Container is open.
type Container struct {
	dir      string // <root>/<id>
	lock     *os.File
	state    State
	cg       *cgroups.Manager
	notifyFd int  // the bound notify socket between Start and AwaitReady; 0 when none
	creator  bool // this process is the container's create, at work on it (state.Creating is ours)
	// raw is state.json as Load or Read found it, while state.Config holds only configView's fields; nil once
	// state.Config is the whole config (Create, or after Config).
	raw        []byte
	hasProcess bool // the config has a process (start refuses one without)
}

// configView is the part of a container's config that Load and Read decode: what state, list, kill, start and
// delete read (ociVersion, annotations, hooks, linux.namespaces, whether there is a process): the whole specs.Spec
// cost `rt state` ~3 ms of CPU and 60 page faults more here (reflection over every runtime-spec type). exec and
// update ask for the rest (Config). The runtime-spec types stay: fewer fields of them.
type configView struct {
	Version     string            `json:"ociVersion"`
	Process     json.RawMessage   `json:"process,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *struct {
		Namespaces []specs.LinuxNamespace `json:"namespaces,omitempty"`
	} `json:"linux,omitempty"`
}

// storedState is state.json decoded with configView for its config (the outer field wins over State's).
type storedState struct {
	State
	Config *configView `json:"config"`
}

// decodeState decodes data, a state.json, into c: the config as configView.
func (c *Container) decodeState(data []byte) error {
	var st storedState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	c.state = st.State
	c.state.Config = &specs.Spec{}
	if v := st.Config; v != nil {
		c.state.Config = &specs.Spec{Version: v.Version, Hooks: v.Hooks, Annotations: v.Annotations}
		if v.Linux != nil {
			c.state.Config.Linux = &specs.Linux{Namespaces: v.Linux.Namespaces}
		}
		c.hasProcess = len(v.Process) > 0 && string(v.Process) != "null"
	}
	c.raw = data
	return nil
}

// ID is the container's id.
func (c *Container) ID() string { return c.state.ID }

// Bundle is the absolute path of the container's bundle.
func (c *Container) Bundle() string { return c.state.Bundle }

// Rootfs is the absolute path of the container's root filesystem.
func (c *Container) Rootfs() string { return c.state.Rootfs }

// Config is the spec the container was created from. After Load or Read the first call decodes it whole from
// the state file (see configView).
func (c *Container) Config() (*specs.Spec, error) {
	if c.raw != nil {
		var st State
		if err := json.Unmarshal(c.raw, &st); err != nil {
			return nil, fmt.Errorf("container %q: read state: %w", c.state.ID, err)
		}
		if st.Config == nil {
			st.Config = &specs.Spec{}
		}
		c.state.Config, c.raw = st.Config, nil
	}
	return c.state.Config, nil
}

// OCIVersion is the config's ociVersion.
func (c *Container) OCIVersion() string { return c.state.Config.Version }

// Annotations are the config's annotations.
func (c *Container) Annotations() map[string]string { return c.state.Config.Annotations }

// State is the saved state (for display; Status and Pid derive the live parts). After Load or Read its Config
// holds only configView's fields: Config has the whole config.
func (c *Container) State() *State { return &c.state }

// Dir is the container's state directory.
func (c *Container) Dir() string { return c.dir }

func (c *Container) cgroup() *cgroups.Manager {
	if c.cg == nil {
		if u := c.state.CgroupUnit; u != nil {
			c.cg = cgroups.LoadSystemd(c.state.CgroupPaths, u)
		} else {
			c.cg = cgroups.Load(c.state.CgroupPaths)
		}
	}
	return c.cg
}

// Stats is the container's resource usage, from its cgroup (`rt events --stats`).
func (c *Container) Stats() (*cgroups.Stats, error) { return c.cgroup().Stats() }

// NotifyOOM reports the container's OOM events as they happen, and closes the channel once its cgroup is gone
// (`rt events`, cgroups.Manager.NotifyOOM). It outlives the container's lock.
func (c *Container) NotifyOOM() (<-chan struct{}, error) { return c.cgroup().NotifyOOM() }

// Close releases the container's lock.
func (c *Container) Close() error {
	if c.lock == nil {
		return nil
	}
	err := c.lock.Close()
	c.lock = nil
	return err
}

// lockDir takes an exclusive flock on the state directory itself, so two rt processes never act on one container at
// once. It blocks until the other process is done.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: dir, Err: err}
	}
	return f, nil
}

// lockCurrentDir is lockDir for a container's state directory by its name: while it waited for the lock, a delete
// may have removed the directory it opened and a create renamed a new one to the name, whose state is not covered
// by this lock (and may be half-made). So the locked directory must still be the one at dir, or: ErrNotExist.
func lockCurrentDir(dir string) (*os.File, error) {
	f, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "fstat", Path: dir, Err: err}
	}
	if err := unix.Stat(dir, &now); err != nil || now.Dev != held.Dev || now.Ino != held.Ino {
		f.Close()
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
		}
		return nil, &os.PathError{Op: "flock", Path: dir, Err: os.ErrNotExist}
	}
	return f, nil
}

// lockHeld reports whether another open file holds the lock on dir: a reader that did not take the lock asks it
// whether the creator of an uncommitted state is still at work.
func lockHeld(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// Load opens and locks the container id under root. An unknown id is ErrNotExist; so is a directory whose creator
// died before writing its state (it is removed).
func Load(root, id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, id)
	lock, err := lockCurrentDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, classErr(ErrNotExist, "container %q does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	c := &Container{dir: dir, lock: lock}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		// We hold the lock, so its creator is gone: it failed half-way. Nothing else refers to the directory.
		_ = os.RemoveAll(dir)
		lock.Close()
		return nil, classErr(ErrNotExist, "container %q does not exist", id)
	}
	if err == nil {
		err = c.decodeState(data)
	}
	if err != nil {
		lock.Close()
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) || len(data) == 0 {
			return nil, classErr(ErrUnreadable, "container %q: read state: %w", id, err)
		}
		return nil, fmt.Errorf("container %q: read state: %w", id, err)
	}
	return c, nil
}

// RemoveUnreadable removes the state directory of container id whose state.json is unreadable (ErrUnreadable), for
// `delete --force`: with the state gone, what it recorded cannot be found, and after the machine crash that tears
// a state nothing of it is left but the directory.
func RemoveUnreadable(root, id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	dir := filepath.Join(root, id)
	lock, err := lockCurrentDir(dir)
	if err != nil {
		return fmt.Errorf("container %q: %w", id, err)
	}
	defer lock.Close()
	slog.Warn(fmt.Sprintf("container %q: state.json unreadable: removing its state directory only", id))
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
}

// Read opens container id under root without taking its lock, to look at it: `state` and `list` answer even while
// another rt process holds the lock for long (a `start` whose init the container stopped). The state file is only
// ever replaced by rename, so it is read whole, old or new. A directory without one is a container being created,
// or one whose creator died (Load removes it): ErrNotExist. The Container must not be changed; Close is a no-op.
func Read(root, id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	c := &Container{dir: filepath.Join(root, id)}
	data, err := os.ReadFile(filepath.Join(c.dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, classErr(ErrNotExist, "container %q does not exist", id)
	}
	if err == nil {
		err = c.decodeState(data)
	}
	if err != nil {
		return nil, fmt.Errorf("container %q: read state: %w", id, err)
	}
	return c, nil
}

// List returns the ids of the containers under root, in directory order. A missing root is an os.ErrNotExist error:
// the caller decides whether that means none.
func List(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Signal sends sig to the container's init, or with all to every process in its cgroup. Signalling a stopped
// container without all is an ErrState error, as in runc, with runc's text (errNotRunning).
func (c *Container) Signal(sig syscall.Signal, all bool) error {
	status := c.Status()
	// Without a pid namespace of its own the init's death kills nothing else, so SIGKILL goes to every process in
	// the cgroup, the init alive or not, as runc's does; with no process left the container is not running.
	if sig == unix.SIGKILL && !all && !namespace.Creates(c.state.Config, specs.PIDNamespace) {
		if pids, err := c.cgroup().Pids(); err == nil && len(pids) > 0 {
			all = true
		}
	}
	if all {
		// runc's kill --all drops its ErrNotRunning: a stopped container is no error. SIGKILL still sweeps the
		// cgroup, for processes that outlived an init that shared its pid namespace.
		if status == Stopped && sig != unix.SIGKILL {
			return nil
		}
		return c.cgroup().Signal(sig)
	}
	if status == Stopped {
		return errNotRunning
	}
	if err := c.signalInit(sig); err != nil {
		return err
	}
	// A paused container cannot act on SIGTERM; thaw it after a SIGKILL so it dies (runc does the same).
	if status == Paused && sig == unix.SIGKILL {
		return c.cgroup().Thaw()
	}
	return nil
}

// signalInit signals the init through a pidfd checked against its start time, so a recycled pid is never hit.
func (c *Container) signalInit(sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(c.state.InitPid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return errNotRunning
		}
		return os.NewSyscallError("pidfd_open", err)
	}
	defer unix.Close(fd)
	if !c.initAlive() {
		return errNotRunning
	}
	crashpoint("kill:checked")
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return os.NewSyscallError("pidfd_send_signal", err)
	}
	crashpoint("kill:signalled")
	return nil
}

// Delete removes a stopped container: the cgroup is removed, the poststop hooks run, the state directory goes. Any
// other container needs force, which kills it first. A created one too: runtime-spec runtime.md "delete" says a
// container that is not stopped MUST give an error (runc and crun delete it anyway).
func (c *Container) Delete(force bool) error {
	if st := c.Status(); st != Stopped && !force {
		return classErr(ErrState, "container %q is %s, not stopped (use delete --force)", c.ID(), st)
	}
	if err := c.kill(); err != nil {
		return err
	}
	crashpoint("delete:killed")
	return c.destroy()
}

// Kill is the first half of `delete --force`, done before the lock is taken: it kills every process of the
// container, through a pidfd checked against the init's start time and through the cgroup, and waits until the init
// is gone. Whatever holds the lock then stops waiting on the container and lets go of it, so a forced delete always
// proceeds (issue 17: a stopped process inside the container must not keep it alive). c may come from Read.
func (c *Container) Kill() error { return c.kill() }

// kill stops every process of the container and waits until the init is gone.
func (c *Container) kill() error {
	if !c.initAlive() {
		return nil
	}
	fd, err := unix.PidfdOpen(c.state.InitPid, 0)
	if err != nil {
		return nil // already gone
	}
	defer unix.Close(fd)
	if !c.initAlive() {
		return nil
	}
	_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	// Processes outside the init's pid namespace (or without one) survive it; the cgroup reaches them.
	_ = c.cgroup().Signal(unix.SIGKILL)
	_ = c.cgroup().Thaw()
	return waitPidfd(fd)
}

// waitPidfd blocks until the process behind fd has exited (the pidfd becomes readable).
func waitPidfd(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("poll", err)
		}
		return nil
	}
}

// destroy removes what the container holds on the host once its processes are gone, then runs the poststop hooks
// (their failures are logged, not returned: runtime-spec config.md "poststop").
//
// The state of a create that was killed half-way (state.Creating) is removed the same way, with two differences:
// its poststop hooks do not run, as for a create that fails; and without a recorded init, the cgroup may not be
// its own (create records the paths before it makes the directories, and refuses a cgroup that has processes), so
// it is only removed once empty, and left with a warning if another's processes stay in it.
func (c *Container) destroy() error {
	if c.state.Creating && c.state.InitPid == 0 {
		if err := c.cgroup().RemoveIdle(); err != nil {
			slog.Warn(fmt.Sprintf("container %q: left its cgroup, which has processes rt did not record: %v", c.ID(), err))
		}
	} else if err := c.cgroup().Destroy(); err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	crashpoint("delete:cgroup")
	if hooks := c.state.Config.Hooks; hooks != nil && len(hooks.Poststop) > 0 && !c.state.Creating {
		state := c.OCIState()
		state.Status = specs.StateStopped
		state.Pid = 0
		runHooksWarn("poststop", hooks.Poststop, state)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
}

// Pause freezes the container's cgroup.
func (c *Container) Pause() error {
	if st := c.Status(); st != Running && st != Created {
		return errNotRunning
	}
	return c.cgroup().Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if st := c.Status(); st != Paused {
		return classErr(ErrState, "container %q is %s, not paused", c.ID(), st)
	}
	return c.cgroup().Thaw()
}

// Processes lists the host pids in the container's cgroup.
func (c *Container) Processes() ([]int, error) {
	return c.cgroup().Pids()
}

// StartCommand starts cmd as rt starts every child, with the timer slack rt's caller gave it
// (nsenter.WithCallerTimerSlack). For commands of rt's own, such as ps(1) for `rt ps`.
func StartCommand(cmd *exec.Cmd) error {
	return nsenter.WithCallerTimerSlack(cmd.Start)
}

// Update applies new resource limits to a live container and records them in its state.
func (c *Container) Update(r *specs.LinuxResources) error {
	if c.Status() == Stopped {
		return classErr(ErrState, "container %q is stopped", c.ID())
	}
	if _, err := c.Config(); err != nil { // the whole config, to change and write back
		return err
	}
	if c.state.Config.Linux == nil {
		c.state.Config.Linux = &specs.Linux{}
	}
	// The device rules are never written by update, as runc's (SkipDevices): they cannot change, and a v1 rewrite
	// (deny all, then allow each) leaves the running container without any device for a moment.
	set := *r
	set.Devices = nil
	if err := c.cgroup().Set(&set); err != nil {
		return fmt.Errorf("linux.resources: %w", err)
	}
	c.state.Config.Linux.Resources = r
	return c.saveLocked()
}
