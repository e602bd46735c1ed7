// Package libcontainer is rt's engine: a container's lifecycle and state, the parent side of the parent<->child
// protocol, and the init side that runs inside the container.
package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/internal/rawfile"
	"github.com/rt-runtime/rt/nsenter"
)

// Container is one container's state directory, held locked for as long as the Container is open.
type Container struct {
	dir      string // <root>/<id>
	lock     *os.File
	state    State
	cg       *cgroups.Manager
	notifyFd int // the bound notify socket between Start and AwaitReady; 0 when none
	// notifyPidfd is a pidfd of the init, with notifyFd: Start opens it before the workload can run, so that
	// AwaitReady sees the init's exit even once a foreground run has reaped it (its pid may name another process).
	notifyPidfd int
	creator     bool // this process is the container's create, at work on it (state.Creating is ours)
	// raw is state.json as Load found it, while state.Config holds only configView's fields; nil once state.Config
	// is the whole config (Create, or after Config).
	raw []byte
	// brief: Read decoded readState's fields and kept no copy of the file (list reads many through one buffer);
	// Config reads it again.
	brief      bool
	hasProcess bool      // the config has a process (start refuses one without)
	exec       *execView // what exec reads of the config, once decoded (exec.go)
	// saved is the state file as this Container last wrote it (saveLocked): Reload decodes nothing while the
	// file is still that.
	saved []byte
}

