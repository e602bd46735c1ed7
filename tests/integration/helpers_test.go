// Package integration drives a runc-compatible runtime binary (RT_RUNTIME: ./rt, or /usr/bin/runc to prove the
// tests themselves right) as root on real busybox bundles, and checks from inside the container with the static
// probe (RT_PROBE, built by `make probe`). Every test is first run against runc 1.5.3 (scripts/peers.sh runc), the
// reference, and Debian's runc 1.1.5: where rt deliberately differs from runc the assertion is guarded by rtOnly and
// the difference documented; where only runc before 1.5 lacks the behaviour, by oldRunc.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/tests/probe/report"
)

var (
	// runtimeBin is the runtime under test (RT_RUNTIME), an absolute path.
	runtimeBin string
	// probeBin is the content of the probe binary (RT_PROBE), copied into every rootfs as /probe.
	probeBin []byte
	// busyboxBin is the content of /bin/busybox (Debian busybox-static), and applets its applet names.
	busyboxBin []byte
	applets    []string
	// isRunc is true when the runtime under test reports itself as runc (`runc --version`), and runcVersion is
	// its version's major and minor number.
	isRunc      bool
	runcVersion [2]int
	// idSeq makes container ids unique within this test process.
	idSeq atomic.Int64
)

// cmdTimeout bounds every runtime invocation, so that a hung runtime fails one test instead of the whole run.
const cmdTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	// Containers mostly wait (on fifos, processes, the kernel), so more tests than the 2 cores run at once;
	// an explicit -parallel wins.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	if err := setup(); err != nil {
		// Failing, not skipping: a suite that exits 0 without running anything would hide a broken set-up.
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (it creates namespaces, mounts and cgroups)")
	}
	bin := os.Getenv("RT_RUNTIME")
	if bin == "" {
		return errors.New("RT_RUNTIME is not set: point it at ./rt or /usr/bin/runc")
	}
	var err error
	if runtimeBin, err = exec.LookPath(fromRepo(bin)); err != nil {
		return fmt.Errorf("RT_RUNTIME: %w", err)
	}
	if runtimeBin, err = filepath.Abs(runtimeBin); err != nil {
		return fmt.Errorf("RT_RUNTIME: %w", err)
	}
	probe := os.Getenv("RT_PROBE")
	if probe == "" {
		return errors.New("RT_PROBE is not set: run `make probe` and point it at build/probe")
	}
	if probeBin, err = os.ReadFile(fromRepo(probe)); err != nil {
		return fmt.Errorf("RT_PROBE: %w", err)
	}
	if busyboxBin, err = os.ReadFile("/bin/busybox"); err != nil {
		return fmt.Errorf("busybox (install busybox-static): %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	applets = strings.Fields(string(list))
	ver, err := exec.Command(runtimeBin, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", runtimeBin, err)
	}
	isRunc = strings.HasPrefix(string(ver), "runc ")
	if isRunc {
		// "runc version 1.5.3" (Debian's: "runc version 1.1.5+ds1").
		if _, err := fmt.Sscanf(string(ver), "runc version %d.%d", &runcVersion[0], &runcVersion[1]); err != nil {
			return fmt.Errorf("%s --version: %q: %w", runtimeBin, ver, err)
		}
	}
	// Orphaned container processes are reparented to us, not to the slow host PID 1, so they are reaped promptly
	// (prctl(2) PR_SET_CHILD_SUBREAPER). os/exec reaps only its own children; reapOrphans reaps the rest.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl", err)
	}
	return nil
}

