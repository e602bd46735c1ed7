package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/cgroups"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{name: "simple", id: "abc", ok: true},
		{name: "all allowed characters", id: "Az09_+-.x", ok: true},
		{name: "leading digit", id: "1", ok: true},
		{name: "leading dash", id: "-a", ok: true},
		{name: "leading plus", id: "+a", ok: true},
		{name: "leading underscore", id: "_a", ok: true},
		{name: "inner dots", id: "a..b", ok: true},
		{name: "trailing dot", id: "a.", ok: true},
		{name: "longest", id: strings.Repeat("a", maxIDLen), ok: true},
		{name: "empty", id: ""},
		{name: "dot", id: "."},
		{name: "dot dot", id: ".."},
		{name: "leading dot", id: ".hidden"},
		{name: "slash", id: "a/b"},
		{name: "dot dot slash", id: "../x"},
		{name: "absolute", id: "/etc"},
		{name: "trailing slash", id: "a/"},
		{name: "too long", id: strings.Repeat("a", maxIDLen+1)},
		{name: "too long multibyte", id: strings.Repeat("é", maxIDLen)},
		{name: "unicode", id: "café"},
		{name: "unicode lookalike slash", id: "a\u2215b"},
		{name: "space", id: "a b"},
		{name: "newline", id: "a\n"},
		{name: "nul", id: "a\x00b"},
		{name: "colon", id: "a:b"},
		{name: "tilde", id: "~a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateID(tc.id)
			if tc.ok {
				if err != nil {
					t.Errorf("ValidateID(%q) = %v, want nil", tc.id, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateID(%q) = nil, want an error", tc.id)
			}
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("ValidateID(%q) = %v, not ErrInvalidID", tc.id, err)
			}
			if strings.Contains(err.Error(), ErrInvalidID.Error()) {
				t.Errorf("ValidateID(%q) = %q repeats the class %q", tc.id, err, ErrInvalidID)
			}
		})
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		name   string
		status Status
		want   string
	}{
		// runtime-spec runtime.md "state": created, running, stopped; runc adds paused.
		{name: "created", status: Created, want: "created"},
		{name: "running", status: Running, want: "running"},
		{name: "paused", status: Paused, want: "paused"},
		{name: "stopped", status: Stopped, want: "stopped"},
		{name: "out of range", status: Status(42), want: "stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.status.String(); got != tc.want {
				t.Errorf("Status(%d).String() = %q, want %q", int(tc.status), got, tc.want)
			}
		})
	}
}

func TestClassErr(t *testing.T) {
	cause := fmt.Errorf("open x: %w", fs.ErrNotExist)
	tests := []struct {
		name    string
		err     error
		class   error
		notIs   []error
		wantMsg string
		cause   error
	}{
		{name: "plain", err: classErr(ErrConfig, "config.json: %s: bad", "root.path"), class: ErrConfig,
			notIs: []error{ErrState, ErrNotExist, ErrExist, ErrInvalidID}, wantMsg: "config.json: root.path: bad"},
		{name: "wrapping a cause", err: classErr(ErrNotExist, "container %q: %w", "c1", cause), class: ErrNotExist,
			notIs: []error{ErrConfig}, wantMsg: `container "c1": open x: file does not exist`, cause: fs.ErrNotExist},
		{name: "wrapped again", err: fmt.Errorf("start: %w", classErr(ErrState, "container %q is running", "c2")), class: ErrState,
			notIs: []error{ErrConfig}, wantMsg: `start: container "c2" is running`},
		{name: "class of a class", err: classErr(ErrConfig, "x: %w", classErr(ErrInvalidID, "bad id")), class: ErrConfig,
			wantMsg: "x: bad id", cause: ErrInvalidID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.class) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.class)
			}
			for _, other := range tc.notIs {
				if errors.Is(tc.err, other) {
					t.Errorf("errors.Is(%v, %v) = true", tc.err, other)
				}
			}
			if tc.cause != nil && !errors.Is(tc.err, tc.cause) {
				t.Errorf("errors.Is(%v, cause %v) = false", tc.err, tc.cause)
			}
			if got := tc.err.Error(); got != tc.wantMsg {
				t.Errorf("message %q, want %q", got, tc.wantMsg)
			}
			if strings.Contains(tc.err.Error(), tc.class.Error()) {
				t.Errorf("message %q repeats the class %q", tc.err, tc.class)
			}
		})
	}
}

