package seccomp

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheck(t *testing.T) {
	allow := specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno}
	withRule := func(r specs.LinuxSyscall) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{allow, allow, allow, r}}
	}
	arg := func(a specs.LinuxSeccompArg) *specs.LinuxSeccomp {
		return withRule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{a}})
	}
	notify := specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp
		want    string // the whole error, "" for valid
		kind    error
	}{
		{name: "nil is valid", profile: nil},
		{name: "empty disables seccomp, as runc", profile: &specs.LinuxSeccomp{}},
		{name: "empty flags disable the spec-allow default", profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{}}},
		{name: "rule equal to the default is skipped, as runc", profile: withRule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow})},
		{name: "unknown syscall is ignored, as runc", profile: withRule(specs.LinuxSyscall{Names: []string{"frobnicate"}, Action: specs.ActErrno})},
		{name: "every action", profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock", Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActKill}, {Names: []string{"readv"}, Action: specs.ActKillThread},
			{Names: []string{"pread64"}, Action: specs.ActKillProcess}, {Names: []string{"preadv"}, Action: specs.ActTrap},
			{Names: []string{"write"}, Action: specs.ActErrno, ErrnoRet: uintp(5)}, {Names: []string{"writev"}, Action: specs.ActTrace, ErrnoRet: uintp(65535)},
			{Names: []string{"pwrite64"}, Action: specs.ActLog}, {Names: []string{"mkdir"}, Action: specs.ActNotify}}}},
		{
			name:    "unknown default action",
			profile: &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"},
			want:    `linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"`, kind: ErrInvalid,
		},
		{
			name:    "syscalls without default action",
			profile: &specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{allow}},
			want:    `linux.seccomp.defaultAction: required when syscalls are listed`, kind: ErrInvalid,
		},
		{
			name:    "notify as default, as runc",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"},
			want:    `linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action`, kind: ErrInvalid,
		},
		{
			name:    "defaultErrnoRet with allow",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uintp(1)},
			want:    `linux.seccomp.defaultErrnoRet: not allowed with action SCMP_ACT_ALLOW`, kind: ErrInvalid,
		},
		{
			name:    "defaultErrnoRet too big",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(1 << 16)},
			want:    `linux.seccomp.defaultErrnoRet: 65536 out of range (max 65535)`, kind: ErrInvalid,
		},
		{
			name:    "unknown architecture",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86, "SCMP_ARCH_VAX"}},
			want:    `linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"`, kind: ErrInvalid,
		},
		{
			name:    "architecture of the other byte order, as runc",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchS390X}},
			want:    `linux.seccomp.architectures[0]: add architecture "SCMP_ARCH_S390X": numerical argument out of domain`, kind: ErrUnsupported,
		},
		{
			name:    "unknown flag",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_FOO"}},
			want:    `linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_FOO"`, kind: ErrInvalid,
		},
		{
			name:    "unknown action",
			profile: withRule(specs.LinuxSyscall{Names: []string{"read"}, Action: "SCMP_ACT_FOO"}),
			want:    `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`, kind: ErrInvalid,
		},
		{
			name:    "errnoRet with kill",
			profile: withRule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActKill, ErrnoRet: uintp(1)}),
			want:    `linux.seccomp.syscalls[3].errnoRet: not allowed with action SCMP_ACT_KILL`, kind: ErrInvalid,
		},
		{
			name:    "errnoRet too big",
			profile: withRule(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActTrace, ErrnoRet: uintp(70000)}),
			want:    `linux.seccomp.syscalls[3].errnoRet: 70000 out of range (max 65535)`, kind: ErrInvalid,
		},
		{
			name:    "no names",
			profile: withRule(specs.LinuxSyscall{Action: specs.ActErrno}),
			want:    `linux.seccomp.syscalls[3].names: must list at least one syscall`, kind: ErrInvalid,
		},
		{
			name:    "empty name, as runc",
			profile: withRule(specs.LinuxSyscall{Names: []string{"read", ""}, Action: specs.ActErrno}),
			want:    `linux.seccomp.syscalls[3].names[1]: empty syscall name`, kind: ErrInvalid,
		},
		{
			name:    "arg index out of range",
			profile: arg(specs.LinuxSeccompArg{Index: 6, Op: specs.OpEqualTo}),
			want:    `linux.seccomp.syscalls[3].args[0].index: 6 out of range (max 5)`, kind: ErrInvalid,
		},
		{
			name:    "unknown operator",
			profile: arg(specs.LinuxSeccompArg{Index: 0, Op: "SCMP_CMP_FOO"}),
			want:    `linux.seccomp.syscalls[3].args[0].op: unknown operator "SCMP_CMP_FOO"`, kind: ErrInvalid,
		},
		{
			name:    "notify on write, as runc",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "write"}, Action: specs.ActNotify}}},
			want:    `linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall`, kind: ErrInvalid,
		},
		{
			name:    "notify without listenerPath",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{notify}},
			want:    `linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used`, kind: ErrInvalid,
		},
		{
			name:    "listenerMetadata without listenerPath",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "m"},
			want:    `linux.seccomp.listenerMetadata: set without listenerPath`, kind: ErrInvalid,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.profile)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.kind)
			}
		})
	}
}