// fromRepo resolves a relative path with a directory part (./rt, build/probe) against the repository root, as
// the Makefile means it: `go test` runs in the package directory, two levels down.
func fromRepo(p string) string {
	if filepath.IsAbs(p) || !strings.Contains(p, "/") {
		return p
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join("..", "..", p)
}

// rtOnly skips the rest of a test when the runtime is runc, for an assertion about a deliberate rt difference
// (README "Deliberate differences from runc"). why says which.
func rtOnly(t *testing.T, why string) {
	t.Helper()
	if isRunc {
		t.Skipf("runc differs: %s", why)
	}
}

// oldRunc skips the rest of a test when the runtime is a runc older than 1.5, the reference, for a runc 1.5
// behaviour that the older runc lacks (why says which); runc 1.5 runs it.
func oldRunc(t *testing.T, why string) {
	t.Helper()
	if isOldRunc() {
		t.Skipf("runc %d.%d predates it: %s", runcVersion[0], runcVersion[1], why)
	}
}

// isOldRunc is true when the runtime is a runc older than 1.5.
func isOldRunc() bool {
	return isRunc && (runcVersion[0] < 1 || runcVersion[0] == 1 && runcVersion[1] < 5)
}

// testEnv is the per-test state: one base directory holding the runtime's --root and the bundles, and the ids
// to force-delete at the end.
type testEnv struct {
	base string
	root string
	mu   sync.Mutex
	ids  []string
}

var envs sync.Map // t.Name() -> *testEnv

// env returns t's testEnv, making it on first use. Its cleanup (registered right after the base TempDir, so it
// runs before the directory is removed) force-deletes every container the test made.
//
// A subtest shares its parent's testEnv when the parent made one before starting it (so the parent's containers
// are visible to it, and deleted by the parent), and otherwise gets its own.
func env(t *testing.T) *testEnv {
	t.Helper()
	for name := t.Name(); ; {
		if e, ok := envs.Load(name); ok {
			return e.(*testEnv)
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			break
		}
		name = name[:i]
	}
	e := &testEnv{base: t.TempDir()}
	e.root = filepath.Join(e.base, "root")
	t.Cleanup(func() {
		e.mu.Lock()
		ids := e.ids
		e.mu.Unlock()
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			cmd := exec.CommandContext(ctx, runtimeBin, "--root", e.root, "delete", "-f", id)
			cmd.WaitDelay = time.Second
			_ = runReaping(cmd)
			cancel()
		}
		e.sweep(t, ids)
		envs.Delete(t.Name())
	})
	envs.Store(t.Name(), e)
	return e
}

