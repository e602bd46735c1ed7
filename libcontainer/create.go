package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/libcontainer/seccomp"
	"github.com/rt-runtime/rt/rootfs"
)

// CreateOpts are the options of `rt create` besides the id.
type CreateOpts struct {
	Bundle       string // absolute path
	Spec         *specs.Spec
	NoPivot      bool
	NoNewKeyring bool
	// SystemdCgroup makes the cgroup a transient systemd unit (--systemd-cgroup; cgroups.NewSystemd).
	SystemdCgroup bool
	IO            ProcessIO
}

// Create makes container id under root from opts.Spec: its state directory, cgroup and init process, which is left
// waiting on the exec fifo. On failure nothing is left behind. The returned Container is locked; Close it.
func Create(root, id string, opts *CreateOpts) (c *Container, retErr error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	spec := opts.Spec
	rootfs, err := Validate(spec, opts.Bundle)
	if err != nil {
		return nil, err
	}
	seccomp.SetDefaultFlags(spec.Linux.Seccomp) // before the config is sent or saved, as runc's specconv
	warnAmbient(spec.Process)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("state root: %w", err)
	}
	dir := filepath.Join(root, id)
	if _, err := os.Lstat(dir); err == nil {
		return nil, classErr(ErrExist, "container %q already exists", id)
	}
	tmp, lock, err := newStateDir(root, id)
	if err != nil {
		return nil, err
	}
	crashpoint("create:mkdir")
	c = &Container{dir: tmp, lock: lock, creator: true, state: State{
		ID:       id,
		Bundle:   opts.Bundle,
		Rootfs:   rootfs,
		Created:  time.Now().UTC(),
		Creating: true,
		Config:   spec,
	}}
	devs := newNetDevMove(spec) // linux.netDevices, moved once the init's namespaces exist
	defer func() {
		if retErr != nil {
			devs.Restore() // devs holds the container's netns, so the devices are still there to move back
			_ = c.kill()
			if c.cg != nil {
				_ = c.cg.Destroy()
			}
			_ = os.RemoveAll(c.dir)
			c.Close()
		}
		devs.Close()
	}()

	// The notify socket lives in the state directory, which goes with the container whatever happens.
	if err := c.setupNotify(spec, dir); err != nil {
		return c, err
	}
	// Record before acting: the directory appears as <root>/<id> with its state.json in it, which names the
	// cgroup paths about to be created (and, once cloned, the init), so that whenever a create is killed,
	// `state`, `list` and `delete` find what it made. Renamed whole: no command ever sees <id> without a state.
	cg, err := c.cgroupManager(opts.SystemdCgroup)
	if err != nil {
		return c, err
	}
	c.state.CgroupPaths = cg.Paths()
	if err := c.saveLocked(); err != nil {
		return c, err
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE); err != nil {
		if err == unix.EEXIST {
			return c, classErr(ErrExist, "container %q already exists", id)
		}
		return c, fmt.Errorf("state directory: %w", &os.LinkError{Op: "rename", Old: tmp, New: dir, Err: err})
	}
	c.dir = dir
	crashpoint("create:recorded")
	if err := c.createCgroup(cg); err != nil {
		return c, err
	}
	crashpoint("create:cgroup")
	fifo, err := c.makeFifo()
	if err != nil {
		return c, err
	}
	defer fifo.Close()

	// The parent's side of the protocol (sync.go), in order.
	cfg := &initConfig{
		ID:           id,
		Bundle:       opts.Bundle,
		Spec:         initSpec(spec),
		Rootfs:       rootfs,
		NoPivot:      opts.NoPivot,
		NoNewKeyring: opts.NoNewKeyring,
		CgroupPaths:  c.state.CgroupPaths,
		CgroupMounts: cgroupMounts(spec),
		ParentHooks:  hasParentHooks(spec),
		NewNetNS:     namespace.Creates(spec, specs.NetworkNamespace),
		OwnMountNS:   namespace.Has(spec, specs.MountNamespace),
		NewUserNS:    namespace.Creates(spec, specs.UserNamespace),
		PreserveFDs:  len(opts.IO.ExtraFiles),
	}
	// The bootstrap child joins the cgroup by itself (nsenter.c join_cgroup), but for the systemd driver's unit.
	tasks, into, joins := c.cg.SelfJoin()
	p, err := startInit(&opts.IO, fifo, into)
	if err != nil {
		return c, err
	}
	crashpoint("create:started")
	defer func() {
		if retErr != nil {
			if p.pid > 0 && c.state.InitPid == 0 {
				c.state.InitPid = p.pid // so the deferred cleanup kills what is left
			}
			p.abort()
		}
	}()
	// The parent moves the child only where it does not join by itself: the systemd driver's unit, or a v2 cgroup
	// startInit could not clone it into (then the v1 ones by pid too, as before).
	apply := c.cg.Apply
	if joins && (into == "" || p.inCgroup) {
		apply = nil
	}
	if err := p.place(apply, "", oomScoreAdj(spec.Process)); err != nil {
		if errors.Is(err, cgroups.ErrUnitExists) {
			return c, classErr(ErrExist, "%w", err)
		}
		return c, err
	}
	crashpoint("create:placed")
	boot := initBootstrap(spec.Linux)
	if apply == nil {
		boot.CgroupTasks = tasks
	}
	if err := p.sendBootstrap(&boot); err != nil {
		return c, err
	}
	pid, err := p.awaitPid(spec.Linux)
	if err != nil {
		return c, err
	}
	crashpoint("create:pid-read")
	// The init's pid and start time are recorded before anything else is done with it.
	if err := c.recordInit(pid); err != nil {
		return c, err
	}
	if err := c.saveLocked(); err != nil {
		return c, err
	}
	crashpoint("create:pid")
	// Done from outside, in the container's namespaces, before the init gets its config.
	if err := devs.Move(pid); err != nil {
		return c, err
	}
	if err := sendMountSources(p.sock, spec, opts.Bundle, rootfs, pid); err != nil {
		return c, err
	}
	if err := p.sendConfig(cfg); err != nil {
		return c, err
	}
	crashpoint("create:config")
	ready, err := p.serve(initRequests{
		hooks:   func() ([]byte, error) { return c.runCreateHooks(pid) },
		console: opts.IO.Console,
		seccomp: forwardSeccomp(cfg, pid),
		idmap:   idmapRequest(spec, opts.Bundle, rootfs, pid),
	})
	if err != nil {
		return c, err
	}
	if !ready {
		return c, p.exited()
	}
	crashpoint("create:ready-read")
	if err := c.setResources(); err != nil {
		return c, err
	}
	crashpoint("create:ready")
	if c.state.Namespaces, c.state.SetgroupsDenied, err = recordNamespaces(pid, spec.Linux); err != nil {
		return c, err
	}
	// Commit: the state without Creating, then the message the init waits for before it blocks on the fifo. An
	// init whose create dies before this point never gets it and exits (awaitCommit).
	c.state.Creating = false
	if err := c.saveLocked(); err != nil {
		return c, err
	}
	crashpoint("create:saved")
	if err := p.commit(); err != nil {
		return c, err
	}
	crashpoint("create:committed")
	c.creator = false
	return c, nil
}