// startChild runs /bin/sleep under the name comm (a symlink: the kernel takes comm from the exec'd path's base
// name, truncated to 15 bytes) and kills and reaps it when the test ends.
func startChild(t *testing.T, comm string) *exec.Cmd {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	link := filepath.Join(t.TempDir(), comm)
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "1000")
	if err := cmd.Start(); err != nil { // returns once execve has succeeded, so comm is set
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// awaitZombie waits until pid has exited without reaping it (waitid(2) WNOWAIT), so it stays a zombie.
func awaitZombie(t *testing.T, pid int) {
	t.Helper()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			if err != nil {
				t.Fatalf("waitid %d: %v", pid, err)
			}
			return
		}
	}
}

func TestReadProcStat(t *testing.T) {
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatalf("readProcStat(self): %v", err)
	}
	// The thread group leader's state: running or sleeping, depending on which Go thread reads it.
	if self.state != 'R' && self.state != 'S' {
		t.Errorf("own state %q, want 'R' or 'S'", self.state)
	}
	if self.startTime == 0 {
		t.Errorf("own start time is 0")
	}
	again, err := readProcStat(os.Getpid())
	if err != nil || again.startTime != self.startTime {
		t.Errorf("start time changed: %d then %d (%v)", self.startTime, again.startTime, err)
	}

	tests := []struct {
		name, comm string
	}{
		{name: "plain", comm: "sleepy"},
		{name: "spaces", comm: "a b c"},
		{name: "parentheses", comm: "x) (y"},
		{name: "close paren last", comm: "z) R 1 2 3)"},
		{name: "looks like fields", comm: ") S 1 1 1 1 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := startChild(t, tc.comm)
			pid := cmd.Process.Pid
			if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err != nil || strings.TrimSuffix(string(raw), "\n") != tc.comm {
				t.Fatalf("child comm %q (%v), want %q", raw, err, tc.comm)
			}
			st, err := readProcStat(pid)
			if err != nil {
				t.Fatalf("readProcStat: %v", err)
			}
			// proc(5): a sleeping child is S (or R for an instant before it blocks).
			if st.state != 'S' && st.state != 'R' {
				t.Errorf("state %q, want S or R", st.state)
			}
			if st.startTime < self.startTime {
				t.Errorf("child start time %d before ours %d", st.startTime, self.startTime)
			}

			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			awaitZombie(t, pid)
			z, err := readProcStat(pid)
			if err != nil {
				t.Fatalf("readProcStat(zombie): %v", err)
			}
			if z.state != 'Z' || z.startTime != st.startTime {
				t.Errorf("zombie: state %q start %d, want Z and %d", z.state, z.startTime, st.startTime)
			}
			_ = cmd.Wait()
			if _, err := readProcStat(pid); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("readProcStat(reaped) = %v, want fs.ErrNotExist", err)
			}
		})
	}
}

