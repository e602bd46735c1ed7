// Package cgroups manages a container's control groups: the cgroup v2 unified hierarchy, and the v1 hierarchies of
// hybrid and v1-only hosts, behind one Manager.
//
// The layout is decided once per process from the host (Mode). A Manager's directories are keyed by controller
// name, "" being the v2 unified directory: a v2 host has only "", a hybrid host has its v1 controllers plus "" (so
// processes are tracked in the unified tree too, as runc does), a v1 host only v1 controllers. Limits go to the v1
// controller when it is mounted, otherwise to the unified directory.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNotSupported marks a resource the host's cgroup setup cannot honour.
var ErrNotSupported = errors.New("not supported by this host's cgroups")

// ErrInvalidPath marks a cgroupsPath or a unified key that would name a directory or file outside the container's
// cgroup.
var ErrInvalidPath = errors.New("invalid cgroup path")

// ErrInUse marks an existing cgroup that Create refuses to reuse: it has processes, or it is frozen (runtime-spec
// config-linux.md "Control groups": a runtime MUST error on a cgroup that is not fit for purpose).
var ErrInUse = errors.New("cgroup is in use")

// ErrV1Unified marks linux.resources.unified keys on a host whose container cgroup is not only in the v2 hierarchy
// (v1 or hybrid), refused as runc's cgroup v1 managers do, in their words.
var ErrV1Unified = errors.New("invalid configuration: cannot use unified on cgroup v1")

// ErrBelowUsage marks a memory limit refused because it is below the current usage (memory.checkBeforeUpdate).
var ErrBelowUsage = errors.New("memory limit is below current usage")

// Manager controls one container's cgroup. A Manager does no locking; callers serialise on the container lock.
type Manager struct {
	paths   map[string]string
	dirList []string       // dirs(), worked out on first use
	h       *host          // nil: the real host, looked up when first needed
	sd      *systemdDriver // the systemd driver's unit (systemd.go); nil for the cgroupfs driver
}

// New returns a manager for the container cgroup named by the spec's linux.cgroupsPath (empty means the container
// id relative to our own cgroup, as runc's cgroupfs driver does). Nothing is created on disk.
func New(cgroupsPath, id string) (*Manager, error) {
	h, err := hostInfo()
	if err != nil {
		return nil, err
	}
	return newManager(h, cgroupsPath, id)
}

func newManager(h *host, cgroupsPath, id string) (*Manager, error) {
	paths, err := h.resolve(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy mounted: %w", ErrNotSupported)
	}
	return &Manager{paths: paths, h: h}, nil
}

// Load returns the manager of an existing container from the paths its Paths method reported.
func Load(paths map[string]string) *Manager { return &Manager{paths: paths} }

// Paths reports the cgroup directories, keyed by controller ("" for the v2 unified hierarchy), for the state file.
// The map is shared: do not modify it.
func (m *Manager) Paths() map[string]string { return m.paths }

func (m *Manager) host() *host {
	if m.h == nil {
		h, err := hostInfo()
		if err != nil {
			h = &host{mode: "v1"}
		}
		m.h = h
	}
	return m.h
}

// unifiedOnly reports whether the cgroup lives only in the v2 hierarchy (a pure v2 host).
func (m *Manager) unifiedOnly() bool {
	_, ok := m.paths[""]
	return ok && len(m.paths) == 1
}

