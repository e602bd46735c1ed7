package libcontainer

// linux.memoryPolicy: validated in the parent (memoryPolicyArgs, from validateLinuxAttrs), applied in `rt init`
// (applyMemoryPolicy): set_mempolicy(2) is per thread and survives execve.

import (
	"fmt"
	"math/bits"
	"os"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/cpulist"
	"github.com/rt-runtime/rt/internal/table"
)

// mempolicyModes maps linux.memoryPolicy.mode to MPOL_* (include/uapi/linux/mempolicy.h).
var mempolicyModes = table.Table[specs.MemoryPolicyModeType, int]{
	{Key: specs.MpolDefault, Val: 0},
	{Key: specs.MpolPreferred, Val: 1},
	{Key: specs.MpolBind, Val: 2},
	{Key: specs.MpolInterleave, Val: 3},
	{Key: specs.MpolLocal, Val: 4},
	{Key: specs.MpolPreferredMany, Val: 5},
	{Key: specs.MpolWeightedInterleave, Val: 6},
}

// mempolicyFlags maps linux.memoryPolicy.flags to the MPOL_F_* mode flags, or'ed into set_mempolicy's mode.
var mempolicyFlags = table.Table[specs.MemoryPolicyFlagType, int]{
	{Key: specs.MpolFStaticNodes, Val: 1 << 15},
	{Key: specs.MpolFRelativeNodes, Val: 1 << 14},
	{Key: specs.MpolFNumaBalancing, Val: 1 << 13},
}

// applyMemoryPolicy calls set_mempolicy(2) with linux.memoryPolicy on the calling thread; the policy is inherited
// by children and kept across execve (set_mempolicy(2)), so it is called on the thread that execs.
func applyMemoryPolicy(mp *specs.LinuxMemoryPolicy) error {
	if mp == nil {
		return nil
	}
	mode, mask, err := memoryPolicyArgs(mp)
	if err != nil {
		return err
	}
	var ptr unsafe.Pointer
	// maxnode counts bits, and the kernel reads only maxnode-1 of them (mm/mempolicy.c get_nodes), hence the +1.
	maxnode := uintptr(0)
	if len(mask) > 0 {
		ptr = unsafe.Pointer(&mask[0])
		maxnode = uintptr(len(mask)*bits.UintSize) + 1
	}
	if _, _, errno := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(ptr), maxnode); errno != 0 {
		return fmt.Errorf("linux.memoryPolicy: %w", os.NewSyscallError("set_mempolicy", errno))
	}
	return nil
}

// memoryPolicyArgs checks linux.memoryPolicy and returns set_mempolicy's mode (with its flags) and node mask (nil
// for no nodes). The rules are set_mempolicy(2)'s EINVAL cases (and mm/mempolicy.c mpol_new), checked here so the
// error names the field. Where runc 1.5 refuses the same input, the message carries its words ("invalid memory
// policy mode ...", "memory policy mode requires ..."), which its users match.
func memoryPolicyArgs(mp *specs.LinuxMemoryPolicy) (int, []uint, error) {
	const field = "linux.memoryPolicy"
	mode, ok := mempolicyModes.Get(mp.Mode)
	if !ok {
		return 0, nil, fieldError(field+".mode", "invalid memory policy mode %q", mp.Mode)
	}
	var flags int
	for i, f := range mp.Flags {
		bit, ok := mempolicyFlags.Get(f)
		if !ok {
			return 0, nil, fieldError(fmt.Sprintf("%s.flags[%d]", field, i), "invalid memory policy flag %q", f)
		}
		flags |= bit
	}
	static, relative := flags&mempolicyFlags.Val(specs.MpolFStaticNodes) != 0, flags&mempolicyFlags.Val(specs.MpolFRelativeNodes) != 0
	if static && relative {
		return 0, nil, fieldError(field+".flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
	}
	if flags&mempolicyFlags.Val(specs.MpolFNumaBalancing) != 0 && mp.Mode != specs.MpolBind {
		return 0, nil, fieldError(field+".flags", "MPOL_F_NUMA_BALANCING needs mode MPOL_BIND, not %s", mp.Mode)
	}
	nodes, err := cpulist.Parse(mp.Nodes)
	if err != nil {
		return 0, nil, fieldError(field+".nodes", "invalid memory policy nodes %q: %v", mp.Nodes, err)
	}
	switch mp.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if len(nodes) > 0 {
			return 0, nil, fieldError(field+".nodes", "memory policy mode requires 0 nodes but got %d (%s)", len(nodes), mp.Mode)
		}
		if mp.Mode == specs.MpolLocal && (static || relative) {
			return 0, nil, fieldError(field+".flags", "MPOL_LOCAL takes neither MPOL_F_STATIC_NODES nor MPOL_F_RELATIVE_NODES")
		}
	case specs.MpolPreferred:
		// No nodes means local allocation, which cannot be static or relative.
		if len(nodes) == 0 && (static || relative) {
			return 0, nil, fieldError(field+".nodes", "MPOL_PREFERRED with MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES needs a node")
		}
	default:
		if len(nodes) == 0 {
			return 0, nil, fieldError(field+".nodes", "memory policy mode requires at least one node but got 0 (%s)", mp.Mode)
		}
	}
	var mask []uint
	if len(nodes) > 0 {
		mask = make([]uint, nodes[len(nodes)-1]/bits.UintSize+1)
		for _, n := range nodes {
			mask[n/bits.UintSize] |= 1 << (uint(n) % bits.UintSize)
		}
	}
	return mode | flags, mask, nil
}
