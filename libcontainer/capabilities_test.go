package libcontainer

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// boundingHelperEnv makes the test binary run boundingHelper instead of the tests (TestDropBoundingIgnoresProcfs).
const boundingHelperEnv = "RT_TEST_BOUNDING"

// boundingHelper covers /proc/sys/kernel/cap_last_cap with "3" in a mount namespace of its own, as a container
// allowed to mount could in its procfs, drops the bounding set to CAP_CHOWN alone, and checks that nothing else
// is left in it.
func boundingHelper() error {
	// The mount namespace and the bounding set are the calling thread's.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	fake := filepath.Join(os.Getenv(boundingHelperEnv), "cap_last_cap")
	if err := os.WriteFile(fake, []byte("3\n"), 0o644); err != nil {
		return err
	}
	if err := unix.Mount(fake, "/proc/sys/kernel/cap_last_cap", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cover cap_last_cap: %w", err)
	}
	if err := dropBounding(&specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}}); err != nil {
		return err
	}
	f, err := os.Open("/proc/thread-self/status")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			bnd, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return err
			}
			if bnd != 1<<unix.CAP_CHOWN {
				return fmt.Errorf("bounding set %#x after the drop, want %#x (CAP_CHOWN alone)", bnd, 1<<unix.CAP_CHOWN)
			}
			return nil
		}
	}
	return fmt.Errorf("no CapBnd in /proc/thread-self/status: %v", sc.Err())
}

// TestDropBoundingIgnoresProcfs: the bounding set is dropped to what the config keeps whatever the procfs the
// process sees says the last capability is (dropBounding runs inside the container, in its procfs).
func TestDropBoundingIgnoresProcfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a mount namespace and CAP_SETPCAP")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), boundingHelperEnv+"="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
