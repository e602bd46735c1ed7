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
