package libcontainer

import (
	"bufio"
	"errors"
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

	"github.com/rt-runtime/rt/libcontainer/seccomp"
)

// boundingHelperEnv makes the test binary run boundingHelper instead of the tests: "procfs:DIR" or "seccomp"
// (TestDropBoundingIgnoresProcfs, TestDropBoundingRefusedEINVAL).
const boundingHelperEnv = "RT_TEST_BOUNDING"

// boundingHelper drops the bounding set to CAP_CHOWN alone on a thread of its own and checks what is left. With
// "procfs:DIR" it first covers /proc/sys/kernel/cap_last_cap with "3" in a mount namespace of its own, as a
// container allowed to mount could in its procfs: nothing but CAP_CHOWN may be left. With "seccomp" it first
// loads a filter that answers PR_CAPBSET_DROP with EINVAL, as a config's filter loaded before the drop could:
// the drop must fail, not stop as if the kernel knew no capability.
func boundingHelper() error {
	// The mount namespace, the filter and the bounding set are the calling thread's.
	runtime.LockOSThread()
	mode, dir, _ := strings.Cut(os.Getenv(boundingHelperEnv), ":")
	switch mode {
	case "procfs":
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make / private: %w", err)
		}
		fake := filepath.Join(dir, "cap_last_cap")
		if err := os.WriteFile(fake, []byte("3\n"), 0o644); err != nil {
			return err
		}
		if err := unix.Mount(fake, "/proc/sys/kernel/cap_last_cap", "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("cover cap_last_cap: %w", err)
		}
	case "seccomp":
		einval := uint(unix.EINVAL)
		filter, err := seccomp.Compile(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{
				Names: []string{"prctl"}, Action: specs.ActErrno, ErrnoRet: &einval,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.PR_CAPBSET_DROP, Op: specs.OpEqualTo}},
			}},
		})
		if err != nil {
			return err
		}
		if _, err := filter.Load(); err != nil {
			return err
		}
		err = dropBounding(&specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}})
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("dropBounding with PR_CAPBSET_DROP refused: %v, want EINVAL", err)
		}
		return nil
	default:
		return fmt.Errorf("%s=%q: procfs:DIR or seccomp", boundingHelperEnv, os.Getenv(boundingHelperEnv))
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

// runBoundingHelper runs boundingHelper in a child test binary with RT_TEST_BOUNDING=mode.
func runBoundingHelper(t *testing.T, mode string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a mount namespace, a seccomp filter without no_new_privs, and CAP_SETPCAP")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), boundingHelperEnv+"="+mode)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

// TestDropBoundingIgnoresProcfs: the bounding set is dropped to what the config keeps whatever the procfs the
// process sees says the last capability is (dropBounding runs inside the container, in its procfs).
func TestDropBoundingIgnoresProcfs(t *testing.T) {
	runBoundingHelper(t, "procfs:"+t.TempDir())
}

// TestDropBoundingRefusedEINVAL: an EINVAL for a capability every kernel knows is an error, not the end of the
// kernel's list that leaves the rest of the bounding set in place.
func TestDropBoundingRefusedEINVAL(t *testing.T) {
	runBoundingHelper(t, "seccomp")
}
