// Command bench is `make bench`: rt against runc and crun, and against two floors, in one interleaved run.
//
// Every measured command runs under build/bench/bin/spawn (spawn.c), so its CPU time (user+system of the whole
// process tree), page faults, peak RSS and wall time are its own, and the caller's cost of starting and reaping
// it is shown apart. The runtimes take turns round by round (in a new random order for each operation of each
// round), so a change in the machine's load falls on all of them alike; the tables give medians and ratios to crun, and the targets
// met or not. It runs inside a private mount namespace (tests/bench/run.sh starts it under `unshare -m`) where
// the hybrid host's cgroup2 mount is hidden behind a tmpfs (crun 1.8 refuses a hybrid host) and the runtimes'
// roots are on a tmpfs, as /run is in production. See tests/bench/README.md.
//
// `bench perfsplit` and `bench perfcompare` are helpers of tests/bench/profile.sh (perfsplit.go, perfcompare.go).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runtime is one column of the tables: a runtime binary, or a floor program that only does `run`.
type runtime struct {
	key   string // short name used in ids and CSV: rt, runc, runc2, crun, floorc, floorgo
	label string // column header
	path  string // the copy on the bench tmpfs that is measured
	floor bool
	root  string // --root with the long-running container "up"
	root1 string // --root with 100 containers
	err   string // why it is not measured, when it is not
}

// bench is one run of the whole benchmark.
type bench struct {
	work    string // tmpfs
	spawn   string
	bundle  string // /bin/true
	sleeper string // a long-running process, for exec, state and the 100 containers
	rootfs  string
	rts     []*runtime
	samples map[string]map[string][]sample // op -> runtime key -> samples
	fails   map[string]map[string]string   // op -> runtime key -> first failure
	started time.Time
	load0   string
}