// TestRemoveStateDir checks that the state directory goes whatever it holds: its usual files, more than those (the
// notify socket's directory, a temporary state left by a killed save), or nothing; and that a missing one is fine.
func TestRemoveStateDir(t *testing.T) {
	tests := []struct {
		name  string
		files []string // a trailing / makes a directory
	}{
		{name: "empty"},
		{name: "stopped", files: []string{stateFile}},
		{name: "created", files: []string{stateFile, fifoName}},
		{name: "more", files: []string{stateFile, fifoName, ".state-123", "notify/", "notify/notify.sock"}},
		{name: "only others", files: []string{".state-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c1")
			if err := os.Mkdir(dir, 0o711); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.files {
				p := filepath.Join(dir, f)
				var err error
				switch {
				case strings.HasSuffix(f, "/"):
					err = os.Mkdir(p, 0o755)
				case f == fifoName:
					err = unix.Mkfifo(p, 0o622)
				default:
					err = os.WriteFile(p, []byte("{}"), 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := removeStateDir(dir); err != nil {
				t.Fatalf("removeStateDir: %v", err)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("state directory still there: %v", err)
			}
			if err := removeStateDir(dir); err != nil {
				t.Fatalf("removeStateDir of a missing directory: %v", err)
			}
		})
	}
}

func TestContainerStatus(t *testing.T) {
	cmd := startChild(t, "init")
	pid := cmd.Process.Pid
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		pid       int
		startTime uint64
		fifo      bool
		want      Status
	}{
		{name: "no pid", pid: 0, want: Stopped},
		{name: "negative pid", pid: -1, want: Stopped},
		{name: "fifo present", pid: pid, startTime: st.startTime, fifo: true, want: Created},
		{name: "fifo gone", pid: pid, startTime: st.startTime, want: Running},
		// The pid was reused by another process: runc compares the start time too.
		{name: "start time mismatch", pid: pid, startTime: st.startTime + 1, fifo: true, want: Stopped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.fifo {
				if err := unix.Mkfifo(filepath.Join(dir, fifoName), 0o622); err != nil {
					t.Fatal(err)
				}
			}
			c := &Container{dir: dir, state: State{ID: "c", InitPid: tc.pid, InitStartTime: tc.startTime, Config: &specs.Spec{}}}
			if got := c.Status(); got != tc.want {
				t.Errorf("Status() = %v, want %v", got, tc.want)
			}
			wantPid := tc.pid
			if tc.want == Stopped {
				wantPid = 0 // runc reports pid 0 for a stopped container
			}
			if got := c.Pid(); got != wantPid {
				t.Errorf("Pid() = %d, want %d", got, wantPid)
			}
			oci := c.OCIState()
			if string(oci.Status) != tc.want.String() || oci.Pid != wantPid || oci.ID != "c" || oci.Version != specs.Version {
				t.Errorf("OCIState() = %+v", oci)
			}
		})
	}

	t.Run("zombie", func(t *testing.T) {
		c := &Container{dir: t.TempDir(), state: State{InitPid: pid, InitStartTime: st.startTime, Config: &specs.Spec{}}}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		awaitZombie(t, pid)
		if got := c.Status(); got != Stopped {
			t.Errorf("Status() of a zombie init = %v, want stopped", got)
		}
	})
}

// TestSignalInit checks that kill reaches the init only while its pid still has the init's start time: the pidfd
// Signal opens before the status is derived is trusted only because the status checks the start time after it. A
// process that took a dead init's pid must never get the signal.
func TestSignalInit(t *testing.T) {
	cmd := startChild(t, "init")
	pid := cmd.Process.Pid
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	// A pid namespace of its own, so that SIGKILL goes to the init alone, not to the (absent) cgroup.
	config := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}}}
	container := func(startTime uint64) *Container {
		return &Container{dir: t.TempDir(), state: State{ID: "c", InitPid: pid, InitStartTime: startTime, Config: config}}
	}

	// Another start time: the pid was recycled. Were SIGKILL sent, the process would die of it, not of the
	// SIGTERM below.
	if err := container(st.startTime+1).Signal(unix.SIGKILL, false); !errors.Is(err, ErrState) ||
		err.Error() != "container not running" {
		t.Fatalf("Signal(SIGKILL) of a recycled pid = %v, want %q (ErrState)", err, "container not running")
	}
	if err := container(st.startTime).Signal(unix.SIGTERM, false); err != nil {
		t.Fatalf("Signal(SIGTERM) of the init: %v", err)
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != unix.SIGTERM {
		t.Fatalf("the init ended with %v, want killed by SIGTERM alone", cmd.ProcessState)
	}
	// Gone (reaped): not running.
	if err := container(st.startTime).Signal(unix.SIGTERM, false); !errors.Is(err, ErrState) {
		t.Fatalf("Signal of a reaped init = %v, want ErrState", err)
	}
}