// sweep removes what `delete -f` left of the test's containers, so one broken run does not poison the host
// for the next: processes rooted in the test's bundles are killed, the containers' empty cgroups removed.
// Anything it has to remove is a test failure (runc 1.1.5 leaves nothing once orphaned zombies are reaped).
func (e *testEnv) sweep(t *testing.T, ids []string) {
	var left []string
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range processesUnder(e.base) {
		left = append(left, fmt.Sprintf("process %d", pid))
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	for _, id := range ids {
		for _, cg := range cgroupCandidates(t, id) {
			if !exists(cg) {
				continue
			}
			left = append(left, "cgroup "+cg)
			// rmdir fails with EBUSY until the last process (zombies too) has left; poll until the deadline.
			for os.Remove(cg) != nil && exists(cg) && time.Now().Before(deadline) {
				reapOrphans()
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	if len(left) != 0 {
		t.Errorf("left after delete -f: %v", left)
	}
}

// processesUnder returns the pids of processes rooted in any bundle under base.
func processesUnder(base string) []int {
	ents, _ := os.ReadDir(base)
	var pids []int
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "bundle") {
			pids = append(pids, processesRootedIn(filepath.Join(base, e.Name()))...)
		}
	}
	return pids
}

// stateRoot is the --root that rt(t, ...) passes for t.
func stateRoot(t *testing.T) string {
	t.Helper()
	return env(t).root
}

// newID returns a container id unique to this test process and registers it for `delete -f` at cleanup.
func newID(t *testing.T) string {
	t.Helper()
	e := env(t)
	id := fmt.Sprintf("it%d-%d", os.Getpid(), idSeq.Add(1))
	e.mu.Lock()
	e.ids = append(e.ids, id)
	e.mu.Unlock()
	return id
}

// result is the outcome of one runtime invocation.
type result struct {
	Stdout string
	Stderr string
	Code   int // the exit status; -1 when killed by a signal
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
}

// rt runs the runtime with --root set for t and returns its output. stdin is /dev/null. Its stdout and stderr
// are files, not pipes: a created or detached container inherits them, and a pipe would keep the read side
// (and cmd.Wait) open until the container exits.
func rt(t *testing.T, args ...string) result {
	t.Helper()
	return rtStdin(t, nil, args...)
}

// rtStdin is rt with stdin fed from the given bytes (nil: /dev/null).
func rtStdin(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	return rtUnder(t, nil, stdin, args...)
}

// rtUnder is rtStdin with the runtime started by the command wrapper (e.g. chrt -f 1) rather than directly.
func rtUnder(t *testing.T, wrapper []string, stdin []byte, args ...string) result {
	t.Helper()
	e := env(t)
	outF, err := os.CreateTemp(e.base, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.CreateTemp(e.base, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	argv := append(append(slices.Clone(wrapper), runtimeBin, "--root", e.root), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// A container process may hold the stdin pipe after the runtime is killed on timeout: do not wait for it.
	cmd.WaitDelay = time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Stdout, cmd.Stderr = outF, errF
	err = runTracked(cmd)
	if ctx.Err() != nil {
		t.Fatalf("%v: timed out after %v", args, cmdTimeout)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %v: %v", args, err)
	}
	out, _ := os.ReadFile(outF.Name())
	serr, _ := os.ReadFile(errF.Name())
	return result{Stdout: string(out), Stderr: string(serr), Code: cmd.ProcessState.ExitCode()}
}

// mustRT is rt that fails the test unless the runtime exits 0.
func mustRT(t *testing.T, args ...string) result {
	t.Helper()
	r := rt(t, args...)
	if r.Code != 0 {
		t.Fatalf("%v: %v", args, r)
	}
	return r
}

// rtBackground starts the runtime without waiting; stdout and stderr go to files under the test's base dir
// whose paths are returned. The caller waits on cmd.
func rtBackground(t *testing.T, args ...string) (cmd *exec.Cmd, stdout, stderr string) {
	t.Helper()
	return rtBackgroundStdin(t, nil, args...)
}

// rtBackgroundStdin is rtBackground with the given stdin (nil: /dev/null).
func rtBackgroundStdin(t *testing.T, stdin *os.File, args ...string) (cmd *exec.Cmd, stdout, stderr string) {
	t.Helper()
	e := env(t)
	outF, err := os.CreateTemp(e.base, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.CreateTemp(e.base, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	cmd = exec.Command(runtimeBin, append([]string{"--root", e.root}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Stdout, cmd.Stderr = outF, errF
	if err := startTracked(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = waitTracked(cmd)
		}
	})
	return cmd, outF.Name(), errF.Name()
}

// waitExit waits (bounded) for a background runtime and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = waitTracked(cmd); close(done) }()
	select {
	case <-done:
	case <-time.After(cmdTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within %v", cmd.Args, cmdTimeout)
	}
	return cmd.ProcessState.ExitCode()
}

// waitFor polls cond until it holds, failing the test after 30 s. It is the only way tests wait for state.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		reapOrphans()
		time.Sleep(10 * time.Millisecond)
	}
}

// We are a child subreaper, so container processes whose parent died (an `exec -d` process, an init whose
// runtime was killed) become our children; a zombie keeps its cgroup busy. os/exec reaps only the commands
// it started, so the others are reaped here. children holds the pids os/exec owns; it is written under
// childMu.RLock around Start (many tests start commands at once) and read under childMu.Lock by the reaper,
// so a command cannot be reaped between fork and its registration.
var (
	childMu  sync.RWMutex
	children sync.Map // pid -> struct{}
	lastReap atomic.Int64
)

// startTracked starts cmd, registering it as an os/exec child.
func startTracked(cmd *exec.Cmd) error {
	childMu.RLock()
	defer childMu.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	children.Store(cmd.Process.Pid, struct{}{})
	return nil
}

// waitTracked waits for a command started by startTracked.
func waitTracked(cmd *exec.Cmd) error {
	err := cmd.Wait()
	children.Delete(cmd.Process.Pid)
	return err
}

// runTracked is cmd.Run for tracked commands.
func runTracked(cmd *exec.Cmd) error {
	if err := startTracked(cmd); err != nil {
		return err
	}
	return waitTracked(cmd)
}

// outputTracked is cmd.CombinedOutput for a tracked command (stdout only when cmd.Stderr is set): a command run
// with plain os/exec may be reaped by reapOrphans before os/exec waits for it, and then fails with ECHILD.
func outputTracked(cmd *exec.Cmd) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout = &b
	if cmd.Stderr == nil {
		cmd.Stderr = &b
	}
	err := runTracked(cmd)
	return b.Bytes(), err
}

// runReaping is runTracked that reaps orphans while cmd runs: a process `exec` started is our orphan, and once
// killed, its zombie holds the container's init in zap_pid_ns_processes (the init of a pid namespace exits only when
// every process in it is reaped), so a `delete -f`, which waits for the init, would otherwise wait for us.
func runReaping(cmd *exec.Cmd) error {
	if err := startTracked(cmd); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- waitTracked(cmd) }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(50 * time.Millisecond):
			reapOrphans()
		}
	}
}

// reapOrphans reaps zombie children that os/exec does not own. It scans /proc (this kernel has no
// /proc/PID/task/TID/children), at most every 50 ms across all tests.
func reapOrphans() {
	now := time.Now().UnixNano()
	if last := lastReap.Load(); now-last < int64(50*time.Millisecond) || !lastReap.CompareAndSwap(last, now) {
		return
	}
	childMu.Lock()
	defer childMu.Unlock()
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ours := children.Load(pid); ours {
			continue
		}
		stat := readFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := strings.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		// After "comm)": state, ppid (proc(5)).
		f := strings.Fields(stat[i+1:])
		if len(f) < 2 || f[0] != "Z" || f[1] != strconv.Itoa(self) {
			continue
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
}

// readFile returns the content of path, or "" if it cannot be read.
func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// waitOutput polls the file at path until it contains want, and returns the content.
func waitOutput(t *testing.T, path, want string) string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%q in the container's output", want), func() bool {
		return strings.Contains(readFile(path), want)
	})
	return readFile(path)
}