// sample is what one spawn printed.
type sample struct {
	cpuMs, faults, rssMiB, wallMs, selfUs float64
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "perfsplit" || os.Args[1] == "perfcompare") {
		do := perfSplit
		if os.Args[1] == "perfcompare" {
			do = perfCompare
		}
		if err := do(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		rounds  = flag.Int("rounds", 30, "measured rounds")
		warmup  = flag.Int("warmup", 2, "unmeasured rounds first")
		out     = flag.String("out", "build/bench", "directory for results.md and samples.csv")
		bin     = flag.String("bin", "build/bench/bin", "directory with spawn, floor and gofloor")
		rootfs  = flag.String("rootfs", "build/bundle/rootfs", "busybox rootfs (scripts/mkbundle.sh)")
		rtPath  = flag.String("rt", "./rt", "the runtime in rt's column")
		rt2Path = flag.String("rt2", "", "a second rt to compare, e.g. another branch's build (column rt2)")
		rt2Name = flag.String("rt2-label", "rt2", "rt2's column header")
		runc    = flag.String("runc", "/usr/sbin/runc", "Debian's runc")
		runc2   = flag.String("runc2", "build/peers/runc-v1.5.3/runc", "runc v1.5.3")
		crun    = flag.String("crun", "/usr/bin/crun", "crun")
		only    = flag.String("ops", "", "comma-separated operations to measure (default all)")
		nFanout = flag.Int("containers", 100, "containers under one root for the list and state among many")
		hostNs  = flag.String("host-mntns", "", "the caller's mount namespace (readlink /proc/self/ns/mnt before unshare)")
		seed    = flag.Uint64("seed", 0, "seed of the runtimes' order (0: from the clock); printed, to repeat a run")
	)
	flag.Parse()
	if os.Geteuid() != 0 {
		return errors.New("must run as root")
	}
	if err := privateMountNamespace(*hostNs); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_CHILD_SUBREAPER", err)
	}
	b := &bench{samples: map[string]map[string][]sample{}, fails: map[string]map[string]string{}, started: time.Now()}
	b.load0 = loadAvg()
	var err error
	if b.rootfs, err = filepath.Abs(*rootfs); err != nil {
		return err
	}
	// Under out, not /tmp: a tmp cleaner sees an empty directory there (the tmpfs is mounted in this
	// namespace only), and removing it would detach the tmpfs from under the bench.
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp(*out, "work."); err != nil {
		return err
	}
	if b.work, err = filepath.Abs(b.work); err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(b.work) }()
	// Roots, bundles and the measured binaries live on a tmpfs, as /run does in production; copies of the
	// binaries made the same way, since how a file sits in the page cache changes how many pages a fault maps.
	if err := unix.Mount("tmpfs", b.work, "tmpfs", 0, "mode=0700"); err != nil {
		return &os.PathError{Op: "mount tmpfs", Path: b.work, Err: err}
	}
	defer func() { _ = unix.Unmount(b.work, unix.MNT_DETACH) }()
	if b.spawn, err = b.copyBin(filepath.Join(*bin, "spawn"), "spawn"); err != nil {
		return err
	}
	if err := b.makeBundles(*runc); err != nil {
		return err
	}
	b.addRuntime("rt", *rtPath)
	if *rt2Path != "" {
		b.addRuntime("rt2", *rt2Path)
		b.rts[len(b.rts)-1].label = *rt2Name
	}
	for _, c := range []struct{ key, path string }{{"runc", *runc}, {"runc2", *runc2}, {"crun", *crun}} {
		b.addRuntime(c.key, c.path)
	}
	for _, c := range []struct{ key, file, label string }{
		{"floorc", "floor", "floor: static C, all kernel work"},
		{"floorgo", "gofloor", "floor: static Go, re-exec + pivot_root"},
	} {
		r := &runtime{key: c.key, label: c.label, floor: true}
		if r.path, err = b.copyBin(filepath.Join(*bin, c.file), c.key); err != nil {
			r.err = err.Error()
		}
		b.rts = append(b.rts, r)
	}
	defer b.cleanup()
	ops := selectOps(*only)
	if !slices.ContainsFunc(ops, func(o op) bool { return o.name == "list100" || o.name == "state100" }) {
		*nFanout = 0
	}
	for _, r := range b.rts {
		if r.err == "" && !r.floor {
			b.setUp(r, *nFanout)
		}
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	// A random order, not a rotation: with a rotation each runtime always ran after the same neighbour, and the
	// wall medians showed a bias by column (two rt builds swapped between columns: the slower wall moved with the
	// column).
	rng := rand.New(rand.NewPCG(*seed, 0))
	fmt.Fprintf(os.Stderr, "bench: %d rounds (+%d warm-up) of %d operations; order seed %d; load average %s\n",
		*rounds, *warmup, len(ops), *seed, b.load0)
	for round := -*warmup; round < *rounds; round++ {
		for _, o := range ops {
			for _, i := range rng.Perm(len(b.rts)) {
				r := b.rts[i]
				if r.err != "" || (r.floor && !o.floors) {
					continue
				}
				s, err := o.measure(b, r, r.id(fmt.Sprintf("%s-%d", o.name, round+*warmup)))
				b.reap()
				if err != nil {
					b.fail(o.name, r.key, err)
					continue
				}
				if round >= 0 {
					b.add(o.name, r.key, s)
				}
			}
		}
		if round >= 0 && (round+1)%10 == 0 {
			fmt.Fprintf(os.Stderr, "bench: %d rounds done\n", round+1)
		}
	}
	return b.report(ops, *out, *rounds, *warmup)
}

// privateMountNamespace checks that this process is not in the caller's mount namespace host (run.sh starts
// it under `unshare -m`) and there replaces the hybrid host's cgroup2 mount by a tmpfs, for crun 1.8: unmounted
// first, so that no runtime finds it in mountinfo either.
func privateMountNamespace(host string) error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	if host == "" || self == host {
		return errors.New("not in a private mount namespace: run it through tests/bench/run.sh (unshare -m)")
	}
	var fs unix.Statfs_t
	const unified = "/sys/fs/cgroup/unified"
	if err := unix.Statfs(unified, &fs); err == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return &os.PathError{Op: "make / private", Path: "/", Err: err}
		}
		if err := unix.Unmount(unified, unix.MNT_DETACH); err != nil {
			return &os.PathError{Op: "umount", Path: unified, Err: err}
		}
		if err := unix.Mount("tmpfs", unified, "tmpfs", 0, ""); err != nil {
			return &os.PathError{Op: "mount tmpfs", Path: unified, Err: err}
		}
	}
	return nil
}

