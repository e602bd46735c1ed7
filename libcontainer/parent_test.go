package libcontainer

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		ws   unix.WaitStatus
		want int
	}{
		{name: "success", ws: 0, want: 0},
		{name: "exit 3", ws: 3 << 8, want: 3},
		{name: "exit 255", ws: 255 << 8, want: 255},
		{name: "killed", ws: unix.WaitStatus(unix.SIGKILL), want: 137},
		{name: "terminated", ws: unix.WaitStatus(unix.SIGTERM), want: 143},
		{name: "killed with core", ws: unix.WaitStatus(unix.SIGSEGV) | 0x80, want: 139},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.ws); got != tc.want {
				t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tc.ws), got, tc.want)
			}
		})
	}
}