// defaultSpec is what `runc spec` (1.5) produces, with terminal off, a test hostname and the probe as the
// process: namespaces pid, network, ipc, uts, mount, cgroup; the standard mounts; the default masked and
// read-only paths; the default capabilities.
func defaultSpec() *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User: specs.User{UID: 0, GID: 0},
			Args: []string{"/probe", "self"},
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "rt-test",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// bundle makes a bundle directory: rootfs/ with busybox and its applet links in /bin, the probe at /probe, a
// minimal /etc; config.json from defaultSpec with mutate (if not nil) applied. It returns the bundle's path.
func bundle(t *testing.T, mutate func(*specs.Spec)) string {
	t.Helper()
	dir, err := os.MkdirTemp(env(t).base, "bundle")
	if err != nil {
		t.Fatal(err)
	}
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	s := defaultSpec()
	if mutate != nil {
		mutate(s)
	}
	writeSpec(t, dir, s)
	return dir
}

// makeRootfs fills dir with the test root filesystem.
func makeRootfs(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{
		"bin/busybox": busyboxBin,
		"probe":       probeBin,
		"etc/passwd":  []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
		"etc/group":   []byte("root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"),
	}
	for name, data := range files {
		writeExecutable(t, filepath.Join(dir, name), data)
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !errors.Is(err, fs.ErrExist) {
			t.Fatal(err)
		}
	}
}

