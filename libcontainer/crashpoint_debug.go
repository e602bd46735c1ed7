//go:build rtcrashpoint

package libcontainer

import (
	"os"

	"golang.org/x/sys/unix"
)

// crashpoint kills rt with SIGKILL at the step RT_CRASH_AT names, as a manager's timeout or the OOM killer would.
// Only in the crash test's build (tag rtcrashpoint); see crashpoint.go.
func crashpoint(step string) {
	if os.Getenv("RT_CRASH_AT") == step {
		_ = unix.Kill(os.Getpid(), unix.SIGKILL)
		select {} // SIGKILL is delivered before the kill returns to user space; never go on past the step
	}
}