// dirs returns the distinct directories (co-mounted v1 controllers share one), the unified one last, sorted so the
// order of writes is stable. It is worked out once per Manager (Create, Apply and Destroy each walk it): the paths
// never change. The slice is shared: do not modify it.
func (m *Manager) dirs() []string {
	if m.dirList != nil || len(m.paths) == 0 {
		return m.dirList
	}
	out := make([]string, 0, len(m.paths))
	for k, d := range m.paths {
		if k != "" && d != "" {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if d := m.paths[""]; d != "" && !slices.Contains(out, d) {
		out = append(out, d)
	}
	m.dirList = out
	return out
}

// SelfJoin is how a process about to be started joins the cgroup with no write of its pid by the caller, whose first
// cgroup.procs write after a quiet spell waits for an RCU grace period holding cgroup_mutex: tasks are the v1
// `tasks` files it writes "0" to itself, moving the writing thread, which takes no global lock (one per directory:
// co-mounted controllers share one), and unified is the v2 directory to clone it into (clone3 CLONE_INTO_CGROUP).
// ok is false for the systemd driver, whose unit's cgroup exists only once Apply has made it with the process in it.
func (m *Manager) SelfJoin() (tasks []string, unified string, ok bool) {
	if m.sd != nil {
		return nil, "", false
	}
	unified = m.paths[""]
	for _, d := range m.dirs() {
		if d != unified {
			tasks = append(tasks, filepath.Join(d, "tasks"))
		}
	}
	return tasks, unified, true
}

// Create makes the cgroup directories and enables the controllers the container may need; it refuses an existing
// cgroup that has processes in it or is frozen. r may be nil; limits are written by Set.
func (m *Manager) Create(r *specs.LinuxResources) (retErr error) {
	if err := m.checkUnified(r); err != nil {
		return err
	}
	if m.sd != nil {
		return nil // systemd makes the unit's cgroup in Apply, with the init in it
	}
	dirs := m.dirs()
	// Sized for the usual case, one new directory per hierarchy: one allocation, not a slice grown through a
	// size class per doubling (each a first touch of fresh heap pages).
	made := make([]string, 0, len(dirs))
	defer func() {
		if retErr != nil {
			for i := len(made) - 1; i >= 0; i-- {
				_ = unix.Rmdir(made[i])
			}
		}
	}()
	for _, d := range dirs {
		// mkdir first, the reuse check only when the directory was already there: one syscall for a new cgroup
		// instead of a failed read, two stats and the mkdir.
		n := len(made)
		var err error
		made, err = mkdirAll(made, d)
		created := made[n:]
		if err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		if len(created) == 0 {
			if err := m.checkReusable(d); err != nil {
				return err
			}
		}
		if hook := m.host().created; hook != nil {
			for _, c := range created {
				hook(c)
			}
		}
	}
	if m.unifiedOnly() {
		if err := m.enableControllers(m.paths[""]); err != nil {
			return err
		}
	} else if d := m.paths[""]; d != "" && m.paths["hugetlb"] == "" && r != nil && len(r.HugepageLimits) > 0 {
		// Hybrid host with hugetlb only in the unified tree (as here): delegate it down to the container.
		if err := m.enableControllers(d); err != nil {
			return err
		}
	}
	if d := m.paths["cpuset"]; d != "" {
		if err := m.fillCpuset(d, made); err != nil {
			return err
		}
	}
	return nil
}

// checkUnified refuses unified keys unless the cgroup is a v2 one alone; an empty map is fine (runc's check is on
// the map being there, and its spec conversion drops an empty one).
func (m *Manager) checkUnified(r *specs.LinuxResources) error {
	if r == nil || len(r.Unified) == 0 || m.unifiedOnly() {
		return nil
	}
	return fmt.Errorf("linux.resources.unified: %w", ErrV1Unified)
}

// checkReusable refuses an existing directory that has processes, in it or in a cgroup below it, or is frozen; a
// missing one is fine. The texts are runc's (libcontainer.Create), which its users and its own suite match.
func (m *Manager) checkReusable(dir string) error {
	n := 0
	err := walkProcs(dir, func(int) { n++ })
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check cgroup %s: %w", dir, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: container's cgroup is not empty: %d process(es) found in %s", ErrInUse, n, dir)
	}
	frozen := false
	if dir == m.paths["freezer"] {
		s, _ := readFile(dir, "freezer.state")
		frozen = s != "" && s != "THAWED"
	}
	if dir == m.paths[""] {
		s, _ := readFile(dir, "cgroup.freeze")
		frozen = frozen || s == "1"
	}
	if frozen {
		return fmt.Errorf("%w: container's cgroup unexpectedly frozen: %s", ErrInUse, dir)
	}
	return nil
}