// recordInit stores the init's pid and start time, the pair that identifies it later.
func (c *Container) recordInit(pid int) error {
	st, err := readProcStat(pid)
	if err != nil {
		return fmt.Errorf("container init %d: %w", pid, err)
	}
	c.state.InitPid = pid
	c.state.InitStartTime = st.startTime
	return nil
}

// cgroupManager resolves the container's cgroup paths from linux.cgroupsPath; nothing is created yet. With the
// systemd driver the unit is recorded too, so that a delete after a killed create stops it.
func (c *Container) cgroupManager(systemd bool) (*cgroups.Manager, error) {
	var cgPath string
	if l := c.state.Config.Linux; l != nil {
		cgPath = l.CgroupsPath
	}
	if systemd {
		// Its errors name the field (linux.cgroupsPath, annotations[...]) or the flag themselves.
		m, err := cgroups.NewSystemd(cgPath, c.state.ID, c.state.Config.Annotations)
		if err != nil {
			return nil, err
		}
		c.state.CgroupUnit = m.Unit()
		return m, nil
	}
	m, err := cgroups.New(cgPath, c.state.ID)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	return m, nil
}

// createCgroup makes the cgroup m, whose paths the state has recorded.
func (c *Container) createCgroup(m *cgroups.Manager) error {
	var res *specs.LinuxResources
	if l := c.state.Config.Linux; l != nil {
		res = l.Resources
	}
	if err := m.Create(res); err != nil {
		// Without privilege and without a delegated subtree there is no cgroup to make: go on without one, with
		// a warning, as runc's --rootless auto does. Limits asked for cannot be had then. The next save (the
		// init's pid) forgets the paths.
		if os.Geteuid() != 0 && m.Unit() == nil && errors.Is(err, os.ErrPermission) && !hasLimits(res) {
			slog.Warn("no cgroup for the container: " + err.Error())
			c.cg = cgroups.Load(nil)
			c.state.CgroupPaths = nil
			return nil
		}
		return fmt.Errorf("create cgroup: %w", err)
	}
	c.cg = m
	// A realtime scheduler for the init needs the cgroup's realtime bandwidth before the init runs (cpu.rt_* of
	// a new v1 cgroup start at 0), so that pair is written now, and so is the cpuset, which the init's affinity
	// (and so process.scheduler, which SCHED_DEADLINE refuses on a narrowed one) must see from the start, as
	// runc's cpuset controller writes it as the cgroup is made; the other limits once the init is ready.
	if c := cpuOf(res); c != nil && (c.RealtimeRuntime != nil || c.RealtimePeriod != nil || c.Cpus != "" || c.Mems != "") {
		early := &specs.LinuxResources{CPU: &specs.LinuxCPU{
			RealtimePeriod: c.RealtimePeriod, RealtimeRuntime: c.RealtimeRuntime, Cpus: c.Cpus, Mems: c.Mems,
		}}
		if err := m.Set(early); err != nil {
			return fmt.Errorf("linux.resources.cpu: %w", err)
		}
	}
	return nil
}