// writeExecutable writes a file a container will exec, holding syscall.ForkLock for reading until it is closed.
// The tests start runtimes from many goroutines at once: a child forked while the file is open for writing holds
// that fd until its own execve, and an exec of the file meanwhile fails with ETXTBSY (go.dev/issue/22315) — for
// a container's init, "exec /bin/sh: text file busy" on its stderr and exit status 1 from a foreground run. Go's
// fork takes ForkLock for writing until the child has exec'd (CLONE_VFORK), so no child inherits the fd.
func writeExecutable(t *testing.T, path string, data []byte) {
	t.Helper()
	syscall.ForkLock.RLock()
	err := os.WriteFile(path, data, 0o755)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
}

// writeSpec writes s as dir/config.json.
func writeSpec(t *testing.T, dir string, s *specs.Spec) {
	t.Helper()
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// withArgs is a bundle mutator that sets process.args.
func withArgs(args ...string) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Process.Args = args }
}

// sleeper is a process that runs until killed: busybox sleep as the container's init.
var sleeper = withArgs("sleep", "100000")

// containerState is the runtime's `state` JSON (runtime-spec "State", plus runc's bundle/rootfs/created/owner).
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations"`
}

// state runs `state id` and decodes it.
func state(t *testing.T, id string) containerState {
	t.Helper()
	r := mustRT(t, "state", id)
	var s containerState
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("state %s: %v in %q", id, err, r.Stdout)
	}
	return s
}

// status returns the container's status, or "" if `state` fails (e.g. the container is gone).
func status(t *testing.T, id string) string {
	t.Helper()
	r := rt(t, "state", id)
	if r.Code != 0 {
		return ""
	}
	var s containerState
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		return ""
	}
	return s.Status
}

// waitStatus polls `state` until the container has the given status.
func waitStatus(t *testing.T, id, want string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("container %s to be %s", id, want), func() bool { return status(t, id) == want })
}

// runDetached runs `run -d` of a fresh container from b and waits until it is running. It returns the id and
// the path of the file receiving the container's stdout.
func runDetached(t *testing.T, b string, extra ...string) (id, stdout string) {
	t.Helper()
	id = newID(t)
	args := append([]string{"run", "-d", "--bundle", b}, extra...)
	cmd, out, errPath := rtBackground(t, append(args, id)...)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, readFile(errPath))
	}
	waitStatus(t, id, "running")
	return id, out
}

// The probe's output, as it prints it (tests/probe/report).
type (
	Self  = report.Self
	Mount = report.Mount
	Stat  = report.Stat
	Iface = report.Iface
)

// decode unmarshals the probe's JSON output into v, failing the test with the output on error.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decode probe output: %v in %q", err, out)
	}
}

// runProbe runs a fresh container from a bundle made with mutate and returns the decoded output of its process
// (which mutate must leave a probe subcommand that prints JSON; nil keeps `probe self`).
func runProbe(t *testing.T, mutate func(*specs.Spec), v any) {
	t.Helper()
	b := bundle(t, mutate)
	r := rt(t, "run", "--bundle", b, newID(t))
	if r.Code != 0 {
		t.Fatalf("run: %v", r)
	}
	decode(t, r.Stdout, v)
}

// capMask is the /proc/PID/status hex mask ("%016x") of the named capabilities.
func capMask(t *testing.T, names ...string) string {
	t.Helper()
	var m uint64
	for _, n := range names {
		bit, ok := capBits[n]
		if !ok {
			t.Fatalf("capMask: unknown capability %s", n)
		}
		m |= 1 << bit
	}
	return fmt.Sprintf("%016x", m)
}

// capBits are the capability numbers (linux/capability.h) of the capabilities the tests use.
var capBits = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_SYS_ADMIN": 21,
	"CAP_AUDIT_WRITE": 29, "CAP_SYSLOG": 34,
}

