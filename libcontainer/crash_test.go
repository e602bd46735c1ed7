package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestStatusUncommitted: the state of a create that has not committed is "creating" to a reader without the lock
// while its creator holds it, and "stopped" once the creator is gone, even with the init still alive (it exits
// on its own, awaitCommit); the creator itself sees its container as the live process says.
func TestStatusUncommitted(t *testing.T) {
	cmd := startChild(t, "init")
	st, err := readProcStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, fifoName), 0o622); err != nil {
		t.Fatal(err)
	}
	state := State{ID: "c", InitPid: cmd.Process.Pid, InitStartTime: st.startTime, Creating: true, Config: &specs.Spec{}}

	creator, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	reader := &Container{dir: dir, state: state}
	if got := reader.Status(); got != Creating {
		t.Errorf("Status() read without the lock while the creator holds it = %v, want creating", got)
	}
	own := &Container{dir: dir, lock: creator, creator: true, state: state}
	if got := own.Status(); got != Created {
		t.Errorf("Status() in the creator = %v, want created", got)
	}
	creator.Close() // the creator dies

	if got := reader.Status(); got != Stopped {
		t.Errorf("Status() read without the lock after the creator died = %v, want stopped", got)
	}
	lock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	loaded := &Container{dir: dir, lock: lock, state: state}
	if got, pid := loaded.Status(), loaded.Pid(); got != Stopped || pid != 0 {
		t.Errorf("Status(), Pid() under the lock after the creator died = %v, %d, want stopped, 0", got, pid)
	}
	if got := Creating.String(); got != "creating" {
		t.Errorf("Creating.String() = %q", got)
	}
}

// TestDeleteUncommitted: delete of a state whose create was killed before it committed kills the init it recorded,
// although the status is stopped (the init is alive but never gets the commit): Delete skips the kill for a stopped
// container, but not for this one.
func TestDeleteUncommitted(t *testing.T) {
	cmd := startChild(t, "init")
	st, err := readProcStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	c := loadWritten(t, root, State{
		ID: "c", InitPid: cmd.Process.Pid, InitStartTime: st.startTime, Creating: true, Config: &specs.Spec{},
	})
	if got := c.Status(); got != Stopped {
		t.Fatalf("Status() = %v, want stopped", got)
	}
	if err := c.Delete(false); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// Delete waits until the init has exited: it is a zombie now, not reaped.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil ||
		info.Signo != int32(unix.SIGCHLD) {
		t.Errorf("the recorded init has not exited after Delete (waitid: %v, signo %d)", err, info.Signo)
	}
	if _, err := os.Lstat(filepath.Join(root, "c")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state directory still there: %v", err)
	}
}

// TestPlaceFd: the exe handle ends up where os/exec's shuffling in the child cannot write: in [low, high) when
// there is room there, else at or above above.
func TestPlaceFd(t *testing.T) {
	open := func() *os.File {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := open()
	fd := int(f.Fd())
	if g, err := placeFd(f, fd, fd+1, 1000); err != nil || int(g.Fd()) != fd {
		t.Errorf("placeFd of an fd already in [low, high) moved it: %v, %v", g, err)
	} else {
		g.Close()
	}
	f = open()
	fd = int(f.Fd())
	g, err := placeFd(f, fd+1, fd+2, 500)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(g.Fd()); got != fd+1 && got < 500 {
		t.Errorf("placeFd(low %d, high %d, above 500) = fd %d", fd+1, fd+2, got)
	}
	g.Close()
}

// TestReadConfig: only a regular file of at most maxConfigSize bytes is read, and a FIFO does not block.
func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxConfigSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	max := filepath.Join(dir, "max")
	if err := os.WriteFile(max, make([]byte, maxConfigSize), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "not a regular file (a FIFO)"},
		{"/dev/zero", "not a regular file (a character device)"},
		{dir, "not a regular file (a directory)"},
		{big, "larger than 4 MiB"},
		{max, ""},
	} {
		_, err := readConfig(tc.path)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("readConfig(%s) = %v, want %q", tc.path, err, tc.want)
		}
		// The refusals are config errors whose one line starts with the path, as main prints them.
		if want := tc.path + ": " + tc.want; tc.want != "" && (!errors.Is(err, ErrConfig) || err.Error() != want) {
			t.Errorf("readConfig(%s) = %v, want %q (ErrConfig)", tc.path, err, want)
		}
	}
}

