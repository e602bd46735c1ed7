package libcontainer

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestMemoryPolicyArgs(t *testing.T) {
	tests := []struct {
		name     string
		mp       specs.LinuxMemoryPolicy
		wantMode int
		wantMask []uint
	}{
		{name: "default", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, wantMode: 0},
		{name: "bind 0", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, wantMode: 2, wantMask: []uint{1}},
		{name: "interleave static", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0-3,7", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, wantMode: 3 | 1<<15, wantMask: []uint{0x8f}},
		{name: "node in the second word", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "64"}, wantMode: 1, wantMask: []uint{0, 1}},
		{name: "bind balancing", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1", Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}}, wantMode: 2 | 1<<13, wantMask: []uint{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if unsafe.Sizeof(uint(0)) != 8 && len(tt.wantMask) > 1 {
				t.Skip("the mask layout is checked for 64-bit words")
			}
			mode, mask, err := memoryPolicyArgs(&tt.mp)
			if err != nil || mode != tt.wantMode || !slices.Equal(mask, tt.wantMask) {
				t.Fatalf("memoryPolicyArgs = %#x, %#x, %v; want %#x, %#x", mode, mask, err, tt.wantMode, tt.wantMask)
			}
		})
	}
}

func TestApplyMemoryPolicy(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/node/node0"); err != nil {
		t.Skip("no NUMA node 0 (a kernel without CONFIG_NUMA)")
	}
	tests := []struct {
		name     string
		mp       specs.LinuxMemoryPolicy
		wantMode int
		wantMask uint
	}{
		{name: "bind 0", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, wantMode: 2, wantMask: 1},
		{name: "interleave 0", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0"}, wantMode: 3, wantMask: 1},
		{name: "preferred 0 static", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, wantMode: 1 | 1<<15, wantMask: 1},
		{name: "default", mp: specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, wantMode: 0, wantMask: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onFreshThread(t, func() error {
				if err := applyMemoryPolicy(&tt.mp); err != nil {
					return err
				}
				// get_mempolicy(2) with flags 0: the calling thread's mode (with its mode flags) and nodemask.
				var mode int32
				mask := make([]uint, 16)
				_, _, errno := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)),
					uintptr(unsafe.Pointer(&mask[0])), uintptr(len(mask))*64, 0, 0, 0)
				if errno != 0 {
					return os.NewSyscallError("get_mempolicy", errno)
				}
				if int(mode) != tt.wantMode || mask[0] != tt.wantMask {
					return fmt.Errorf("get_mempolicy: mode %#x mask %#x, want %#x %#x", mode, mask[0], tt.wantMode, tt.wantMask)
				}
				return nil
			})
		})
	}
}
