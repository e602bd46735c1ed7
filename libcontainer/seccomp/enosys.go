package seccomp

import (
	"fmt"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// The -ENOSYS stub, runc's behaviour (its libcontainer/seccomp/patchbpf): under a profile whose default action
// denies, a syscall numbered above every syscall the profile names for its architecture is one the profile's
// author could not have known, most likely newer than the profile, and it fails with ENOSYS instead of the default
// action, so that libc and programs fall back to the older call they would use on an older kernel (clone3 ->
// clone, faccessat2 -> faccessat, statx -> fstatat); with EPERM they would give up. The stub is a short BPF
// program of rt's own placed in front of libseccomp's: for each architecture in the profile (and the native one)
// it compares the syscall number with the largest one named and either returns ENOSYS or falls through to
// libseccomp's program, which starts again from the seccomp_data.

const (
	// x32Bit marks a syscall made in the x32 ABI on AUDIT_ARCH_X86_64 (__X32_SYSCALL_BIT, asm/unistd.h); libseccomp's
	// x32 syscall numbers include it.
	x32Bit = 0x40000000
	// retENOSYS is SECCOMP_RET_ERRNO with ENOSYS in its data (linux/seccomp.h).
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	// Offsets in struct seccomp_data (linux/seccomp.h): nr, then arch.
	offNr   = 0
	offArch = 4
)

// auditArchs is the kernel's AUDIT_ARCH_* value, the seccomp_data.arch a syscall of each libseccomp architecture
// carries (linux/audit.h). x32 shares AUDIT_ARCH_X86_64 with amd64 and is told apart by x32Bit.
var auditArchs = table.Table[libseccomp.ScmpArch, uint32]{
	{Key: libseccomp.ArchX86, Val: unix.AUDIT_ARCH_I386},
	{Key: libseccomp.ArchAMD64, Val: unix.AUDIT_ARCH_X86_64},
	{Key: libseccomp.ArchX32, Val: unix.AUDIT_ARCH_X86_64},
	{Key: libseccomp.ArchARM, Val: unix.AUDIT_ARCH_ARM},
	{Key: libseccomp.ArchARM64, Val: unix.AUDIT_ARCH_AARCH64},
	{Key: libseccomp.ArchMIPS, Val: unix.AUDIT_ARCH_MIPS},
	{Key: libseccomp.ArchMIPS64, Val: unix.AUDIT_ARCH_MIPS64},
	{Key: libseccomp.ArchMIPS64N32, Val: unix.AUDIT_ARCH_MIPS64N32},
	{Key: libseccomp.ArchMIPSEL, Val: unix.AUDIT_ARCH_MIPSEL},
	{Key: libseccomp.ArchMIPSEL64, Val: unix.AUDIT_ARCH_MIPSEL64},
	{Key: libseccomp.ArchMIPSEL64N32, Val: unix.AUDIT_ARCH_MIPSEL64N32},
	{Key: libseccomp.ArchPPC, Val: unix.AUDIT_ARCH_PPC},
	{Key: libseccomp.ArchPPC64, Val: unix.AUDIT_ARCH_PPC64},
	{Key: libseccomp.ArchPPC64LE, Val: unix.AUDIT_ARCH_PPC64LE},
	{Key: libseccomp.ArchS390, Val: unix.AUDIT_ARCH_S390},
	{Key: libseccomp.ArchS390X, Val: unix.AUDIT_ARCH_S390X},
	{Key: libseccomp.ArchPARISC, Val: unix.AUDIT_ARCH_PARISC},
	{Key: libseccomp.ArchPARISC64, Val: unix.AUDIT_ARCH_PARISC64},
	{Key: libseccomp.ArchRISCV64, Val: unix.AUDIT_ARCH_RISCV64},
	{Key: libseccomp.ArchLOONGARCH64, Val: unix.AUDIT_ARCH_LOONGARCH64},
	{Key: libseccomp.ArchM68K, Val: unix.AUDIT_ARCH_M68K},
	// libseccomp's SH is little-endian, the kernel's AUDIT_ARCH_SHEL; its SHEB is AUDIT_ARCH_SH.
	{Key: libseccomp.ArchSH, Val: unix.AUDIT_ARCH_SHEL},
	{Key: libseccomp.ArchSHEB, Val: unix.AUDIT_ARCH_SH},
}

// needsStub reports whether s's default action denies: ALLOW, LOG and TRACE let a new syscall through already (a
// tracer handles ENOSYS itself), and an ERRNO default of ENOSYS is the stub's answer already (runc's choice).
func needsStub(s *specs.LinuxSeccomp) bool {
	switch s.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace:
		return false
	case specs.ActErrno:
		return s.DefaultErrnoRet == nil || *s.DefaultErrnoRet != uint(unix.ENOSYS)
	}
	return true
}