// cgroupMounts are the host's cgroup mounts for the init (initConfig.CgroupMounts), when the spec mounts cgroupfs on
// a v1 or hybrid host and the init's mount table is a copy of this process's (a new mount namespace, or none); nil
// otherwise (one joined by path has mounts of its own), or when they cannot be had, and the init then reads its
// own mount table.
func cgroupMounts(spec *specs.Spec) []rootfs.CgroupMount {
	if cgroups.Mode() == "v2" || !slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool { return m.Type == "cgroup" }) {
		return nil
	}
	if namespace.Has(spec, specs.MountNamespace) && !namespace.Creates(spec, specs.MountNamespace) {
		return nil
	}
	ms, err := cgroups.Mounts()
	if err != nil {
		return nil
	}
	return rootfs.CgroupMountsOf(ms)
}

// cpuOf is r.CPU, or nil when r is.
func cpuOf(r *specs.LinuxResources) *specs.LinuxCPU {
	if r == nil {
		return nil
	}
	return r.CPU
}

// setResources writes the container's limits. It runs once the init is ready and waiting on the fifo, as runc's
// parent does on procReady: a pids.max or memory.max meant for the workload must not starve rt's own init.
func (c *Container) setResources() error {
	r := effectiveResources(c.state.Config)
	if err := c.cgroup().Set(r); err != nil {
		return fmt.Errorf("linux.resources: %w", err)
	}
	return nil
}

// effectiveResources is linux.resources with the device rules every container gets: the config's rules, then
// runc's default allow list (runc's order; later rules win). linux.devices nodes get no rule of their own: as with
// runc, the config's resources must allow them.
func effectiveResources(spec *specs.Spec) *specs.LinuxResources {
	var r specs.LinuxResources
	if l := spec.Linux; l != nil && l.Resources != nil {
		r = *l.Resources
	}
	if os.Geteuid() != 0 {
		r.Devices = nil // an unprivileged user cannot restrict devices; the user namespace does
		return &r
	}
	r.Devices = append(append([]specs.LinuxDeviceCgroup{}, r.Devices...), cgroups.DefaultDevices()...)
	return &r
}

// makeFifo creates the exec fifo and opens it O_PATH for the init, which reopens it for writing through its fd and
// blocks there until `rt start` opens it for reading. 0622: the init may have dropped to another uid by then.
func (c *Container) makeFifo() (*os.File, error) {
	path := filepath.Join(c.dir, fifoName)
	if err := unix.Mkfifo(path, 0o622); err != nil {
		return nil, &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	if err := os.Chmod(path, 0o622); err != nil { // mkfifo is subject to the umask
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// hasLimits reports whether r asks for anything but device rules (which an unprivileged user does not get anyway).
func hasLimits(r *specs.LinuxResources) bool {
	if r == nil {
		return false
	}
	rest := *r
	rest.Devices = nil
	return !reflect.DeepEqual(rest, specs.LinuxResources{})
}

func hasParentHooks(spec *specs.Spec) bool {
	h := spec.Hooks
	//nolint:staticcheck // Prestart is deprecated but still part of the spec.
	return h != nil && (len(h.Prestart) > 0 || len(h.CreateRuntime) > 0 || len(h.CreateContainer) > 0)
}

// runCreateHooks runs the prestart and createRuntime hooks in the runtime namespace while the init waits, and
// returns the state JSON for the init's createContainer hooks.
func (c *Container) runCreateHooks(pid int) ([]byte, error) {
	state := c.OCIState()
	state.Pid = pid
	// "created", as crun reports and runtime-tools' hooks_stdin checks: the hooks run once the namespaces exist.
	state.Status = specs.StateCreated
	if h := c.state.Config.Hooks; h != nil {
		//nolint:staticcheck // Prestart is deprecated but still part of the spec.
		if err := runHooks("prestart", h.Prestart, state); err != nil {
			return nil, err
		}
		if err := runHooks("createRuntime", h.CreateRuntime, state); err != nil {
			return nil, err
		}
	}
	return json.Marshal(state)
}

// oomScoreAdj is process.oomScoreAdj, nil without a process.
func oomScoreAdj(p *specs.Process) *int {
	if p == nil {
		return nil
	}
	return p.OOMScoreAdj
}
