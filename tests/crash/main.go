// Command crash is rt's crash test (`make test-crash`): it kills the runtime with SIGKILL in the middle of each
// lifecycle command, as a manager's timeout, the OOM killer or a node drain would, and checks that nothing is left
// that `delete -f` cannot remove.
//
// For each operation (create, run -d, start, exec, delete -f, kill) it first measures the command's duration D
// (the median of three runs), then kills it after each of -n delays spread over D, and, with -steps (a runtime
// built with the rtcrashpoint tag, build/rt-crash), at each named protocol step through RT_CRASH_AT. After every
// kill it asserts that `state` and `list` answer, that no live process of the container hides from `state`, that
// `delete -f` succeeds, that nothing is left (state directory, cgroup directory in any hierarchy, process in the
// container's cgroup or root, mount of the bundle) and that the id can be created again. Leftovers are reported
// per operation, then removed, so that one trial does not spoil the next. The exit status is 1 when any trial
// left something or a check failed.
//
// It runs as root, as a child subreaper (orphaned container processes are reparented to it and reaped), with the
// runtime's --root in a private directory, and works with runc too: `-runtime "$(scripts/peers.sh runc)"`.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// op is one command under test: setup brings a fresh id to the state the command needs, args is the command.
type op struct {
	name  string
	setup []string // args of the command run first (without the id), nil for none
	args  func(id string) []string
	steps []string // crashpoints (libcontainer/crashpoint.go) the command passes, in order
}

var createSteps = []string{
	"create:mkdir", "create:recorded", "create:cgroup", "create:started", "create:placed", "create:pid-read",
	"create:pid", "create:config", "create:ready-read", "create:ready", "create:saved", "create:committed",
}

var startSteps = []string{"start:opened", "start:started", "start:removed"}

var ops = []op{
	{name: "create", args: func(id string) []string { return []string{"create", "--bundle", "@BUNDLE@", id} }, steps: createSteps},
	{name: "run -d", args: func(id string) []string { return []string{"run", "-d", "--bundle", "@BUNDLE@", id} }, steps: append(append([]string{}, createSteps...), startSteps...)},
	{name: "start", setup: []string{"create"}, args: func(id string) []string { return []string{"start", id} }, steps: startSteps},
	{name: "exec", setup: []string{"run", "-d"}, args: func(id string) []string { return []string{"exec", id, "/bin/true"} }, steps: []string{"exec:started", "exec:placed", "exec:pid-read", "exec:config"}},
	{name: "delete -f", setup: []string{"run", "-d"}, args: func(id string) []string { return []string{"delete", "-f", id} }, steps: []string{"delete:killed", "delete:cgroup"}},
	{name: "kill", setup: []string{"run", "-d"}, args: func(id string) []string { return []string{"kill", id, "KILL"} }, steps: []string{"kill:checked", "kill:signalled"}},
}

var (
	runtimeBin = flag.String("runtime", "", "runtime binary under test (required)")
	withSteps  = flag.Bool("steps", false, "also kill at each named step (a runtime built with -tags rtcrashpoint)")
	delays     = flag.Int("n", 12, "kills per operation, at delays spread over its measured duration")
	parallel   = flag.Int("parallel", 2, "trials at once")
	only       = flag.String("ops", "", "comma-separated operations to test (default all)")
	verbose    = flag.Bool("v", false, "print every trial")
)

// cmdTimeout bounds every runtime command: a command still running then is a stuck runtime, which is reported.
const cmdTimeout = 20 * time.Second

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "crash:", err)
		os.Exit(1)
	}
}

// world is what every trial shares.
type world struct {
	bin     string
	base    string // temp directory: the runtime's --root and the bundles
	root    string
	idSeq   atomic.Int64
	ownCg   []string // this process's cgroup paths, under which a relative cgroupsPath lands
	busybox []byte
	applets []string
}

