package seccomp

import (
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestSetDefaultFlags: absent flags become SPEC_ALLOW (where supported) before the config travels as JSON, and an
// empty list stays empty there: it reaches the init as absent and must load without SPEC_ALLOW (runc's specconv).
func TestSetDefaultFlags(t *testing.T) {
	supported := slices.Contains(Features().SupportedFlags, string(specs.LinuxSeccompFlagSpecAllow))
	absent := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	SetDefaultFlags(absent)
	if got := len(absent.Flags) == 1 && absent.Flags[0] == specs.LinuxSeccompFlagSpecAllow; got != supported {
		t.Errorf("absent flags became %q (SPEC_ALLOW supported: %t)", absent.Flags, supported)
	}
	empty := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{}}
	SetDefaultFlags(empty)
	b, err := json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	var sent specs.LinuxSeccomp
	if err := json.Unmarshal(b, &sent); err != nil {
		t.Fatal(err)
	}
	f, err := Compile(&sent)
	if err != nil {
		t.Fatal(err)
	}
	if f.flags != 0 {
		t.Errorf("flags: [] loads with seccomp(2) flags %#x, want none", f.flags)
	}
}

// TestEnosysStub: the stub's shape for each kind of profile, checked on the program (the loaded behaviour is the
// integration test TestSeccompENOSYS).
func TestEnosysStub(t *testing.T) {
	enosys, eperm := uint(38), uint(1)
	named := []specs.LinuxSyscall{{Names: []string{"read", "close_range"}, Action: specs.ActAllow}}
	for _, tc := range []struct {
		name string
		s    *specs.LinuxSeccomp
		stub bool
	}{
		{"allow default", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: named}, false},
		{"log default", &specs.LinuxSeccomp{DefaultAction: specs.ActLog, Syscalls: named}, false},
		{"errno ENOSYS default", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &enosys, Syscalls: named}, false},
		{"errno default", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm, Syscalls: named}, true},
		{"kill default", &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Syscalls: named,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub, err := enosysStub(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if (len(stub) > 0) != tc.stub {
				t.Fatalf("stub of %d instructions, want one: %t", len(stub), tc.stub)
			}
			if !tc.stub {
				return
			}
			// Every jump lands inside the stub or on its end, the first instruction of libseccomp's program.
			for i, in := range stub {
				if in.Code&0x07 != 0x05 { // BPF_JMP
					continue
				}
				targets := []int{i + 1 + int(in.Jt), i + 1 + int(in.Jf)}
				if in.Code&0xf0 == 0x00 { // BPF_JA
					targets = []int{i + 1 + int(in.K)}
				}
				for _, to := range targets {
					if to > len(stub) {
						t.Errorf("instruction %d %+v jumps past the stub's end (%d)", i, in, len(stub))
					}
				}
			}
			f, err := Compile(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.prog[:len(stub)], stub) {
				t.Error("the compiled program does not start with the stub")
			}
		})
	}
}

// TestEnosysLoaded runs a tiny static program making one syscall, native or x32, under a profile that denies by
// default (EPERM) and names syscalls up to tgkill (234) natively and up to execve (520) in x32: a number above
// the largest one named for its ABI gets ENOSYS, one below it that is not named gets EPERM.
func TestEnosysLoaded(t *testing.T) {
	if _, err := os.Stat("/proc/sys/kernel/seccomp/actions_avail"); err != nil {
		t.Skip("kernel without seccomp filters")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the programs are x86-64 machine code")
	}
	// What the helper does between loading the filter and execve, and the program's exit.
	allowed := []string{"write", "execve", "futex", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "mmap", "munmap",
		"madvise", "nanosleep", "sched_yield", "getpid", "gettid", "tgkill", "exit", "exit_group", "clone"}
	profile := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: allowed, Action: specs.ActAllow}},
	}
	const enosys, eperm = 256 - int(syscall.ENOSYS), 256 - int(syscall.EPERM)
	for _, tc := range []struct {
		name string
		abi  abi
		nr   uint32
		exit int
	}{
		{"native above", abiNative, 300, enosys},
		{"native below", abiNative, 100, eperm},
		{"x32 above", abiX32, x32Bit | 600, enosys},
		{"x32 below", abiX32, x32Bit | 100, eperm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runHelper(t, helperRequest{Profile: profile, Exec: []string{writeSyscallProgram(t, tc.abi, tc.nr)}})
			if res.signal != 0 || res.exitCode != tc.exit {
				t.Errorf("got exit %d signal %v, want exit %d (stderr %q)", res.exitCode, res.signal, tc.exit, res.stderr)
			}
		})
	}
}