// TestCheckWaitKillable covers the flag whose support depends on the linked
// libseccomp (>= 2.6.0): accepted exactly when Features lists it.
func TestCheckWaitKillable(t *testing.T) {
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}}
	err := Check(p)
	supported := slices.Contains(Features().SupportedFlags, string(specs.LinuxSeccompFlagWaitKillableRecv))
	switch {
	case supported && err != nil:
		t.Errorf("listed as supported, but Check: %v", err)
	case !supported && !errors.Is(err, ErrUnsupported):
		t.Errorf("not listed as supported, Check got %v, want ErrUnsupported", err)
	case !supported && !strings.HasPrefix(err.Error(), "linux.seccomp.flags[0]: error adding WaitKill flag to seccomp filter: SetWaitKill requires "):
		t.Errorf("error does not name the field in runc's words: %v", err)
	}
}

func TestFeatures(t *testing.T) {
	f := Features()
	if f.Enabled == nil || !*f.Enabled {
		t.Fatal("seccomp not enabled")
	}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"actions", f.Actions, []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
			"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
		{"operators", f.Operators, []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
			"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
		{"known flags", f.KnownFlags, []string{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
			"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	t.Run("archs include the x86 family and big-endian ones", func(t *testing.T) {
		for _, a := range []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_S390X"} {
			if !slices.Contains(f.Archs, a) {
				t.Errorf("%s missing from %q", a, f.Archs)
			}
		}
	})
	t.Run("supported flags", func(t *testing.T) {
		for _, fl := range []string{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"} {
			if !slices.Contains(f.SupportedFlags, fl) {
				t.Errorf("%s missing from %q", fl, f.SupportedFlags)
			}
		}
	})
}

func TestVersion(t *testing.T) {
	if v := Version(); !regexp.MustCompile(`^2\.[0-9]+\.[0-9]+$`).MatchString(v) {
		t.Errorf("Version() = %q, want 2.x.y", v)
	}
}

// FuzzCheck feeds arbitrary linux.seccomp JSON to Check: it may reject the
// profile, but must not panic, and every rejection names a field.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],` +
			`"flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},` +
			`{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}]}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`,
		`{"defaultAction":"SCMP_ACT_KILL","syscalls":[{"names":[""],"action":"SCMP_ACT_TRACE","errnoRet":70000,` +
			`"args":[{"index":9,"op":"SCMP_CMP_EQ"},{"index":0,"op":"SCMP_CMP_EQ"},{"index":0,"op":"SCMP_CMP_NE"}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s specs.LinuxSeccomp
		if json.Unmarshal(data, &s) != nil {
			return
		}
		err := Check(&s)
		if err != nil && !strings.HasPrefix(err.Error(), "linux.seccomp.") {
			t.Errorf("error names no field: %v", err)
		}
	})
}
