package libcontainer

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestApplyPersonality(t *testing.T) {
	tests := []struct {
		name string
		per  *specs.LinuxPersonality
		want uintptr
	}{
		{name: "LINUX32", per: &specs.LinuxPersonality{Domain: specs.PerLinux32}, want: 0x0008},
		{name: "LINUX", per: &specs.LinuxPersonality{Domain: specs.PerLinux}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onFreshThread(t, func() error {
				if err := applyPersonality(tt.per); err != nil {
					return err
				}
				got, _, _ := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0) // 0xffffffff queries
				if got != tt.want {
					return fmt.Errorf("personality = %#x, want %#x", got, tt.want)
				}
				return nil
			})
		})
	}
}
