package nsenter

import (
	"bytes"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCallerTimerSlack: the constructor raised the timer slack of this test binary's threads, a child started
// through WithCallerTimerSlack has the caller's again, and the thread that started it has rt's again.
func TestCallerTimerSlack(t *testing.T) {
	want := callerTimerSlack
	if want == 0 {
		t.Skip("the caller's timer slack is 1 ms or more: the constructor left it as it was")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if got, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err != nil || got != timerSlack {
		t.Errorf("this thread's timer slack = %d (%v), want %d", got, err, timerSlack)
	}
	var out bytes.Buffer
	cmd := exec.Command("cat", "/proc/self/timerslack_ns")
	cmd.Stdout = &out
	if err := WithCallerTimerSlack(cmd.Start); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != strconv.FormatUint(uint64(want), 10) {
		t.Errorf("the child's timer slack = %s, want the caller's %d", got, want)
	}
	// Still on the locked thread, which must have rt's slack back before it is unlocked.
	if got, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err != nil || got != timerSlack {
		t.Errorf("this thread's timer slack after the start = %d (%v), want %d again", got, err, timerSlack)
	}
}