// mkdirAll is os.MkdirAll that appends to made the directories it made (none when dir existed), so a failed Create
// removes only its own. It tries mkdir(2) on dir itself first and climbs only on ENOENT, so the usual case, a new
// cgroup under an existing parent, is one syscall.
func mkdirAll(made []string, dir string) ([]string, error) {
	err := unix.Mkdir(dir, 0o755)
	switch {
	case err == nil:
		return append(made, dir), nil
	case errors.Is(err, unix.EEXIST):
		return made, nil
	case !errors.Is(err, unix.ENOENT) || filepath.Dir(dir) == dir:
		return made, &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	made, err = mkdirAll(made, filepath.Dir(dir))
	if err != nil {
		return made, err
	}
	if err := unix.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return made, nil // a racing creator; it is not ours to remove
		}
		return made, &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return append(made, dir), nil
}

// enableControllers turns on, in every ancestor of dir below the mount point, each controller the ancestor has
// (cgroup.controllers) but has not yet delegated (cgroup.subtree_control), as runc's fs2 CreateCgroupPath does,
// so later Set and `rt update` calls find their files. A controller the kernel refuses (e.g. an ancestor with
// processes, EBUSY) is skipped: Set then reports it as ErrNotSupported.
func (m *Manager) enableControllers(dir string) error {
	root := m.host().unified
	if root == "" {
		root = filepath.Dir(dir)
	}
	return walkDown(root, dir, func(parent, _ string) error {
		avail, err := readFile(parent, "cgroup.controllers")
		if err != nil {
			return fmt.Errorf("enable controllers: %w", err)
		}
		enabled, _ := readFile(parent, "cgroup.subtree_control")
		have := strings.Fields(enabled)
		var want []string
		for _, c := range strings.Fields(avail) {
			if !slices.Contains(have, c) {
				want = append(want, "+"+c)
			}
		}
		if len(want) > 0 {
			if err := writeFile(parent, "cgroup.subtree_control", strings.Join(want, " ")); err != nil {
				for _, c := range want {
					_ = writeFile(parent, "cgroup.subtree_control", c)
				}
			}
		}
		return nil
	})
}

// fillCpuset copies cpuset.cpus and cpuset.mems from the parent into every empty level from the mount point down
// to dir: a v1 cpuset cgroup starts empty and refuses tasks until both are set (runc's cpuset ensureParent). The
// levels in made, which Create has just made, are known to be empty and are not read.
func (m *Manager) fillCpuset(dir string, made []string) error {
	mnt := m.host().v1["cpuset"]
	if mnt == "" {
		mnt = filepath.Dir(dir)
	}
	return walkDown(mnt, dir, func(parent, cur string) error {
		fresh := slices.Contains(made, cur)
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if !fresh {
				v, err := readFile(cur, f)
				if err != nil {
					return fmt.Errorf("copy %s: %w", f, err)
				}
				if v != "" {
					continue
				}
			}
			pv, err := readFile(parent, f)
			if err != nil {
				return fmt.Errorf("copy %s: %w", f, err)
			}
			if err := writeFile(cur, f, pv); err != nil {
				return fmt.Errorf("copy %s: %w", f, err)
			}
		}
		return nil
	})
}

// walkDown calls fn for each level from root down to dir, a directory below it, with the level's parent and the
// level itself, top first.
func walkDown(root, dir string, fn func(parent, cur string) error) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("cgroup %s is outside %s: %w", dir, root, ErrInvalidPath)
	}
	parent := root
	for _, elem := range strings.Split(rel, "/") {
		cur := filepath.Join(parent, elem)
		if err := fn(parent, cur); err != nil {
			return err
		}
		parent = cur
	}
	return nil
}

