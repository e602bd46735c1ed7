package libcontainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/internal/rawfile"
)

// Status is a container's lifecycle state, always derived from the live process.
type Status int

// The statuses of runtime-spec's runtime.md, plus runc's "paused".
const (
	Created Status = iota
	Running
	Paused
	Stopped
	// Creating is a container whose `create` is still at work: only a reader that does not wait for the lock sees it.
	Creating
)

func (s Status) String() string {
	switch s {
	case Created:
		return string(specs.StateCreated)
	case Running:
		return string(specs.StateRunning)
	case Paused:
		return "paused"
	case Creating:
		return string(specs.StateCreating)
	}
	return string(specs.StateStopped)
}

// State is what rt keeps about a container between invocations, in <root>/<id>/state.json.
type State struct {
	ID            string            `json:"id"`
	InitPid       int               `json:"init_pid"`
	InitStartTime uint64            `json:"init_start_time"`
	Bundle        string            `json:"bundle"`
	Rootfs        string            `json:"rootfs"`
	Created       time.Time         `json:"created"`
	CgroupPaths   map[string]string `json:"cgroup_paths,omitempty"`
	// CgroupUnit is the systemd unit of a container created with --systemd-cgroup.
	CgroupUnit *cgroups.SystemdUnit `json:"systemd_unit,omitempty"`
	Notify     bool                 `json:"notify,omitempty"` // readiness goes through <state>/notify
	// Namespaces are those the container was created with, as `exec` joins them (nsjoin.go); absent in the state
	// (null) of a container an older rt created, which exec joins as the init has them.
	Namespaces []NamespaceID `json:"namespaces"`
	// SetgroupsDenied: setgroups(2) is denied in the container's user namespace (fixed once its maps exist).
	SetgroupsDenied bool `json:"setgroups_denied,omitempty"`
	// Creating is set from the first write of state.json, before rt creates anything outside the state directory,
	// until `create` has finished and told the init so. A state found with it set and its lock free belongs to a
	// create that was killed half-way: what it recorded (the cgroup paths, then the init's pid and start time) is
	// what `delete` removes. Absent in the files of a finished create.
	Creating bool        `json:"creating,omitempty"`
	Config   *specs.Spec `json:"config"`
}

const (
	stateFile = "state.json"
	fifoName  = "exec.fifo"
)

// saveLocked writes the state file atomically (temp file, then rename), so that a reader that takes no lock sees
// the old state or the new one, and a killed rt leaves one of them: a completed write is in the kernel's page
// cache, which outlives the process. It is not fsync'd: that only matters for a machine crash, after which no
// cgroup, process or mount of the container exists any more, and it cost 6-35 ms a write on an ext4 /run here (a
// create writes three times). A state torn that way is ErrUnreadable, which `delete --force` removes. The caller
// holds the container's lock.
func (c *Container) saveLocked() error {
	// After Load, state.Config is only configView's part: the file gets the whole config back. The config is
	// encoded, not copied from config.json's bytes: jsonv2 builds a struct type's field table once per process for
	// decoding and encoding alike, and in create LoadSpec's decode has built them all, so a copy (json.RawMessage)
	// saved nothing (`rt run`: 1046 against 1038 page faults, 16.1 against 16.0 ms CPU, 40 rounds interleaved).
	if _, err := c.Config(); err != nil {
		return err
	}
	data, err := json.Marshal(&c.state)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := replaceFile(filepath.Join(c.dir, stateFile), data); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	c.saved = data
	return nil
}