// configView is the part of a container's config that Load decodes: what kill, start and delete read (ociVersion,
// annotations, hooks, linux.namespaces, whether there is a process): the whole specs.Spec cost `rt state` ~3 ms of
// CPU and 60 page faults more here (reflection over every runtime-spec type). exec and update ask for the rest
// (Config). The runtime-spec types stay: fewer fields of them.
type configView struct {
	Version     string            `json:"ociVersion"`
	Process     present           `json:"process"`
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

// readState is what Read decodes, for state, list and delete --force's kill: the live status and what they print.
// Not the namespaces (exec's) nor the config's hooks, process and namespaces (start's, kill's and delete's, which
// Load); among 100 containers `list` decoded them 100 times (~25% of its CPU went to decoding).
type readState struct {
	State
	Namespaces skipped `json:"namespaces"`
	Config     *struct {
		Version     string            `json:"ociVersion"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"config"`
}

// present records whether a JSON value is there and not null, without decoding or keeping it.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

// skipped is a JSON value that is not decoded (the decoder still checks it is well formed).
type skipped struct{}

func (skipped) UnmarshalJSON([]byte) error { return nil }

// decodeState decodes data, a state.json, into c: the config as configView, or with brief (Read) as readState.
func (c *Container) decodeState(data []byte, brief bool) error {
	c.raw, c.brief = data, brief
	if brief {
		c.raw = nil
		var st readState
		if err := json.Unmarshal(data, &st); err != nil {
			return err
		}
		c.state = st.State
		c.state.Config = &specs.Spec{}
		if v := st.Config; v != nil {
			c.state.Config = &specs.Spec{Version: v.Version, Annotations: v.Annotations}
		}
		return nil
	}
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
		c.hasProcess = bool(v.Process)
	}
	return nil
}

// ID is the container's id.
func (c *Container) ID() string { return c.state.ID }

// Bundle is the absolute path of the container's bundle.
func (c *Container) Bundle() string { return c.state.Bundle }

// Rootfs is the absolute path of the container's root filesystem.
func (c *Container) Rootfs() string { return c.state.Rootfs }

// Config is the spec the container was created from. After Load the first call decodes it whole from the state
// file as Load read it (see configView); after Read, from the state file read again (a save may have replaced it
// since: the config is the same, but a later `update`'s resources).
func (c *Container) Config() (*specs.Spec, error) {
	if c.brief {
		data, err := rawfile.Read(filepath.Join(c.dir, stateFile), nil)
		if err != nil {
			return nil, fmt.Errorf("container %q: read state: %w", c.state.ID, err)
		}
		c.raw, c.brief = data, false
	}
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

// State is the saved state (for display; Status and Pid derive the live parts). After Load its Config holds only
// configView's fields, after Read only readState's (and no Namespaces): Config has the whole config.
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
	// rawfile.OpenFile, not os.Open: in kill and start this was the only fd offered to the runtime's poller, which
	// cost its set-up (epoll_create1, eventfd2, epoll_ctl) and fcntl x4 for an epoll_ctl that fails on a directory.
	f, err := rawfile.OpenFile(dir, unix.O_RDONLY)
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
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// Load opens and locks the container id under root. An unknown id is ErrNotExist; so is a directory whose creator
// died before writing its state (it is removed).
func Load(root, id string) (*Container, error) {
	return load(root, id, nil)
}

// Reload is Load of c's container again, after c was closed: `run` unlocks while the container runs, and locks
// it again to delete it once the init has exited. Anything may have happened in between (an update, a delete, a
// new container under the id), so it is a Load, with the same checks and errors, but a state file that is still,
// byte for byte, the one c last wrote is not decoded again: the Container it returns has c's state, which that
// file encodes (decoding it cost `run` ~0.4 ms of CPU and 8 page faults of its ~22 ms and ~1100). A container
// created under the id since c's was deleted (another init: pid and start time) is not c's: ErrNotExist, so that
// `run` does not delete a container it did not make (runc's run removes that one's state directory).
func (c *Container) Reload() (*Container, error) {
	return load(filepath.Dir(c.dir), c.state.ID, c)
}

// load is Load; prev, when not nil, is a Container of the same id whose saved state need not be decoded again.
func load(root, id string, prev *Container) (*Container, error) {
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
	data, err := rawfile.Read(filepath.Join(dir, stateFile), make([]byte, 0, 4096))
	if errors.Is(err, os.ErrNotExist) {
		// We hold the lock, so its creator is gone: it failed half-way. Nothing else refers to the directory.
		_ = os.RemoveAll(dir)
		lock.Close()
		return nil, classErr(ErrNotExist, "container %q does not exist", id)
	}
	switch {
	case err == nil && prev != nil && prev.saved != nil && bytes.Equal(data, prev.saved):
		c.state, c.raw, c.brief, c.hasProcess, c.saved, c.exec = prev.state, prev.raw, prev.brief, prev.hasProcess, prev.saved,
			prev.exec
	case err == nil:
		err = c.decodeState(data, false)
	}
	if err == nil && prev != nil && (c.state.InitPid != prev.state.InitPid || c.state.InitStartTime != prev.state.InitStartTime) {
		lock.Close()
		return nil, classErr(ErrNotExist, "container %q does not exist (the id is another container's now)", id)
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
	buf := readBufs.Get().(*[]byte)
	data, err := rawfile.Read(filepath.Join(c.dir, stateFile), (*buf)[:0])
	if err == nil {
		*buf = data[:0]
		err = c.decodeState(data, true)
	}
	readBufs.Put(buf)
	if errors.Is(err, os.ErrNotExist) {
		return nil, classErr(ErrNotExist, "container %q does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("container %q: read state: %w", id, err)
	}
	return c, nil
}

// readBufs holds the buffers Read reads state.json into: decoding copies what it keeps, so among 100 containers
// `list` reuses a buffer or two instead of allocating 100 (~90 page faults fewer).
var readBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

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
	// The pidfd is opened before the status is derived, so the status's check of the init's start time also proves
	// the pidfd is the init's and not a process that took its pid since: one read of /proc/PID/stat, not two. That
	// holds for a c from Load (locked): only without the lock can Status answer Creating without that check.
	pidfd, pidfdErr := -1, error(unix.ESRCH)
	if c.state.InitPid > 0 {
		if pidfd, pidfdErr = unix.PidfdOpen(c.state.InitPid, 0); pidfdErr == nil {
			defer unix.Close(pidfd)
		}
	}
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
	if pidfdErr == unix.ESRCH {
		return errNotRunning
	}
	if pidfdErr != nil {
		return os.NewSyscallError("pidfd_open", pidfdErr)
	}
	crashpoint("kill:checked")
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		return os.NewSyscallError("pidfd_send_signal", err)
	}
	crashpoint("kill:signalled")
	// A paused container cannot act on SIGTERM; thaw it after a SIGKILL so it dies (runc does the same).
	if status == Paused && sig == unix.SIGKILL {
		return c.cgroup().Thaw()
	}
	return nil
}

// Delete removes a stopped container: the cgroup is removed, the poststop hooks run, the state directory goes. Any
// other container needs force, which kills it first. A created one too: runtime-spec runtime.md "delete" says a
// container that is not stopped MUST give an error (runc and crun delete it anyway).
func (c *Container) Delete(force bool) error {
	st := c.Status()
	if st != Stopped && !force {
		return classErr(ErrState, "container %q is %s, not stopped (use delete --force)", c.ID(), st)
	}
	// A stopped init cannot come back, and kill does nothing without it, so it is skipped (the init's start time is
	// not read again), except for a state create did not commit: that one is stopped with its init still alive.
	if st != Stopped || c.state.Creating {
		if err := c.kill(); err != nil {
			return err
		}
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
		return err // "remove cgroup: ..." already
	}
	crashpoint("delete:cgroup")
	if hooks := c.state.Config.Hooks; hooks != nil && len(hooks.Poststop) > 0 && !c.state.Creating {
		state := c.OCIState()
		state.Status = specs.StateStopped
		state.Pid = 0
		runHooksWarn("poststop", hooks.Poststop, state)
	}
	if err := removeStateDir(c.dir); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
}

// removeStateDir removes a container's state directory: its usual entries by name, then the directory, and only
// when something else is left in it os.RemoveAll, whose walk costs a dozen syscalls more and sets up the runtime's
// poller for its directory fd (see rawfile.OpenFile). state.json goes first, as with os.RemoveAll: a delete killed
// between two of these leaves a directory without state.json, which Load removes and Read skips.
func removeStateDir(dir string) error {
	for _, name := range []string{stateFile, fifoName} {
		if err := unix.Unlink(filepath.Join(dir, name)); err != nil && err != unix.ENOENT {
			return os.RemoveAll(dir)
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return os.RemoveAll(dir)
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

// RunCommand is cmd.Run for every program rt runs (hooks, newuidmap, ps(1) for `rt ps`): it starts cmd with the
// timer slack rt's caller gave it (nsenter.WithCallerTimerSlack), then waits for it.
func RunCommand(cmd *exec.Cmd) error {
	if err := nsenter.WithCallerTimerSlack(cmd.Start); err != nil {
		return err
	}
	return cmd.Wait()
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