func run() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root")
	}
	if *runtimeBin == "" {
		return errors.New("-runtime is required")
	}
	bin, err := filepath.Abs(*runtimeBin)
	if err != nil {
		return err
	}
	// Orphans (an init whose runtime was killed) come to us, not to the slow host PID 1 (prctl(2)).
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl", err)
	}
	w := &world{bin: bin}
	if w.base, err = os.MkdirTemp("", "rt-crash-"); err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(w.base) }()
	w.root = filepath.Join(w.base, "root")
	if w.busybox, err = os.ReadFile("/bin/busybox"); err != nil {
		return fmt.Errorf("busybox (install busybox-static): %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	w.applets = strings.Fields(string(list))
	sc := bufio.NewScanner(strings.NewReader(readFile("/proc/self/cgroup")))
	for sc.Scan() {
		if parts := strings.SplitN(sc.Text(), ":", 3); len(parts) == 3 && parts[2] != "/" {
			w.ownCg = append(w.ownCg, parts[2])
		}
	}
	go reaper()

	var selected []op
	for _, o := range ops {
		if *only == "" || contains(strings.Split(*only, ","), o.name) {
			selected = append(selected, o)
		}
	}
	start := time.Now()
	bundles := make(chan string, *parallel)
	for i := 0; i < *parallel; i++ {
		b, err := w.makeBundle(i)
		if err != nil {
			return err
		}
		bundles <- b
	}
	failed := false
	fmt.Printf("crash test of %s\n", bin)
	fmt.Printf("%-10s %6s %6s %7s %7s %7s  %s\n", "operation", "D ms", "kills", "killed", "leaked", "orphans", "what")
	for _, o := range selected {
		d, err := w.measure(o, bundles)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		var trials []trial
		for i := 0; i < *delays; i++ {
			trials = append(trials, trial{op: o, delay: time.Duration(float64(d) * (float64(i) + 0.5) / float64(*delays))})
		}
		if *withSteps {
			for _, s := range o.steps {
				trials = append(trials, trial{op: o, step: s})
			}
		}
		results := make([]result, len(trials))
		var wg sync.WaitGroup
		for i := range trials {
			b := <-bundles
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { bundles <- b }()
				results[i] = w.trial(trials[i], b)
			}()
		}
		wg.Wait()
		killed, leaked, orphans := 0, 0, 0
		what := map[string]int{}
		for i, r := range results {
			if r.killed {
				killed++
			}
			if len(r.problems) > 0 {
				leaked++
				failed = true
			}
			if r.orphan {
				orphans++
			}
			for _, p := range r.problems {
				what[p]++
			}
			if *verbose || len(r.problems) > 0 {
				fmt.Printf("  %-10s %-22s killed=%-5v %s\n", o.name, trials[i], r.killed, strings.Join(r.detail, "; "))
			}
		}
		fmt.Printf("%-10s %6.1f %6d %7d %7d %7d  %s\n", o.name, float64(d)/float64(time.Millisecond), len(trials), killed, leaked, orphans, summary(what))
	}
	fmt.Printf("%.1f s\n", time.Since(start).Seconds())
	if failed {
		return errors.New("something was left behind or a check failed (see above)")
	}
	return nil
}

// trial is one kill: after delay, or at step.
type trial struct {
	op    op
	delay time.Duration
	step  string
}

func (t trial) String() string {
	if t.step != "" {
		return "at " + t.step
	}
	return fmt.Sprintf("after %.2f ms", float64(t.delay)/float64(time.Millisecond))
}

// result is what a trial found: problems are short classes for the table, detail says more.
type result struct {
	killed   bool // the command died of the SIGKILL (not finished before it)
	orphan   bool // a live process of the container was left
	problems []string
	detail   []string
}

func (r *result) fail(class, format string, args ...any) {
	if !contains(r.problems, class) {
		r.problems = append(r.problems, class)
	}
	r.detail = append(r.detail, fmt.Sprintf(format, args...))
}