// replaceFile replaces path by a file holding data, through a new temp file beside it (O_EXCL, 0600) renamed over
// it. Plain syscalls, four in all: an *os.File (os.CreateTemp) adds four fcntl(2) and an epoll_ctl(2), os.Rename a
// stat(2) of the target, and a deferred os.Remove of the renamed name two failing unlinks, on every save.
func replaceFile(path string, data []byte) error {
	var tmp string
	var fd int
	for try := 0; ; try++ {
		tmp = filepath.Join(filepath.Dir(path), ".state-"+strconv.FormatUint(rand.Uint64(), 36))
		var err error
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		if err != unix.EEXIST && err != unix.EINTR || try == 100 {
			return &os.PathError{Op: "open", Path: tmp, Err: err}
		}
	}
	err := writeAll(fd, data)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &os.PathError{Op: "close", Path: tmp, Err: cerr}
	}
	if err == nil {
		if rerr := unix.Rename(tmp, path); rerr != nil {
			err = &os.LinkError{Op: "rename", Old: tmp, New: path, Err: rerr}
		}
	}
	if err != nil {
		_ = unix.Unlink(tmp)
		return err
	}
	return nil
}

// writeAll writes b to fd, retrying short and interrupted writes.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		b = b[n:]
	}
	return nil
}

// procStat is what rt reads of /proc/<pid>/stat: the process state letter and its start time in clock ticks.
type procStat struct {
	state     byte
	startTime uint64
}

// readProcStat parses /proc/<pid>/stat. The command name may contain spaces and parentheses, so fields are counted
// from the last ')'. proc(5): state is field 3, starttime field 22.
func readProcStat(pid int) (procStat, error) {
	var buf [512]byte // the whole line is ~300 bytes; rawfile.Read grows buf if not
	data, err := rawfile.Read("/proc/"+strconv.Itoa(pid)+"/stat", buf[:0])
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, unix.EINVAL)
	}
	// Fields 3 to 22 follow, one space apart; no bytes.Fields: its slice of ~50 fields was most of what `list`
	// allocated per container besides the state.
	rest := data[i+2:]
	var state byte
	for n := 3; ; n++ {
		f, after, _ := bytes.Cut(rest, []byte{' '})
		if len(f) == 0 {
			return procStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, unix.EINVAL)
		}
		switch n {
		case 3:
			state = f[0]
		case 22:
			start, err := strconv.ParseUint(string(f), 10, 64)
			if err != nil {
				return procStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
			}
			return procStat{state: state, startTime: start}, nil
		}
		rest = after
	}
}

// initAlive reports whether the container's init is the live process it was: same pid, same start time, not a zombie.
func (c *Container) initAlive() bool {
	if c.state.InitPid <= 0 {
		return false
	}
	st, err := readProcStat(c.state.InitPid)
	if err != nil {
		return false
	}
	return st.startTime == c.state.InitStartTime && st.state != 'Z' && st.state != 'X'
}

// Status derives the container's status: init gone => stopped; frozen cgroup => paused; exec fifo still there =>
// created; else running. Never trusted from disk. A state that create has not committed is creating while its
// creator works on it, and stopped once the creator is gone, even while its init lives on: that init never gets
// the commit and exits on its own (awaitCommit), and the container can only be deleted.
func (c *Container) Status() Status {
	if c.state.Creating && !c.creator {
		if c.lock == nil && lockHeld(c.dir) {
			return Creating
		}
		return Stopped
	}
	if !c.initAlive() {
		return Stopped
	}
	if frozen, err := c.cgroup().Frozen(); err == nil && frozen {
		return Paused
	}
	if _, err := os.Lstat(filepath.Join(c.dir, fifoName)); err == nil {
		return Created
	}
	return Running
}

// Pid is the container init's host pid, 0 when it is stopped (runc reports 0 too).
func (c *Container) Pid() int {
	if c.Status() == Stopped {
		return 0
	}
	return c.state.InitPid
}

// OCIState is the runtime-spec state of the container, as hooks get it on stdin.
func (c *Container) OCIState() *specs.State {
	st := c.Status()
	s := &specs.State{
		Version:     specs.Version,
		ID:          c.state.ID,
		Status:      specs.ContainerState(st.String()),
		Bundle:      c.state.Bundle,
		Annotations: c.state.Config.Annotations,
	}
	if st != Stopped {
		s.Pid = c.state.InitPid
	}
	return s
}