// TestStartRecycledPid: Start of a container whose init's pid now names another process (another start time)
// fails as for a stopped container and leaves that process and the exec fifo alone; with the right start time the
// same process is taken as the init and started.
func TestStartRecycledPid(t *testing.T) {
	cmd := startChild(t, "init")
	pid := cmd.Process.Pid
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		t.Fatal(err)
	}
	// The init's part: its open blocks until a Start opens the fifo for reading.
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			_, _ = f.Write([]byte{'0'})
			f.Close()
		}
	}()
	c := &Container{dir: dir, state: State{ID: "c", InitPid: pid, InitStartTime: st.startTime + 1,
		Config: &specs.Spec{Process: &specs.Process{}}}}
	err = c.Start()
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "has stopped") {
		t.Fatalf("Start with a recycled pid = %v, want ErrState, has stopped", err)
	}
	select {
	case <-wrote:
		t.Error("Start with a recycled pid opened the exec fifo")
	default:
	}
	if got, err := readProcStat(pid); err != nil || got.state == 'Z' {
		t.Errorf("the other process: %v %c, want it alive", err, got.state)
	}
	c.state.InitStartTime = st.startTime
	if err := c.Start(); err != nil {
		t.Fatalf("Start of the init: %v", err)
	}
	<-wrote
	if _, err := os.Lstat(fifo); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("exec fifo after start: %v, want it removed", err)
	}
}

// TestStartZombieInit: an init that exited after create but is not reaped yet (a shim reaps it later) still has its
// pid, so Start's pidfd_open succeeds; the status check must then find it stopped: ErrState, "has stopped", the
// exec fifo left alone, as for an init already gone (pidfd_open's ESRCH) and as runc 1.5 (exit 1, nothing started).
func TestStartZombieInit(t *testing.T) {
	cmd := startChild(t, "init")
	pid := cmd.Process.Pid
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		t.Fatal(err)
	}
	c := &Container{dir: dir, state: State{ID: "c", InitPid: pid, InitStartTime: st.startTime,
		Config: &specs.Spec{Process: &specs.Process{}}}}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	awaitZombie(t, pid)
	if fd, err := unix.PidfdOpen(pid, 0); err != nil {
		t.Fatalf("pidfd_open of the zombie: %v, want it to succeed (the case under test)", err)
	} else {
		unix.Close(fd)
	}
	err = c.Start()
	if !errors.Is(err, ErrState) || err.Error() != `container "c" has stopped: cannot start it` {
		t.Fatalf("Start of a zombie init = %v, want ErrState, has stopped", err)
	}
	if _, err := os.Lstat(fifo); err != nil {
		t.Errorf("exec fifo after a failed start: %v, want it left", err)
	}
	_ = cmd.Wait()
	// Reaped: pidfd_open fails with ESRCH; the same error.
	if err := c.Start(); !errors.Is(err, ErrState) || err.Error() != `container "c" has stopped: cannot start it` {
		t.Fatalf("Start of a reaped init = %v, want ErrState, has stopped", err)
	}
}