// measure runs the operation three times without killing it and returns the median duration of the command.
func (w *world) measure(o op, bundles chan string) (time.Duration, error) {
	b := <-bundles
	defer func() { bundles <- b }()
	var ds []time.Duration
	for i := 0; i < 3; i++ {
		id := w.newID()
		if o.setup != nil {
			if r := w.rt(nil, append(o.setup, "--bundle", b, id)...); r.code != 0 {
				return 0, fmt.Errorf("setup: %v", r)
			}
		}
		begin := time.Now()
		r := w.rt(nil, subst(o.args(id), b)...)
		ds = append(ds, time.Since(begin))
		if r.code != 0 {
			return 0, fmt.Errorf("%v", r)
		}
		if r := w.rt(nil, "delete", "-f", id); r.code != 0 {
			return 0, fmt.Errorf("delete -f: %v", r)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[1], nil
}

// trial runs one kill and every check after it.
func (w *world) trial(t trial, b string) (res result) {
	id := w.newID()
	defer func() {
		if len(res.problems) > 0 {
			w.sweep(id, b)
		}
	}()
	if t.op.setup != nil {
		if r := w.rt(nil, append(t.op.setup, "--bundle", b, id)...); r.code != 0 {
			res.fail("setup", "setup %v: %v", t.op.setup, r)
			return res
		}
	}
	var env []string
	if t.step != "" {
		env = []string{"RT_CRASH_AT=" + t.step}
	}
	r := w.rtKilled(env, t.delay, t.step != "", subst(t.op.args(id), b)...)
	res.killed = r.signal == unix.SIGKILL
	if r.stuck {
		res.fail("stuck", "%s stuck for %v", t.op.name, cmdTimeout)
	}
	if t.step != "" && !res.killed {
		res.fail("step not reached", "%s never reached %s: %v", t.op.name, t.step, r)
	}

	// state and list answer; a container that state does not know has no live process.
	st := w.rt(nil, "state", id)
	switch {
	case st.stuck:
		res.fail("state stuck", "state stuck")
	case st.code == 0:
		var s struct{ Status string }
		if err := json.Unmarshal([]byte(st.stdout), &s); err != nil || s.Status == "" {
			res.fail("state output", "state printed %q", st.stdout)
		}
		// A stopped container has no process left, even before delete: an init whose create was killed
		// before it committed exits on its own.
		if s.Status == "stopped" {
			if pids := waitGone(5*time.Second, func() []int { return w.containerProcesses(id, b) }); len(pids) > 0 {
				res.orphan = true
				res.fail("process of a stopped container", "state says %q is stopped, but processes %v live", id, pids)
			}
		}
	case strings.Contains(st.stderr, "does not exist"):
		if pids := waitGone(5*time.Second, func() []int { return w.containerProcesses(id, b) }); len(pids) > 0 {
			res.orphan = true
			res.fail("process state cannot see", "state says %q does not exist, but processes %v live", id, pids)
		}
	default:
		res.fail("state failed", "state: %v", st)
	}
	// list answers, and shows the container exactly when state knows it.
	if l := w.rt(nil, "list", "-q"); l.code != 0 {
		res.fail("list failed", "list: %v", l)
	} else if listed := contains(strings.Fields(l.stdout), id); listed != (st.code == 0) {
		res.fail("list disagrees with state", "list shows %q: %v, state: %v", id, listed, st)
	}
	if d := w.rt(nil, "delete", "-f", id); d.code != 0 {
		res.fail("delete -f failed", "delete -f: %v", d)
	}
	w.checkLeaks(&res, id, b, "after delete -f")
	// The id is free again.
	if c := w.rt(nil, "create", "--bundle", b, id); c.code != 0 {
		res.fail("id not reusable", "create again: %v", c)
	}
	if d := w.rt(nil, "delete", "-f", id); d.code != 0 {
		res.fail("delete -f failed", "delete -f after the second create: %v", d)
	}
	w.checkLeaks(&res, id, b, "after the second create and delete -f")
	return res
}

// checkLeaks waits briefly for what a container leaves on the host to go, and reports what stays.
func (w *world) checkLeaks(res *result, id, b, when string) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		var left []string
		var classes []string
		if exists(filepath.Join(w.root, id)) {
			left, classes = append(left, "state dir "+filepath.Join(w.root, id)), append(classes, "state dir")
		}
		// rt prepares a state directory in <root>/.new~<id>~XXXX before renaming it into place.
		if m, _ := filepath.Glob(filepath.Join(w.root, ".new~"+id+"~*")); len(m) > 0 {
			left, classes = append(left, "prepared state dir "+strings.Join(m, " ")), append(classes, "state dir")
		}
		var cgs []string
		for _, cg := range w.cgroupCandidates(id) {
			if exists(cg) {
				cgs = append(cgs, strings.SplitN(strings.TrimPrefix(cg, "/sys/fs/cgroup/"), "/", 2)[0])
			}
		}
		if len(cgs) > 0 {
			left, classes = append(left, "cgroup "+id+" in "+strings.Join(cgs, ",")), append(classes, "cgroup")
		}
		pids := w.containerProcesses(id, b)
		if len(pids) > 0 {
			left, classes = append(left, fmt.Sprintf("processes %v", pids)), append(classes, "process")
		}
		if strings.Contains(readFile("/proc/self/mountinfo"), b+"/") {
			left, classes = append(left, "a mount of "+b), append(classes, "mount")
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			if len(pids) > 0 {
				res.orphan = true
			}
			for _, c := range classes {
				if !contains(res.problems, c) {
					res.problems = append(res.problems, c)
				}
			}
			res.detail = append(res.detail, when+": "+strings.Join(left, ", "))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sweep removes what a failed trial left, so that the next trials start clean.
func (w *world) sweep(id, b string) {
	for _, pid := range w.containerProcesses(id, b) {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, cg := range w.cgroupCandidates(id) {
		for exists(cg) && time.Now().Before(deadline) {
			if err := os.Remove(cg); err == nil {
				break
			}
			if f := filepath.Join(cg, "cgroup.freeze"); exists(f) {
				_ = os.WriteFile(f, []byte("0"), 0)
			}
			if f := filepath.Join(cg, "freezer.state"); exists(f) {
				_ = os.WriteFile(f, []byte("THAWED"), 0)
			}
			for _, pid := range w.containerProcesses(id, b) {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	_ = os.RemoveAll(filepath.Join(w.root, id))
}

// cgroupCandidates lists the cgroup directories the container may have been given, in every hierarchy: the id
// under the root and under our own cgroup (a relative or empty cgroupsPath).
func (w *world) cgroupCandidates(id string) []string {
	hier, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, h := range hier {
		out = append(out, filepath.Join("/sys/fs/cgroup", h.Name(), id))
		for _, p := range w.ownCg {
			out = append(out, filepath.Join("/sys/fs/cgroup", h.Name(), p, id))
		}
	}
	return out
}

// containerProcesses returns the live processes in a cgroup named after the container, or whose root is the
// bundle's rootfs (compared by device and inode: after pivot_root /proc/PID/root reads "/").
func (w *world) containerProcesses(id, b string) []int {
	var root unix.Stat_t
	haveRoot := unix.Stat(filepath.Join(b, "rootfs"), &root) == nil
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st := readFile(fmt.Sprintf("/proc/%d/stat", pid)); st == "" || procState(st) == "Z" {
			continue
		}
		mine := false
		for _, line := range strings.Split(readFile(fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
			if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && contains(strings.Split(parts[2], "/"), id) {
				mine = true
			}
		}
		var st unix.Stat_t
		if !mine && haveRoot && unix.Stat(fmt.Sprintf("/proc/%d/root", pid), &st) == nil && st.Dev == root.Dev && st.Ino == root.Ino {
			mine = true
		}
		if mine {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone polls list until it is empty or the timeout passes, and returns its last answer.
func waitGone(timeout time.Duration, list func() []int) []int {
	deadline := time.Now().Add(timeout)
	for {
		l := list()
		if len(l) == 0 || time.Now().After(deadline) {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// makeBundle makes bundle i: a busybox rootfs and a config like `runc spec`'s, with `sleep` as the process.
func (w *world) makeBundle(i int) (string, error) {
	dir := filepath.Join(w.base, fmt.Sprintf("bundle%d", i))
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), w.busybox, 0o755); err != nil {
		return "", err
	}
	for _, a := range w.applets {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: []string{"sleep", "100000"}, Cwd: "/",
			Env:             []string{"PATH=/bin"},
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "crash",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
		},
	}
	data, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

func (w *world) newID() string {
	return fmt.Sprintf("crash%d-%d", os.Getpid(), w.idSeq.Add(1))
}

// outcome is one runtime command's end.
type outcome struct {
	code           int // exit status, -1 when killed by a signal
	signal         syscall.Signal
	stuck          bool
	stdout, stderr string
}

func (o outcome) String() string {
	if o.signal != 0 {
		return fmt.Sprintf("killed by %v, stderr %q", o.signal, strings.TrimSpace(o.stderr))
	}
	return fmt.Sprintf("exit %d, stderr %q", o.code, strings.TrimSpace(o.stderr))
}

func (w *world) rt(env []string, args ...string) outcome {
	return w.rtKilled(env, 0, true, args...)
}

// rtKilled runs the runtime with --root and args; unless noKill, it sends SIGKILL after delay. stdout and stderr
// are files, not pipes: a created container inherits them and would hold a pipe open.
func (w *world) rtKilled(env []string, delay time.Duration, noKill bool, args ...string) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, append([]string{"--root", w.root}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	out, err1 := os.CreateTemp(w.base, "out")
	errf, err2 := os.CreateTemp(w.base, "err")
	if err1 != nil || err2 != nil {
		return outcome{code: -1, stderr: fmt.Sprint(err1, err2)}
	}
	defer os.Remove(out.Name())
	defer os.Remove(errf.Name())
	defer out.Close()
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	var o outcome
	var timer *time.Timer
	childMu.RLock()
	err := cmd.Start()
	if err == nil {
		children.Store(cmd.Process.Pid, true)
		if !noKill {
			p := cmd.Process
			timer = time.AfterFunc(delay, func() { _ = p.Signal(unix.SIGKILL) })
		}
	}
	childMu.RUnlock()
	if err != nil {
		return outcome{code: -1, stderr: err.Error()}
	}
	err = cmd.Wait()
	children.Delete(cmd.Process.Pid)
	if timer != nil {
		timer.Stop()
	}
	o.stdout, o.stderr = readFile(out.Name()), readFile(errf.Name())
	o.stuck = ctx.Err() != nil
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			o.signal = ws.Signal()
		}
	default:
		o.code = -1
		o.stderr += err.Error()
	}
	return o
}

// The reaper waits for orphans that os/exec does not own. childMu keeps a command from being reaped between its
// fork and its registration in children.
var (
	childMu  sync.RWMutex
	children sync.Map // pid -> true
)

func reaper() {
	self := strconv.Itoa(os.Getpid())
	for {
		time.Sleep(20 * time.Millisecond)
		childMu.Lock()
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if _, ours := children.Load(pid); ours {
				continue
			}
			st := readFile(fmt.Sprintf("/proc/%d/stat", pid))
			if procState(st) != "Z" || procPPid(st) != self {
				continue
			}
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
		childMu.Unlock()
	}
}

// procState and procPPid read fields 3 and 4 of /proc/PID/stat, counted after the command name (proc(5)).
func procState(stat string) string { return statField(stat, 0) }
func procPPid(stat string) string  { return statField(stat, 1) }

func statField(stat string, i int) string {
	j := strings.LastIndexByte(stat, ')')
	if j < 0 {
		return ""
	}
	f := strings.Fields(stat[j+1:])
	if len(f) <= i {
		return ""
	}
	return f[i]
}

func subst(args []string, b string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "@BUNDLE@", b)
	}
	return out
}

func summary(what map[string]int) string {
	if len(what) == 0 {
		return "nothing left"
	}
	var parts []string
	for k, n := range what {
		parts = append(parts, fmt.Sprintf("%s (%d)", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
