package integration

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestExeNotWritable reproduces CVE-2019-5736: a process holding /proc/<pid>/exe of a runtime process that entered
// the container must not be able to write the runtime's binary through it once that process is gone. The created
// container's init is `rt init` waiting on its exec fifo; the test holds its exe, kills it, and tries to write the
// binary's first byte back unchanged (so a failure of the protection changes nothing).
func TestExeNotWritable(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	pid := state(t, id).Pid
	held, err := os.Open("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatalf("open the init's exe: %v", err)
	}
	defer held.Close()
	mustRT(t, "delete", "--force", id)

	first := make([]byte, 1)
	if _, err := held.ReadAt(first, 0); err != nil {
		t.Fatalf("read the init's exe: %v", err)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(int(held.Fd())), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return // EROFS (read-only mount) or ETXTBSY: protected
	}
	defer unix.Close(fd)
	if _, err := unix.Pwrite(fd, first, 0); err == nil {
		t.Fatalf("the runtime's binary is writable through /proc/%d/exe of its init (CVE-2019-5736)", pid)
	}
}

// TestInitNotDumpable: while a container is created and not started, its init is still `rt init`, holding the exec
// fifo and a handle on the host's procfs. A process exec'd into the container (root, same uid, no CAP_SYS_PTRACE)
// must not reach those fds through /proc/1/fd (CVE-2016-9962 class): the init stays non-dumpable until it execs.
// The trailing slash makes lstat follow each fd's magic link, which needs ptrace access to the init.
func TestInitNotDumpable(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc leaves its created init dumpable (it holds no host directory fd, only the fifo)")
	b := bundle(t, sleeper)
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	defer rt(t, "delete", "--force", id)
	args := []string{"exec", id, "/probe", "stat"}
	for fd := range 16 {
		args = append(args, "/proc/1/fd/"+strconv.Itoa(fd)+"/")
	}
	var stats []Stat
	decode(t, mustRT(t, args...).Stdout, &stats)
	reached := 0
	for _, s := range stats {
		switch s.Error {
		case "ENOENT": // no such fd
		case "EACCES":
			reached++
		default:
			t.Errorf("%s from inside the container: %q (type %q), want EACCES: the created init's fds are reachable", s.Path, s.Error, s.Type)
		}
	}
	if reached < 3 {
		t.Errorf("only %d of /proc/1/fd/0..15 exist, want at least stdio: %+v", reached, stats)
	}
}