func TestSaveLockedAndLoad(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "c1")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	want := State{
		ID: "c1", InitPid: 123, InitStartTime: 456, Bundle: "/b", Rootfs: "/b/rootfs",
		Created:     time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		CgroupPaths: map[string]string{"pids": "/sys/fs/cgroup/pids/c1"},
		Config:      &specs.Spec{Version: specs.Version, Annotations: map[string]string{"a": "b"}},
	}
	c := &Container{dir: dir, state: want}
	for i := range 3 { // overwriting must work as well as creating
		c.state.InitPid = 123 + i
		if err := c.saveLocked(); err != nil {
			t.Fatalf("saveLocked: %v", err)
		}
	}
	want.InitPid = 125
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != stateFile {
		t.Errorf("state dir holds %v, want only %s (temp file left behind?)", entries, stateFile)
	}

	loaded, err := Load(root, "c1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defer loaded.Close()
	if !reflect.DeepEqual(*loaded.State(), want) {
		t.Errorf("Load state = %+v, want %+v", *loaded.State(), want)
	}
	if loaded.ID() != "c1" || loaded.Bundle() != "/b" || loaded.Rootfs() != "/b/rootfs" || loaded.Dir() != dir {
		t.Errorf("accessors: id %q bundle %q rootfs %q dir %q", loaded.ID(), loaded.Bundle(), loaded.Rootfs(), loaded.Dir())
	}

	// While one Container is open, nobody else may take the lock.
	if locked := tryLock(t, dir); locked {
		t.Error("state directory not locked while the container is open")
	}
	if err := loaded.Close(); err != nil {
		t.Fatal(err)
	}
	if locked := tryLock(t, dir); !locked {
		t.Error("state directory still locked after Close")
	}
	if err := loaded.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestReadWithoutLock: Read answers while another process holds the container's lock, and a directory without a
// state file (a create in progress) is ErrNotExist and left alone.
func TestReadWithoutLock(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "c1")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	c := &Container{dir: dir, state: State{ID: "c1", InitPid: 7, Config: &specs.Spec{}}}
	if err := c.saveLocked(); err != nil {
		t.Fatal(err)
	}
	held, err := Load(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r, err := Read(root, "c1")
	if err != nil {
		t.Fatalf("Read while locked: %v", err)
	}
	if r.State().InitPid != 7 {
		t.Errorf("Read state %+v, want init pid 7", r.State())
	}
	if err := r.Close(); err != nil || tryLock(t, dir) {
		t.Errorf("Close of a Read container: %v; it must not touch the holder's lock", err)
	}

	creating := filepath.Join(root, "c2")
	if err := os.Mkdir(creating, 0o711); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(root, "c2"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Read of a container without state: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(creating); err != nil {
		t.Errorf("Read removed a container being created: %v", err)
	}
}

// TestReplaceFileFails: a save that cannot be renamed into place leaves the old target and no temp file.
func TestReplaceFileFails(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, stateFile)
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil { // a non-empty directory: rename fails
		t.Fatal(err)
	}
	if err := replaceFile(target, []byte("{}")); err == nil {
		t.Fatal("replaceFile over a non-empty directory: no error")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != stateFile {
		t.Errorf("dir holds %v, want only %s (temp file left behind?)", entries, stateFile)
	}
}

// TestRemoveStateDirEntries: the state directory goes whatever it holds: its usual entries, or more.
func TestRemoveStateDirEntries(t *testing.T) {
	for name, entries := range map[string][]string{
		"empty": nil, "state": {stateFile}, "state and fifo": {stateFile, fifoName},
		"more": {stateFile, fifoName, "notify/notify.sock", "other"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c1")
			if err := os.Mkdir(dir, 0o711); err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				p := filepath.Join(dir, e)
				if err := os.MkdirAll(filepath.Dir(p), 0o711); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := removeStateDir(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state directory still there: %v", err)
			}
		})
	}
}

// tryLock reports whether an exclusive flock on dir can be taken right now (and releases it).
func tryLock(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.EWOULDBLOCK {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		setup     func(t *testing.T, dir string) // dir is <root>/<id>, not yet created
		class     error
		wantGone  bool // the state directory is removed
		wantKept  bool // the state directory is left alone
		notExists bool
	}{
		{name: "unknown id", id: "nope", setup: func(*testing.T, string) {}, class: ErrNotExist},
		{name: "invalid id", id: "../etc", setup: func(*testing.T, string) {}, class: ErrInvalidID},
		{name: "dot dot", id: "..", setup: func(*testing.T, string) {}, class: ErrInvalidID},
		{name: "half-created", id: "half", setup: func(t *testing.T, dir string) {
			mustMkdir(t, dir)
		}, class: ErrNotExist, wantGone: true},
		{name: "corrupt state", id: "bad", setup: func(t *testing.T, dir string) {
			mustMkdir(t, dir)
			if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, class: ErrUnreadable, wantKept: true},
		{name: "empty state", id: "empty", setup: func(t *testing.T, dir string) {
			mustMkdir(t, dir)
			if err := os.WriteFile(filepath.Join(dir, stateFile), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, class: ErrUnreadable, wantKept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, tc.id)
			tc.setup(t, dir)
			c, err := Load(root, tc.id)
			if err == nil {
				c.Close()
				t.Fatal("Load succeeded")
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("Load error %v is not %v", err, tc.class)
			}
			if tc.class == nil && errors.Is(err, ErrNotExist) {
				t.Errorf("Load error %v is ErrNotExist; a corrupt state is not a missing container", err)
			}
			if tc.wantGone {
				if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("half-created state dir not removed: %v", err)
				}
			}
			if tc.wantKept {
				if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
					t.Errorf("state dir touched: %v", err)
				}
			}
			if errors.Is(err, ErrUnreadable) {
				if err := RemoveUnreadable(root, tc.id); err != nil {
					t.Fatalf("RemoveUnreadable: %v", err)
				}
				if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("RemoveUnreadable left %s: %v", dir, err)
				}
			}
		})
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
}