// TestReadConfigSyscallErrors: readConfig's bare open(2), fstat(2) and read(2) fail as *os.File's did, an
// *os.PathError naming the syscall and the path, so `rt create` prints the same line as before (and runc's
// "open .../config.json: no such file or directory"), and errors.Is finds the errno's class.
func TestReadConfigSyscallErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Regular by fstat, but read(2) at offset 0 of /proc/self/mem fails: nothing is mapped there.
	mem := filepath.Join(dir, "mem")
	if err := os.Symlink("/proc/self/mem", mem); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
		errno      error
	}{
		{missing, "open " + missing + ": no such file or directory", unix.ENOENT},
		{sock, "open " + sock + ": no such device or address", unix.ENXIO},
		{mem, "read " + mem + ": input/output error", unix.EIO},
	} {
		_, err := readConfig(tc.path)
		var pe *os.PathError
		if err == nil || err.Error() != tc.want || !errors.As(err, &pe) || !errors.Is(err, tc.errno) {
			t.Errorf("readConfig(%s) = %v, want %q (*os.PathError, %v)", tc.path, err, tc.want, tc.errno)
		}
	}
	if _, err := readConfig(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readConfig(missing) = %v, want fs.ErrNotExist", err)
	}
}

// pollerHelperEnv makes the test binary run pollerHelper on the file it names instead of the tests.
const pollerHelperEnv = "RT_TEST_POLLER"

// pollerHelper reads path with readConfig in a fresh process and reports whether that set up the runtime's poller,
// whose epoll fd would then be among the process's: 0 no, 1 yes, 2 the poller was there before (nothing learnt).
func pollerHelper(path string) int {
	if hasEpollFd() {
		return 2
	}
	if _, err := readConfig(path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if hasEpollFd() {
		fmt.Fprintln(os.Stderr, "readConfig set up the poller")
		return 1
	}
	return 0
}

// hasEpollFd reports whether the process has an epoll fd open.
func hasEpollFd() bool {
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); l == "anon_inode:[eventpoll]" {
			return true
		}
	}
	return false
}

// TestReadConfigNoPoller: readConfig leaves the runtime's poller alone (in `rt run` nothing else sets it up).
func TestReadConfigNoPoller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"ociVersion":"1.2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), pollerHelperEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 2 {
		t.Skip("the test binary sets up the poller before TestMain: nothing to learn")
	}
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

// TestPendingStateDirs: each create prepares its own directory under root; RemovePending removes those of the id
// whose lock is free (killed creates), never one a create holds nor another id's.
func TestPendingStateDirs(t *testing.T) {
	root := t.TempDir()
	held, lock, err := newStateDir(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	other, otherLock, err := newStateDir(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	if other == held {
		t.Fatalf("two creates of one id got the same directory %s", held)
	}
	otherLock.Close() // killed before its rename
	similar, similarLock, err := newStateDir(root, "a.b")
	if err != nil {
		t.Fatal(err)
	}
	similarLock.Close()
	if ids, err := List(root); err != nil || len(ids) != 0 {
		t.Errorf("List sees prepared directories: %v, %v", ids, err)
	}
	RemovePending(root, "a")
	if _, err := os.Stat(other); err == nil {
		t.Errorf("RemovePending left the killed create's %s", other)
	}
	if _, err := os.Stat(held); err != nil {
		t.Errorf("RemovePending removed the directory a create holds: %v", err)
	}
	if _, err := os.Stat(similar); err != nil {
		t.Errorf("RemovePending(a) removed a.b's directory: %v", err)
	}
	if fi, err := os.Stat(held); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("prepared directory mode: %v, %v", fi, err)
	}
}

// TestDeleteCgroupError: a delete whose cgroup cannot be removed fails with the error said once ("remove cgroup:
// rmdir ...", not "remove cgroup: remove cgroup: ...") and keeps the state, so that a later delete can retry.
func TestDeleteCgroupError(t *testing.T) {
	root := t.TempDir()
	// Under a regular file: rmdir(2) fails with ENOTDIR, an error Destroy does not retry.
	notDir := filepath.Join(root, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cg := filepath.Join(notDir, "c")
	c := loadWritten(t, root, State{ID: "c", CgroupPaths: map[string]string{"pids": cg}, Config: &specs.Spec{}})
	err := c.Delete(false)
	if want := "remove cgroup: rmdir " + cg + ": not a directory"; err == nil || err.Error() != want {
		t.Errorf("Delete = %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(root, "c", stateFile)); err != nil {
		t.Errorf("state after a failed delete: %v", err)
	}
}

// loadWritten writes st as the state file of container st.ID under root and loads it; the container is closed when
// the test ends.
func loadWritten(t *testing.T, root string, st State) *Container {
	t.Helper()
	dir := filepath.Join(root, st.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(root, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
