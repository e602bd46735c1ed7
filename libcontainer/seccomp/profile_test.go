package seccomp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// The shape of Docker's and podman's default profiles (moby profiles/seccomp,
// containers/common pkg/seccomp), regenerated here rather than copied: an
// allow-list of every syscall libseccomp knows for x86-64 and i386, less a
// deny-list, with the conditional rules those profiles are known for.
var (
	// denied are left to the default action, like the profiles' privileged calls.
	denied = []string{"getppid", "unshare", "setns", "mount", "umount2", "kexec_load", "init_module",
		"finit_module", "delete_module", "reboot", "swapon", "swapoff", "bpf", "perf_event_open",
		"open_by_handle_at", "userfaultfd", "keyctl", "add_key", "request_key", "ptrace"}
	// special get their own rules below.
	special = []string{"clone", "clone3", "personality", "socket"}
	// cloneNamespaces is CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (clone(2)).
	cloneNamespaces uint64 = 0x7e020000
)

// defaultLikeProfile builds the profile; defaultErrno is 1 for Docker's
// EPERM, 38 for podman's ENOSYS. extraDenied are denied as well.
func defaultLikeProfile(t testing.TB, defaultAction specs.LinuxSeccompAction, defaultErrno uint, extraDenied ...string) *specs.LinuxSeccomp {
	t.Helper()
	skip := slices.Concat(denied, special, extraDenied)
	var names []string
	for _, arch := range []libseccomp.ScmpArch{libseccomp.ArchAMD64, libseccomp.ArchX86} {
		for nr := range 1024 {
			name, err := libseccomp.ScmpSyscall(nr).GetNameByArch(arch)
			if err != nil || slices.Contains(skip, name) || slices.Contains(names, name) {
				continue
			}
			names = append(names, name)
		}
	}
	if len(names) < 300 {
		t.Fatalf("only %d syscall names from libseccomp", len(names))
	}
	p := &specs.LinuxSeccomp{
		DefaultAction: defaultAction,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: names, Action: specs.ActAllow},
			// personality: only the harmless personas (PER_LINUX, UNAME26, ...).
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0x0008}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0xffffffff}}},
			// clone without namespace flags; clone3 fails with ENOSYS so libc falls back to clone.
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpMaskedEqual, Value: cloneNamespaces, ValueTwo: 0}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(syscall.ENOSYS))},
			// socket: anything but AF_VSOCK (40).
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpNotEqual, Value: 40}}},
		},
	}
	if defaultAction == specs.ActErrno {
		p.DefaultErrnoRet = &defaultErrno
	}
	return p
}

func TestDefaultLikeProfiles(t *testing.T) {
	busybox, err := lookBusybox()
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp
		script  string
		want    string // in stdout+stderr
		exit    int
	}{
		{"docker-like runs a workload", defaultLikeProfile(t, specs.ActErrno, 1),
			`echo hello; mkdir "$D/x" && ls "$D"; busybox true | cat; wait`, "hello\nx\n", 0},
		{"podman-like runs a workload", defaultLikeProfile(t, specs.ActErrno, 38),
			`echo hello; mkdir "$D/x" && ls "$D"`, "hello\nx\n", 0},
		{"docker-like denies unshare with EPERM", defaultLikeProfile(t, specs.ActErrno, 1),
			`unshare -n true`, "Operation not permitted", 1},
		{"podman-like denies unshare with ENOSYS", defaultLikeProfile(t, specs.ActErrno, 38),
			`unshare -n true`, "Function not implemented", 1},
		{"clone with a namespace flag is denied", defaultLikeProfile(t, specs.ActErrno, 1),
			`unshare -f -p true`, "Operation not permitted", 1},
		{"kill-default profile allows what it lists", allowGetppid(defaultLikeProfile(t, specs.ActKillProcess, 0)),
			`echo hello`, "hello\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.profile); err != nil {
				t.Fatalf("Check: %v", err)
			}
			dir := t.TempDir()
			res := runHelper(t, helperRequest{Profile: tc.profile,
				Exec: []string{busybox, "sh", "-c", "D=" + dir + "; " + tc.script}})
			out := strings.Join(lines(res.stdout)[1:], "\n") + "\n" + res.stderr
			if res.exitCode != tc.exit || !strings.Contains(out, tc.want) {
				t.Errorf("got exit %d signal %v output %q, want exit %d output with %q",
					res.exitCode, res.signal, out, tc.exit, tc.want)
			}
		})
	}
}

// TestDefaultActionApplies runs the getppid program under the generated
// profiles, with getppid allowed or left to the default action.
func TestDefaultActionApplies(t *testing.T) {
	ppid := os.Getpid() & 0xff
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp
		exit    int
		signal  syscall.Signal
	}{
		{"kill default kills", defaultLikeProfile(t, specs.ActKillProcess, 0), 0, syscall.SIGSYS},
		{"errno default returns defaultErrnoRet", defaultLikeProfile(t, specs.ActErrno, 38), 256 - 38, 0},
		{"listed syscall is allowed", allowGetppid(defaultLikeProfile(t, specs.ActKillProcess, 0)), ppid, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog := writeGetppidProgram(t, abiNative)
			res := runHelper(t, helperRequest{Profile: tc.profile, Exec: []string{prog}})
			if res.signal != tc.signal || (tc.signal == 0 && res.exitCode != tc.exit) {
				t.Errorf("got exit %d signal %v, want exit %d signal %v (stderr %q)",
					res.exitCode, res.signal, tc.exit, tc.signal, res.stderr)
			}
		})
	}
}

func allowGetppid(p *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"getppid"}, Action: specs.ActAllow})
	return p
}

// lookBusybox finds a static busybox, the workload of these tests.
func lookBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return filepath.Clean(p), nil
		}
	}
	return "", os.ErrNotExist
}

// BenchmarkCheckDefaultLike measures compiling a Docker-sized profile, the
// cost Check adds to create (Load pays it again in init).
func BenchmarkCheckDefaultLike(b *testing.B) {
	p := defaultLikeProfile(b, specs.ActErrno, 1)
	for b.Loop() {
		if err := Check(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildDefaultLike measures what Load pays in init before the
// seccomp(2) call: compiling a Docker-sized profile with its rules.
func BenchmarkBuildDefaultLike(b *testing.B) {
	p := defaultLikeProfile(b, specs.ActErrno, 1)
	for b.Loop() {
		f, _, err := build(p, true)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}