func TestList(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"b", "a", ".hidden", "with space"} {
		mustMkdir(t, filepath.Join(root, d))
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !slices.Equal(ids, want) {
		t.Errorf("List = %q, want %q", ids, want)
	}
	ids, err = List(filepath.Join(root, "missing"))
	if !errors.Is(err, os.ErrNotExist) || len(ids) != 0 {
		t.Errorf("List(missing root) = %q, %v; want none and os.ErrNotExist", ids, err)
	}
}

func TestStateJSON(t *testing.T) {
	// The on-disk names are rt's own, but they must stay stable across versions: a newer rt reads older state.
	data, err := json.Marshal(&State{ID: "x", InitPid: 1, InitStartTime: 2, Bundle: "/b", Rootfs: "/r"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"id":"x"`, `"init_pid":1`, `"init_start_time":2`, `"bundle":"/b"`, `"rootfs":"/r"`, `"created":`, `"config":null`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("state JSON %s lacks %s", data, key)
		}
	}
	if strings.Contains(string(data), "cgroup_paths") {
		t.Errorf("state JSON %s has empty cgroup_paths", data)
	}
}

// TestLoadAfterReplace: a Load waiting for the lock while a delete removes the directory and a create renames a new
// one to the name takes the old directory's lock, which does not cover the new one: it must find no container, not
// read (or remove, when its state is not written yet) the new one.
func TestLoadAfterReplace(t *testing.T) {
	for _, withState := range []bool{true, false} {
		t.Run(fmt.Sprintf("state written %v", withState), func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "c1")
			mustMkdir(t, dir)
			c := &Container{dir: dir, state: State{ID: "c1", InitPid: 1}}
			if err := c.saveLocked(); err != nil {
				t.Fatal(err)
			}
			holder, err := lockDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			var st unix.Stat_t
			if err := unix.Fstat(int(holder.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			type result struct {
				c   *Container
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := Load(root, "c1")
				done <- result{c, err}
			}()
			// Poll /proc/locks until the Load blocks on the old directory's lock ("->": a waiter).
			waiting := fmt.Sprintf(":%d ", st.Ino)
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				locks, err := os.ReadFile("/proc/locks")
				if err != nil {
					t.Fatal(err)
				}
				if slices.ContainsFunc(strings.Split(string(locks), "\n"), func(l string) bool {
					return strings.Contains(l, "->") && strings.Contains(l, waiting)
				}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("Load never waited for the lock")
				}
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(root, ".new~c1~x")
			mustMkdir(t, tmp)
			if withState {
				n := &Container{dir: tmp, state: State{ID: "c1", InitPid: 2}}
				if err := n.saveLocked(); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Rename(tmp, dir); err != nil {
				t.Fatal(err)
			}
			holder.Close()
			r := <-done
			if r.c != nil {
				r.c.Close()
			}
			if !errors.Is(r.err, ErrNotExist) {
				t.Errorf("Load after the directory was replaced: container %v, error %v; want ErrNotExist", r.c != nil, r.err)
			}
			if _, err := os.Stat(dir); err != nil {
				t.Error("Load removed the new container's directory")
			}
		})
	}
}

// TestDecodeStateView checks that Load and Read's decoding keeps the fields the lifecycle commands read, and that
// Config still gives the whole config.
func TestDecodeStateView(t *testing.T) {
	pidsLimit := int64(5)
	spec := &specs.Spec{
		Version:     "1.2.0",
		Process:     &specs.Process{Args: []string{"/bin/true"}, Cwd: "/"},
		Hostname:    "h",
		Annotations: map[string]string{"a": "b"},
		Hooks:       &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
		Linux: &specs.Linux{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
			CgroupsPath: "/x",
			Resources:   &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pidsLimit}},
		},
	}
	data, err := json.Marshal(State{ID: "c1", InitPid: 7, Config: spec})
	if err != nil {
		t.Fatal(err)
	}
	var c Container
	if err := c.decodeState(data, false); err != nil {
		t.Fatal(err)
	}
	v := c.state.Config
	if c.state.ID != "c1" || c.state.InitPid != 7 || v.Version != "1.2.0" || v.Annotations["a"] != "b" ||
		len(v.Hooks.Poststop) != 1 || len(v.Linux.Namespaces) != 1 || !c.hasProcess {
		t.Fatalf("view = %+v, state %+v, hasProcess %v", v, c.state, c.hasProcess)
	}
	if v.Process != nil || v.Hostname != "" || v.Linux.Resources != nil {
		t.Fatalf("view decoded more than configView: %+v", v)
	}
	// A save after Load writes the whole config back, not the view.
	c.dir = t.TempDir()
	if err := c.saveLocked(); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(c.dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Config, spec) {
		t.Fatalf("saved config = %+v, want %+v", st.Config, spec)
	}
	full, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full, spec) {
		t.Fatalf("Config() = %+v, want %+v", full, spec)
	}

	// Read's brief decoding keeps what Status, state, list and Kill read, and drops the rest.
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	data, err = json.Marshal(State{
		ID: "c1", InitPid: 7, InitStartTime: 8, Bundle: "/b", Rootfs: "/b/r", Created: created,
		CgroupPaths: map[string]string{"freezer": "/f"}, CgroupUnit: &cgroups.SystemdUnit{Name: "u.scope"},
		Creating: true, Namespaces: []NamespaceID{{Type: "pid", Dev: 1, Ino: 2}}, Config: spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "c1"), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "c1", stateFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Read(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := State{
		ID: "c1", InitPid: 7, InitStartTime: 8, Bundle: "/b", Rootfs: "/b/r", Created: created,
		CgroupPaths: map[string]string{"freezer": "/f"}, CgroupUnit: &cgroups.SystemdUnit{Name: "u.scope"},
		Creating: true, Config: &specs.Spec{Version: "1.2.0", Annotations: map[string]string{"a": "b"}},
	}
	if !reflect.DeepEqual(r.state, want) {
		t.Fatalf("brief state = %+v, want %+v", r.state, want)
	}
	if full, err := r.Config(); err != nil || !reflect.DeepEqual(full, spec) {
		t.Fatalf("Config() after the brief decoding = %+v, %v; want %+v", full, err, spec)
	}
}

// TestDecodeStateProcess checks how Load's decoding tells whether the config has a process (start refuses one
// without), without decoding it.
func TestDecodeStateProcess(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want bool
	}{
		{name: "process", cfg: `{"process":{"args":["/bin/true"],"cwd":"/"}}`, want: true},
		{name: "empty process", cfg: `{"process":{}}`, want: true},
		{name: "null", cfg: `{"process":null}`, want: false},
		{name: "absent", cfg: `{"ociVersion":"1.2.0"}`, want: false},
		{name: "no config", cfg: `null`, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Container
			if err := c.decodeState([]byte(`{"id":"c1","config":`+tc.cfg+`}`), false); err != nil {
				t.Fatal(err)
			}
			if c.hasProcess != tc.want {
				t.Errorf("hasProcess = %v, want %v", c.hasProcess, tc.want)
			}
		})
	}
}

// TestReload: Reload is a Load that keeps the state it saved while the file is still what it wrote, and decodes
// the file when anything else has written it since; a container deleted meanwhile is ErrNotExist, and so is
// another container created under the id since (another init), which `run` must not delete.
func TestReload(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "c1")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	spec := &specs.Spec{Version: specs.Version, Process: &specs.Process{Args: []string{"sh"}}, Hostname: "h"}
	c := &Container{dir: dir, state: State{ID: "c1", InitPid: 1, InitStartTime: 10, Bundle: "/b", Config: spec}}
	if err := c.saveLocked(); err != nil {
		t.Fatal(err)
	}

	same, err := c.Reload()
	if err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if same.raw != nil || same.state.Config != spec || same.state.InitPid != 1 {
		t.Errorf("Reload of an unchanged state decoded it again (raw %d bytes, config %p, pid %d)",
			len(same.raw), same.state.Config, same.state.InitPid)
	}
	if locked := tryLock(t, dir); locked {
		t.Error("state directory not locked after Reload")
	}
	same.Close()

	// Another process saves a new state (an update): the next Reload reads it.
	updated := *spec
	updated.Hostname = "h2"
	other := &Container{dir: dir, state: State{ID: "c1", InitPid: 1, InitStartTime: 10, Bundle: "/b", Config: &updated}}
	if err := other.saveLocked(); err != nil {
		t.Fatal(err)
	}
	changed, err := c.Reload()
	if err != nil {
		t.Fatalf("Reload after a change: %v", err)
	}
	if changed.raw == nil {
		t.Error("Reload after a change kept the old state")
	}
	if cfg, err := changed.Config(); err != nil || cfg.Hostname != "h2" {
		t.Errorf("Config after Reload = %+v, %v", cfg, err)
	}
	changed.Close()

	// The container was deleted and another created under its id: another init, not c's container.
	for _, init := range []struct {
		pid   int
		start uint64
	}{{2, 10}, {1, 11}} {
		next := &Container{dir: dir, state: State{ID: "c1", InitPid: init.pid, InitStartTime: init.start, Bundle: "/b", Config: spec}}
		if err := next.saveLocked(); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Reload(); !errors.Is(err, ErrNotExist) {
			t.Errorf("Reload with init %d started at %d: %v, want ErrNotExist", init.pid, init.start, err)
			if err == nil {
				got.Close()
			}
		}
		if locked := tryLock(t, dir); !locked {
			t.Error("state directory of another container left locked by Reload")
		}
	}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reload(); !errors.Is(err, ErrNotExist) {
		t.Errorf("Reload of a deleted container: %v, want ErrNotExist", err)
	}
}