// assertNoLeak checks that nothing of container id is left: no state directory under root, no cgroup named after
// the id (at the hierarchy root, where runc and rt put /<id>, or under our own cgroup, where a relative path
// lands), no host mount mentioning the bundle, no process whose root is inside the bundle. Processes and
// cgroups can take a moment to go after a failed create, so each condition is polled.
func assertNoLeak(t *testing.T, root, id, bundleDir string) {
	t.Helper()
	stateDir := filepath.Join(root, id)
	waitFor(t, "no state dir "+stateDir, func() bool { return !exists(stateDir) })
	for _, cg := range cgroupCandidates(t, id) {
		waitFor(t, "no cgroup "+cg, func() bool { return !exists(cg) })
	}
	real, err := filepath.EvalSymlinks(bundleDir)
	if err != nil {
		real = bundleDir
	}
	waitFor(t, "no mount mentioning "+real, func() bool {
		return !strings.Contains(readFile("/proc/self/mountinfo"), real)
	})
	waitFor(t, "no process rooted in "+real, func() bool { return len(processesRootedIn(real)) == 0 })
}

// exists reports whether path is there; a name too long to exist (ENAMETOOLONG) is not.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENAMETOOLONG)
}

// cgroupCandidates lists the cgroup directories a container id may have been given on this host.
func cgroupCandidates(t *testing.T, id string) []string {
	t.Helper()
	hier, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	sc := bufio.NewScanner(strings.NewReader(readFile("/proc/self/cgroup")))
	for sc.Scan() {
		if parts := strings.SplitN(sc.Text(), ":", 3); len(parts) == 3 && parts[2] != "/" {
			own = append(own, parts[2])
		}
	}
	var out []string
	for _, h := range hier {
		if !h.IsDir() {
			continue
		}
		out = append(out, filepath.Join("/sys/fs/cgroup", h.Name(), id))
		for _, p := range own {
			out = append(out, filepath.Join("/sys/fs/cgroup", h.Name(), p, id))
		}
	}
	return out
}

// processesRootedIn returns the pids whose root directory is dir or below it, or the bundle's rootfs. After
// pivot_root a container process's /proc/PID/root reads as "/" (it is relative to its own mount namespace), so
// the root is also compared by device and inode with the rootfs directories the bundle names.
func processesRootedIn(dir string) []int {
	var roots []unix.Stat_t
	candidates := []string{filepath.Join(dir, "rootfs")}
	var s specs.Spec
	if json.Unmarshal([]byte(readFile(filepath.Join(dir, "config.json"))), &s) == nil && s.Root != nil && s.Root.Path != "" {
		p := s.Root.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		var st unix.Stat_t
		if unix.Stat(c, &st) == nil {
			roots = append(roots, st)
		}
	}
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link := fmt.Sprintf("/proc/%d/root", pid)
		if r, err := os.Readlink(link); err == nil && (r == dir || strings.HasPrefix(r, dir+"/")) {
			pids = append(pids, pid)
			continue
		}
		var st unix.Stat_t
		if unix.Stat(link, &st) != nil {
			continue
		}
		for _, r := range roots {
			if st.Dev == r.Dev && st.Ino == r.Ino {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// oneLine checks the rt error contract: stderr is exactly one line and names want. runc's messages differ in
// wording and shape (logrus text), so on runc only a non-empty stderr is required.
func oneLine(t *testing.T, r result, want string) {
	t.Helper()
	if strings.TrimSpace(r.Stderr) == "" {
		t.Errorf("no error message on stderr: %v", r)
	}
	if isRunc {
		return
	}
	if n := strings.Count(strings.TrimSuffix(r.Stderr, "\n"), "\n"); n != 0 {
		t.Errorf("stderr is %d lines, want 1: %q", n+1, r.Stderr)
	}
	if !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr %q does not name %q", r.Stderr, want)
	}
}

// createFiles creates the files name0, name1, ... (n of them) in dir, closed when t ends. With n == 1 the one
// file is called name.
func createFiles(t *testing.T, dir, name string, n int) []*os.File {
	t.Helper()
	files := make([]*os.File, 0, n)
	for i := range n {
		path := filepath.Join(dir, name)
		if n > 1 {
			path += strconv.Itoa(i)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files
}