// Apply moves pid into the cgroup, in every hierarchy. With the systemd driver it makes the unit with pid in it
// (a slice unit is made empty, and pid moved in like the cgroupfs driver's).
func (m *Manager) Apply(pid int) error {
	if m.sd != nil && !m.sd.loaded {
		if err := m.sd.start(pid); err != nil {
			return err
		}
		if !m.sd.isSlice() {
			return nil
		}
	}
	s := strconv.Itoa(pid)
	for _, d := range m.dirs() {
		var err error
		// EINVAL can mean the task is still TASK_NEW (just forked); retry briefly, as runc's WriteCgroupProc does.
		for i := 0; i < 5; i++ {
			if err = writeFile(d, "cgroup.procs", s); !errors.Is(err, unix.EINVAL) {
				break
			}
			time.Sleep(time.Duration(i+1) * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("add pid %d to cgroup %s: %w", pid, d, err)
		}
	}
	return nil
}

// ApplyThread moves the single thread tid into the cgroup: through `tasks` in each v1 hierarchy, which moves that
// thread alone, and through cgroup.procs in the v2 one, which cannot split a process and moves it whole. rt exec
// uses it for the thread that is about to execve, so that a container near its pids.max takes the new process
// as one task (execve leaves only that thread); rt's other threads never count against the limit. v2 allows the
// whole process in above pids.max (only fork is limited, cgroup-v2.rst "PID"), and execve then leaves one task.
func (m *Manager) ApplyThread(tid int) error {
	s := strconv.Itoa(tid)
	for _, d := range m.dirs() {
		file := "tasks"
		if d == m.paths[""] {
			file = "cgroup.procs"
		}
		if err := writeFile(d, file, s); err != nil {
			// runc's words ("adding pid"), which its suite matches.
			return fmt.Errorf("adding pid %d to cgroup %s: %w", tid, d, err)
		}
	}
	return nil
}

// freezerDir returns the directory and kind ("v1" or "v2") of the freezer, preferring the v1 controller on hybrid
// hosts; "" when neither is available.
func (m *Manager) freezerDir() (string, string) {
	if d := m.paths["freezer"]; d != "" {
		return d, "v1"
	}
	if d := m.paths[""]; d != "" && exists(d, "cgroup.freeze") {
		return d, "v2"
	}
	return "", ""
}

// freezeTimeout bounds how long Freeze waits for the kernel to report every task frozen.
var freezeTimeout = 5 * time.Second

// Freeze freezes every process in the cgroup and waits until the kernel reports it frozen. It fails with
// ErrNotSupported when the host has no freezer. On timeout the cgroup is thawed again.
func (m *Manager) Freeze() error {
	dir, kind := m.freezerDir()
	switch kind {
	case "v2":
		if err := writeFile(dir, "cgroup.freeze", "1"); err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		// cgroup.events "frozen 1" once every task has stopped (Documentation/admin-guide/cgroup-v2.rst).
		err := poll(freezeTimeout, func(int) (bool, error) {
			ev, err := readKV(dir, "cgroup.events")
			return ev["frozen"] == 1, err
		})
		if err != nil {
			_ = writeFile(dir, "cgroup.freeze", "0")
			return fmt.Errorf("freeze %s: %w", dir, err)
		}
		return nil
	case "v1":
		err := poll(freezeTimeout, func(i int) (bool, error) {
			// Re-request FROZEN now and then: a task in an uninterruptible sleep can leave the cgroup FREEZING
			// (runc's v1 freezer retries the same way).
			if i%50 == 0 {
				if err := writeFile(dir, "freezer.state", "FROZEN"); err != nil {
					return false, err
				}
			}
			s, err := readFile(dir, "freezer.state")
			return s == "FROZEN", err
		})
		if err != nil {
			_ = writeFile(dir, "freezer.state", "THAWED")
			return fmt.Errorf("freeze %s: %w", dir, err)
		}
		return nil
	}
	return fmt.Errorf("freeze: no freezer: %w", ErrNotSupported)
}

// Thaw resumes a frozen cgroup.
func (m *Manager) Thaw() error {
	if m.sd != nil && !m.sd.owned() {
		return nil // another container's unit: thawing it would resume a container someone paused
	}
	dir, kind := m.freezerDir()
	var err error
	switch kind {
	case "v2":
		err = writeFile(dir, "cgroup.freeze", "0")
	case "v1":
		err = writeFile(dir, "freezer.state", "THAWED")
	default:
		return fmt.Errorf("thaw: no freezer: %w", ErrNotSupported)
	}
	if err != nil {
		return fmt.Errorf("thaw: %w", err)
	}
	return nil
}

// Frozen reports whether the cgroup is frozen. A missing cgroup or a host without a freezer is not frozen.
func (m *Manager) Frozen() (bool, error) {
	dir, kind := m.freezerDir()
	var s string
	var err error
	switch kind {
	case "v2":
		s, err = readFile(dir, "cgroup.freeze")
		s = map[string]string{"1": "FROZEN"}[s]
	case "v1":
		s, err = readFile(dir, "freezer.state")
	default:
		return false, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read freezer state: %w", err)
	}
	return s == "FROZEN", nil
}

// pidsDir picks the hierarchy whose cgroup.procs lists the container's processes.
func (m *Manager) pidsDir() string {
	for _, c := range []string{"", "pids", "freezer", "memory", "devices", "cpu"} {
		if d := m.paths[c]; d != "" {
			return d
		}
	}
	for _, d := range m.dirs() {
		return d
	}
	return ""
}

// Pids lists the processes in the cgroup and its descendants. A missing cgroup has none.
func (m *Manager) Pids() ([]int, error) {
	dir := m.pidsDir()
	if dir == "" {
		return nil, nil
	}
	var pids []int
	err := walkProcs(dir, func(pid int) { pids = append(pids, pid) })
	if errors.Is(err, os.ErrNotExist) {
		return pids, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list cgroup pids: %w", err)
	}
	return pids, nil
}

func walkProcs(dir string, fn func(int)) error {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(s) {
		if pid, err := strconv.Atoi(f); err == nil {
			fn(pid)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := walkProcs(filepath.Join(dir, e.Name()), fn); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Signal sends sig to every process in the cgroup. SIGKILL goes through cgroup.kill where the kernel has it
// (Linux 5.14; also in the unified tree of a hybrid host); otherwise the cgroup is frozen, every process signalled
// and the cgroup thawed, as runc's signalAllProcesses does, so nothing forks past the signal. A cgroup that was
// already frozen stays frozen, except that SIGKILL thaws it so the kill takes effect.
func (m *Manager) Signal(sig syscall.Signal) error {
	if m.sd != nil && !m.sd.owned() {
		return nil // a unit this create never started: its processes are another container's
	}
	if sig == unix.SIGKILL {
		if d := m.paths[""]; d != "" && exists(d, "cgroup.kill") {
			if err := writeFile(d, "cgroup.kill", "1"); err != nil {
				return fmt.Errorf("kill cgroup: %w", err)
			}
			return nil
		}
	}
	wasFrozen, err := m.Frozen()
	if err != nil {
		return err
	}
	froze := false
	if !wasFrozen {
		froze = m.Freeze() == nil
	}
	pids, err := m.Pids()
	if err == nil {
		err = signalAll(pids, sig)
	}
	if froze || (wasFrozen && sig == unix.SIGKILL) {
		if terr := m.Thaw(); err == nil {
			err = terr
		}
	}
	return err
}

func signalAll(pids []int, sig syscall.Signal) error {
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal pid %d: %w", pid, os.NewSyscallError("kill", err))
		}
	}
	return nil
}

// destroyTimeout bounds how long Destroy keeps killing and retrying rmdir on a busy cgroup.
var destroyTimeout = 5 * time.Second

// Destroy kills whatever is left in the cgroup and removes its directories (and any sub-cgroups the container
// made). It is not an error if they are gone. It never freezes: at teardown the container's pid-namespace init is
// usually dead already and the kernel has killed the rest, so a plain kill-and-retry loop suffices.
func (m *Manager) Destroy() error {
	if m.sd != nil {
		if !m.sd.owned() {
			return nil // a unit this create never started (its name was taken): neither it nor its cgroup is ours
		}
		// What is left in the unit (the children of a gone init that had no pid namespace of its own) is killed
		// first, as runc's destroy kills them before its manager's: the unit's stop sends SIGTERM and waits
		// TimeoutStopSec (90 s by default) before SIGKILL, longer than stop waits for its job, for a task that
		// ignores SIGTERM or is frozen. On cgroup v2, the driver's only host, SIGKILL ends a frozen task too.
		m.killAll()
		// Stopping the unit removes its cgroup; the files below catch sub-cgroups an older systemd leaves (runc
		// does the same).
		if err := m.sd.stop(); err != nil {
			return err
		}
	}
	if len(m.paths) == 0 {
		return nil
	}
	thawed := false
	err := poll(destroyTimeout, func(int) (bool, error) {
		err := m.removeDirs()
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
			return false, err
		}
		// A frozen v1 cgroup holds its tasks in the refrigerator, where SIGKILL cannot finish them. Asked only once a
		// task keeps a directory busy: an empty cgroup goes, frozen or not, so the usual teardown (the init reaped
		// already) reads no freezer state. The freezer's own directory is still there: a task in it makes it busy.
		if !thawed {
			thawed = true
			if frozen, _ := m.Frozen(); frozen {
				_ = m.Thaw()
			}
		}
		m.killAll()
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	return nil
}

// killAll sends SIGKILL to every process in the cgroup: cgroup.kill where the kernel has it (v2, Linux 5.14), else
// each pid. Errors are not returned: Destroy goes on to remove the cgroup, and a process left fails that.
func (m *Manager) killAll() {
	if d := m.paths[""]; d != "" && exists(d, "cgroup.kill") {
		_ = writeFile(d, "cgroup.kill", "1")
	} else if pids, _ := m.Pids(); len(pids) > 0 {
		_ = signalAll(pids, unix.SIGKILL)
	}
}

// RemoveIdle removes the cgroup directories once no process is left in them, waiting up to the same bound as
// Destroy, and signals nothing. It is for a cgroup that a killed create recorded before it could know the cgroup
// was its own (it records first, then creates): the processes in it may be another container's. The bootstrap
// child of a killed create leaves by itself, as its socket reads EOF.
func (m *Manager) RemoveIdle() error {
	if len(m.paths) == 0 {
		return nil
	}
	err := poll(destroyTimeout, func(int) (bool, error) {
		err := m.removeDirs()
		if err == nil {
			return true, nil
		}
		if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY) {
			return false, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	// A transient slice unit stays loaded with its cgroup gone, unlike a scope, which systemd drops once empty.
	// Its cgroup was empty (removed just above), so nothing of anyone's is in it: stop it.
	if m.sd != nil && m.sd.isSlice() {
		return stopUnit(m.sd)
	}
	return nil
}

// stopUnit is (*systemdDriver).stop; a variable so that a unit test can see RemoveIdle's call without a systemd.
var stopUnit = (*systemdDriver).stop

func (m *Manager) removeDirs() error {
	for _, d := range m.dirs() {
		if err := rmdirTree(d); err != nil {
			return err
		}
	}
	return nil
}

// rmdirTree removes dir and the cgroups below it, deepest first; cgroupfs directories hold only kernel files, which
// rmdir ignores.
func rmdirTree(dir string) error {
	err := unix.Rmdir(dir)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
		ents, rerr := os.ReadDir(dir)
		if rerr != nil {
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
		sub := false
		for _, e := range ents {
			if e.IsDir() {
				sub = true
				if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
		}
		if sub {
			err = unix.Rmdir(dir)
			if err == nil || errors.Is(err, unix.ENOENT) {
				return nil
			}
		}
	}
	return &os.PathError{Op: "rmdir", Path: dir, Err: err}
}

// poll calls fn until it reports done or fails, sleeping between tries with a backoff from 100µs up to 10ms, and
// gives up after timeout. The argument is the attempt number, starting at 0.
func poll(timeout time.Duration, fn func(i int) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Microsecond
	for i := 0; ; i++ {
		done, err := fn(i)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v: %w", timeout, os.ErrDeadlineExceeded)
		}
		time.Sleep(wait)
		wait = min(wait*2, 10*time.Millisecond)
	}
}
