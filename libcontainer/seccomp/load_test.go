package seccomp

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

// allowExcept is a default-allow profile with one rule.
func allowExcept(rule specs.LinuxSyscall, arches ...specs.Arch) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: arches, Syscalls: []specs.LinuxSyscall{rule}}
}

// TestLoadActions runs a tiny static program making one getppid call, under
// a filter with a rule for getppid, through each syscall ABI of x86-64, and
// checks the action from the program's exit status.
func TestLoadActions(t *testing.T) {
	if _, err := os.Stat("/proc/sys/kernel/seccomp/actions_avail"); err != nil {
		t.Skip("kernel without seccomp filters")
	}
	ppid := os.Getpid() & 0xff // the program's parent is this test process
	errno := uint(42)
	if 256-int(errno) == ppid {
		errno = 43
	}
	rule := func(a specs.LinuxSeccompAction, ret *uint) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{"getppid"}, Action: a, ErrnoRet: ret}
	}
	errnoRule := rule(specs.ActErrno, &errno)
	errnoExit := 256 - int(errno)
	const enosysExit = 256 - int(syscall.ENOSYS)
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp // nil: no filter, a control run
		abi     abi
		exit    int            // wanted exit code, when signal is 0
		signal  syscall.Signal // wanted killing signal
	}{
		{name: "no filter native", abi: abiNative, exit: ppid},
		{name: "no filter i386 reaches the kernel", abi: abiI386, exit: ppid},
		{name: "errno with errnoRet", profile: allowExcept(errnoRule), exit: errnoExit},
		{name: "errno defaults to EPERM", profile: allowExcept(rule(specs.ActErrno, nil)), exit: 256 - int(syscall.EPERM)},
		{name: "errnoRet 0 fakes success", profile: allowExcept(rule(specs.ActErrno, uintp(0))), exit: 0},
		{name: "kill", profile: allowExcept(rule(specs.ActKill, nil)), signal: syscall.SIGSYS},
		{name: "kill thread", profile: allowExcept(rule(specs.ActKillThread, nil)), signal: syscall.SIGSYS},
		{name: "kill process", profile: allowExcept(rule(specs.ActKillProcess, nil)), signal: syscall.SIGSYS},
		{name: "trap", profile: allowExcept(rule(specs.ActTrap, nil)), signal: syscall.SIGSYS},
		// Without a tracer the kernel fails SECCOMP_RET_TRACE calls with ENOSYS (seccomp(2)).
		{name: "trace without tracer", profile: allowExcept(rule(specs.ActTrace, uintp(7))), exit: enosysExit},
		{name: "log allows", profile: allowExcept(rule(specs.ActLog, nil)), exit: ppid},
		// The bypass classes: a 32-bit or x32 call must not escape a native rule.
		{name: "i386 call, no architectures", profile: allowExcept(errnoRule), abi: abiI386, signal: syscall.SIGSYS},
		{name: "i386 call, x86_64 only", profile: allowExcept(errnoRule, specs.ArchX86_64), abi: abiI386, signal: syscall.SIGSYS},
		{name: "i386 call, x86 listed", profile: allowExcept(errnoRule, specs.ArchX86_64, specs.ArchX86), abi: abiI386, exit: errnoExit},
		{name: "x32 call, no architectures", profile: allowExcept(errnoRule), abi: abiX32, signal: syscall.SIGSYS},
		{name: "x32 call, x32 listed", profile: allowExcept(errnoRule, specs.ArchX86_64, specs.ArchX32), abi: abiX32, exit: errnoExit},
	}
	// A kernel built or booted without IA-32 emulation (ia32_emulation=0) answers int 0x80 with SIGSEGV: no i386
	// call reaches seccomp there, so there is no bypass to test.
	noI386 := runHelper(t, helperRequest{Exec: []string{writeGetppidProgram(t, abiI386)}}).signal == syscall.SIGSEGV
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.abi == abiI386 && noI386 {
				t.Skip("this kernel has no IA-32 emulation: an i386 call faults before seccomp sees it")
			}
			prog := writeGetppidProgram(t, tc.abi)
			res := runHelper(t, helperRequest{Profile: tc.profile, Exec: []string{prog}})
			if res.signal != tc.signal || (tc.signal == 0 && res.exitCode != tc.exit) {
				t.Errorf("got exit %d signal %v, want exit %d signal %v (stderr %q)",
					res.exitCode, res.signal, tc.exit, tc.signal, res.stderr)
			}
		})
	}
}