// lastSyscalls is, per AUDIT_ARCH value, the largest syscall number s names (with any action) for each libseccomp
// architecture of the profile plus the native one (as runc: a profile may leave the native architecture out). An
// architecture for which s names no syscall it knows is left out, and so gets no stub.
func lastSyscalls(s *specs.LinuxSeccomp) (map[uint32]map[libseccomp.ScmpArch]uint32, error) {
	set := map[libseccomp.ScmpArch]bool{}
	for _, a := range s.Architectures {
		if arch, ok := archs.Get(a); ok {
			set[arch] = true
		}
	}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("native architecture: %w", err)
	}
	set[native] = true
	last := map[uint32]map[libseccomp.ScmpArch]uint32{}
	for arch := range set {
		audit, ok := auditArchs.Get(arch)
		if !ok {
			continue // unknown to rt: libseccomp's program alone decides
		}
		var largest int32
		for _, sc := range s.Syscalls {
			for _, name := range sc.Names {
				// Negative numbers are libseccomp's pseudo-syscalls (socketcall multiplexing on x86, s390).
				if nr, err := libseccomp.GetSyscallFromNameByArch(name, arch); err == nil && int32(nr) > largest {
					largest = int32(nr)
				}
			}
		}
		if largest <= 0 {
			continue
		}
		if last[audit] == nil {
			last[audit] = map[libseccomp.ScmpArch]uint32{}
		}
		last[audit][arch] = uint32(largest)
	}
	return last, nil
}

// stubProgram builds the stub for the architectures in last. It reads, for each AUDIT_ARCH value a:
//
//	jeq a, 0, len(section)   (another architecture: skip the section)
//	section: ld nr; jgt max, ->ENOSYS, ->filter; ret ENOSYS; ja filter
//
// Every conditional jump stays within one section (BPF's jt/jf are 8 bits); the jumps to libseccomp's program are
// `ja`, which have 32 bits. A syscall of an architecture the stub does not know falls through to libseccomp's
// program, which applies the profile's bad-architecture action.
func stubProgram(last map[uint32]map[libseccomp.ScmpArch]uint32) []unix.SockFilter {
	if len(last) == 0 {
		return nil
	}
	const toFilter = ^uint32(0) // placeholder for "ja to the first instruction of libseccomp's program"
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
	}
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jgt  = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ja   = unix.BPF_JMP | unix.BPF_JA
		ret  = unix.BPF_RET | unix.BPF_K
	)
	audits := make([]uint32, 0, len(last))
	for a := range last {
		audits = append(audits, a)
	}
	slices.Sort(audits) // the same profile always gives the same program

	prog := []unix.SockFilter{stmt(ldW, offArch)}
	for _, audit := range audits {
		maxes := last[audit]
		var sec []unix.SockFilter
		if audit == unix.AUDIT_ARCH_X86_64 {
			// One AUDIT_ARCH for two ABIs: x32Bit in nr says which largest number applies.
			//   0 ld nr; 1 jset x32Bit, ->3, ->2; 2 amd64 test; 3 x32 test; 4 ret ENOSYS; 5 ja filter
			sec = []unix.SockFilter{stmt(ldW, offNr), jump(jset, x32Bit, 1, 0)}
			for i, arch := range []libseccomp.ScmpArch{libseccomp.ArchAMD64, libseccomp.ArchX32} {
				toRet, toJa := uint8(2-i-1), uint8(2-i) // from instruction 2+i to 4 and to 5
				if m, ok := maxes[arch]; ok {
					sec = append(sec, jump(jgt, m, toRet, toJa))
				} else {
					sec = append(sec, stmt(ja, uint32(toJa)))
				}
			}
		} else {
			var m uint32
			for _, v := range maxes {
				m = v
			}
			sec = []unix.SockFilter{stmt(ldW, offNr)}
			if audit == unix.AUDIT_ARCH_S390 || audit == unix.AUDIT_ARCH_S390X {
				// s390 passes a syscall number the kernel does not know as 0 (the long-gone setup(2)), so 0 must
				// fail with ENOSYS too.
				sec = append(sec, jump(jeq, 0, 1, 0))
			}
			sec = append(sec, jump(jgt, m, 0, 1))
		}
		sec = append(sec, stmt(ret, retENOSYS), stmt(ja, toFilter))
		prog = append(prog, jump(jeq, audit, 0, uint8(len(sec))))
		prog = append(prog, sec...)
	}
	for i := range prog {
		if prog[i].Code == ja && prog[i].K == toFilter {
			prog[i].K = uint32(len(prog) - i - 1)
		}
	}
	return prog
}

// enosysStub is the stub to prepend to s's libseccomp program, or nil when s needs none.
func enosysStub(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	if !needsStub(s) {
		return nil, nil
	}
	last, err := lastSyscalls(s)
	if err != nil {
		return nil, fmt.Errorf("seccomp -ENOSYS stub: %w", err)
	}
	return stubProgram(last), nil
}