// copyBin copies src onto the tmpfs as name.
func (b *bench) copyBin(src, name string) (string, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(b.work, "bin", name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, data, 0o755)
}

// makeBundles writes two bundles with `runc spec`'s config around the busybox rootfs: one running
// /bin/true, one sleeping (the target of exec, state and list).
func (b *bench) makeBundles(runc string) error {
	tmpl := filepath.Join(b.work, "spec")
	if err := os.MkdirAll(tmpl, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command(runc, "spec", "--bundle", tmpl).CombinedOutput(); err != nil {
		return fmt.Errorf("%s spec: %w: %s", runc, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(tmpl, "config.json"))
	if err != nil {
		return err
	}
	for _, c := range []struct {
		dir  *string
		name string
		args []string
	}{{&b.bundle, "bundle-true", []string{"/bin/true"}}, {&b.sleeper, "bundle-sleep", []string{"/bin/sleep", "1000000"}}} {
		var spec map[string]any
		if err := json.Unmarshal(raw, &spec); err != nil {
			return fmt.Errorf("runc spec's config: %w", err)
		}
		proc := spec["process"].(map[string]any)
		proc["args"] = c.args
		proc["terminal"] = false
		spec["root"].(map[string]any)["path"] = b.rootfs
		*c.dir = filepath.Join(b.work, c.name)
		data, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*c.dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*c.dir, "config.json"), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// addRuntime adds a runtime column, labelled with its name and version, or with why it is missing.
func (b *bench) addRuntime(key, path string) {
	r := &runtime{key: key, label: key}
	b.rts = append(b.rts, r)
	src, err := exec.LookPath(path)
	if err == nil {
		r.path, err = b.copyBin(src, key)
	}
	if err != nil {
		r.err = err.Error()
		return
	}
	out, _ := exec.Command(r.path, "--version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(first) // "runc version 1.1.5+ds1", "crun version 1.8.1", "rt version 0.1.0"
	if len(f) >= 3 && f[1] == "version" {
		r.label = f[0] + " " + strings.TrimSuffix(f[2], "+ds1")
	}
	if key == "rt" && f != nil && f[0] != "rt" {
		r.label = "rt = " + r.label
	}
	r.root = filepath.Join(b.work, "root-"+key)
	r.root1 = filepath.Join(b.work, "root100-"+key)
}

// id is a container id of r's: the bundle has no cgroupsPath, so each runtime makes /<id> in every
// hierarchy, and the ids of the runtimes must differ, and differ from anyone else's on the machine: the driver's
// pid keeps two benches at once (two worktrees) out of each other's cgroups.
func (r *runtime) id(name string) string {
	return "bench-" + strconv.Itoa(os.Getpid()) + "-" + r.key + "-" + name
}

// setUp checks that r runs the bundle, starts its long-running container "up", and n sleeping containers
// under a second root.
func (b *bench) setUp(r *runtime, n int) {
	if _, err := b.spawnCmd(r.path, "--root", r.root, "run", "--bundle", b.bundle, r.id("smoke")); err != nil {
		r.err = "run fails: " + err.Error()
		return
	}
	if err := b.direct(r, r.root, "run", "-d", "--bundle", b.sleeper, r.id("up")); err != nil {
		r.err = "run -d fails: " + err.Error()
		return
	}
	for i := range n {
		if err := b.direct(r, r.root1, "run", "-d", "--bundle", b.sleeper, r.id("c"+strconv.Itoa(i))); err != nil {
			r.err = fmt.Sprintf("run -d of container %d of %d fails: %v", i, n, err)
			return
		}
	}
}

// direct runs one unmeasured command of runtime r under root.
func (b *bench) direct(r *runtime, root string, args ...string) error {
	_, stderr, err := b.command(append([]string{r.path, "--root", root}, args...))
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", r.key, strings.Join(args, " "), err, stderr)
	}
	return nil
}

// command runs args with stdin on /dev/null and stdout and stderr on files, never pipes: a detached
// container inherits the runtime's stdio and would hold a pipe open, and a wait for its end, long after the
// runtime has exited. It returns both outputs and reaps the orphans that have exited.
func (b *bench) command(args []string) (stdout, stderr string, err error) {
	var files [2]*os.File
	for i := range files {
		if files[i], err = os.CreateTemp(b.work, "out."); err != nil {
			return "", "", err
		}
		defer os.Remove(files[i].Name())
		defer files[i].Close()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	err = cmd.Run()
	b.reap()
	out, _ := os.ReadFile(files[0].Name())
	errOut, _ := os.ReadFile(files[1].Name())
	return string(out), strings.TrimSpace(string(errOut)), err
}

// initPid is the pid of container id's init, from `state`.
func (b *bench) initPid(r *runtime, id string) (int, error) {
	out, stderr, err := b.command([]string{r.path, "--root", r.root, "state", id})
	if err != nil {
		return 0, fmt.Errorf("state %s: %w: %s", id, err, stderr)
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Pid <= 0 {
		return 0, fmt.Errorf("state %s: no pid in %q", id, out)
	}
	return st.Pid, nil
}

// waitExit waits for pid, which is this process's child: a container's init is reparented here, the
// nearest subreaper, once the command that made it has exited.
func waitExit(pid int) error {
	for {
		_, err := unix.Wait4(pid, nil, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			if errors.Is(err, unix.ECHILD) {
				return nil
			}
			return err
		}
	}
}

// reap collects the exited orphans reparented to this process.
func (b *bench) reap() {
	for {
		pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// spawnCmd runs args under spawn and parses its line.
func (b *bench) spawnCmd(args ...string) (sample, error) {
	result := filepath.Join(b.work, "result")
	_ = os.Remove(result)
	_, stderr, err := b.command(append([]string{b.spawn, "-o", result}, args...))
	if err != nil {
		return sample{}, fmt.Errorf("%w: %s", err, stderr)
	}
	out, err := os.ReadFile(result)
	if err != nil {
		return sample{}, err
	}
	f := strings.Fields(string(out))
	if len(f) != 7 {
		return sample{}, fmt.Errorf("spawn printed %q", out)
	}
	v := make([]float64, len(f))
	for i, s := range f {
		if v[i], err = strconv.ParseFloat(s, 64); err != nil {
			return sample{}, fmt.Errorf("spawn printed %q", out)
		}
	}
	return sample{cpuMs: v[0] / 1000, faults: v[1] + v[2], rssMiB: v[3] / 1024, wallMs: v[4] / 1000, selfUs: v[5]}, nil
}

func (b *bench) add(op, key string, s sample) {
	if b.samples[op] == nil {
		b.samples[op] = map[string][]sample{}
	}
	b.samples[op][key] = append(b.samples[op][key], s)
}

func (b *bench) fail(op, key string, err error) {
	if b.fails[op] == nil {
		b.fails[op] = map[string]string{}
	}
	if _, ok := b.fails[op][key]; !ok {
		b.fails[op][key] = err.Error()
		fmt.Fprintf(os.Stderr, "bench: %s %s: %v\n", key, op, err)
	}
}

// cleanup force-deletes every container the bench made.
func (b *bench) cleanup() {
	for _, r := range b.rts {
		if r.floor || r.path == "" {
			continue
		}
		for _, root := range []string{r.root, r.root1} {
			out, _ := exec.Command(r.path, "--root", root, "list", "-q").Output()
			for id := range strings.FieldsSeq(string(out)) {
				_ = exec.Command(r.path, "--root", root, "delete", "--force", id).Run()
			}
		}
	}
	b.reap()
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