// TestLoadArgs checks argument conditions, probed with raw getppid calls from
// the Go helper: seccomp sees the argument registers whatever the syscall.
func TestLoadArgs(t *testing.T) {
	const eperm = "getppid errno=1"
	const ok = "getppid errno=0"
	tests := []struct {
		name  string
		args  []specs.LinuxSeccompArg
		calls [][maxArgs]uint64
		want  []string
	}{
		{"eq", []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 5}},
			[][maxArgs]uint64{{5}, {6}}, []string{eperm, ok}},
		{"ne", []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpNotEqual, Value: 5}},
			[][maxArgs]uint64{{0, 5}, {0, 6}}, []string{ok, eperm}},
		{"lt", []specs.LinuxSeccompArg{{Index: 2, Op: specs.OpLessThan, Value: 5}},
			[][maxArgs]uint64{{0, 0, 4}, {0, 0, 5}}, []string{eperm, ok}},
		{"le", []specs.LinuxSeccompArg{{Index: 3, Op: specs.OpLessEqual, Value: 5}},
			[][maxArgs]uint64{{0, 0, 0, 5}, {0, 0, 0, 6}}, []string{eperm, ok}},
		{"ge", []specs.LinuxSeccompArg{{Index: 4, Op: specs.OpGreaterEqual, Value: 5}},
			[][maxArgs]uint64{{0, 0, 0, 0, 5}, {0, 0, 0, 0, 4}}, []string{eperm, ok}},
		{"gt 64-bit", []specs.LinuxSeccompArg{{Index: 5, Op: specs.OpGreaterThan, Value: 1 << 40}},
			[][maxArgs]uint64{{0, 0, 0, 0, 0, 1<<40 + 1}, {0, 0, 0, 0, 0, 1 << 40}}, []string{eperm, ok}},
		// value is the mask, valueTwo the datum, as libseccomp and runc.
		{"masked eq", []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpMaskedEqual, Value: 0xf0, ValueTwo: 0x20}},
			[][maxArgs]uint64{{0x2f}, {0x4f}}, []string{eperm, ok}},
		{"different args AND", []specs.LinuxSeccompArg{
			{Index: 0, Op: specs.OpEqualTo, Value: 1}, {Index: 1, Op: specs.OpEqualTo, Value: 2}},
			[][maxArgs]uint64{{1, 2}, {1, 3}, {0, 2}}, []string{eperm, ok, ok}},
		{"same arg twice OR, as runc", []specs.LinuxSeccompArg{
			{Index: 0, Op: specs.OpEqualTo, Value: 1}, {Index: 0, Op: specs.OpEqualTo, Value: 2}},
			[][maxArgs]uint64{{1}, {2}, {3}}, []string{eperm, eperm, ok}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := allowExcept(specs.LinuxSyscall{Names: []string{"getppid"}, Action: specs.ActErrno, Args: tc.args})
			res := runHelper(t, helperRequest{Profile: p, Getppid: tc.calls})
			got := lines(res.stdout)[1:]
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLoadInProcess loads filters into a multi-threaded Go process, the way
// rt's init does, and checks the effect on its own later calls.
func TestLoadInProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp
		req     helperRequest
		want    []string
		signal  syscall.Signal
		noDir   bool
	}{
		{
			name: "errno on getcwd and mkdir",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getcwd"}, Action: specs.ActErrno},
				{Names: []string{"mkdirat", "mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(syscall.EROFS))},
			}},
			req:   helperRequest{Mkdir: dir, Getcwd: true},
			want:  []string{"notifyfd false", "mkdir errno=30", "getcwd errno=1"},
			noDir: true,
		},
		{
			name: "unknown syscall names are ignored, as runc",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"no_such_syscall", "getcwd"}, Action: specs.ActErrno},
			}},
			req:  helperRequest{Getcwd: true},
			want: []string{"notifyfd false", "getcwd errno=1"},
		},
		{
			name: "kill process in a threaded process",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdirat"}, Action: specs.ActKillProcess},
			}},
			req:    helperRequest{Mkdir: dir},
			want:   []string{"notifyfd false"},
			signal: syscall.SIGSYS,
			noDir:  true,
		},
		{
			name: "flags log, spec allow, tsync",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Flags:    []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, flagTsync},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}}},
			req:  helperRequest{Getcwd: true},
			want: []string{"notifyfd false", "getcwd errno=1"},
		},
		{
			name:    "nil profile loads nothing",
			profile: nil,
			req:     helperRequest{Getcwd: true, Status: true},
			want:    []string{"notifyfd false", "getcwd errno=0", "NoNewPrivs: 1", "Seccomp: 0"},
		},
		{
			name:    "filter mode, no_new_privs as the helper set it",
			profile: allowExcept(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno}),
			req:     helperRequest{Status: true},
			want:    []string{"notifyfd false", "NoNewPrivs: 1", "Seccomp: 2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Profile = tc.profile
			res := runHelper(t, tc.req)
			if got := lines(res.stdout); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q (stderr %q)", got, tc.want, res.stderr)
			}
			if res.signal != tc.signal {
				t.Errorf("got signal %v, want %v", res.signal, tc.signal)
			}
			if _, err := os.Stat(dir); tc.noDir && err == nil {
				t.Errorf("%s was created", dir)
			}
		})
	}
}

// TestLoadKeepsNoNewPrivs checks Load does not set no_new_privs itself: that
// is the caller's decision. Unsetting it needs CAP_SYS_ADMIN.
func TestLoadKeepsNoNewPrivs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a filter without no_new_privs needs CAP_SYS_ADMIN")
	}
	p := allowExcept(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno})
	res := runHelper(t, helperRequest{Profile: p, KeepNNP: true, Status: true, Getcwd: true})
	want := []string{"notifyfd false", "getcwd errno=1", "NoNewPrivs: 0", "Seccomp: 2"}
	if got := lines(res.stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
