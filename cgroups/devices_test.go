package cgroups

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCompileDeviceFilter(t *testing.T) {
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	allowAll := specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"}
	null := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rw"}
	tests := []struct {
		name    string
		rules   []specs.LinuxDeviceCgroup
		wantLen int
		wantErr error
	}{
		// 7 prologue instructions; a rule with type+access+major+minor tests is 1+3+1+1 conditions + 2 verdict.
		{name: "empty is default deny", rules: nil, wantLen: 7 + 2},
		{name: "one specific rule", rules: []specs.LinuxDeviceCgroup{null}, wantLen: 7 + 8 + 2},
		{name: "rules before a reset are dropped", rules: []specs.LinuxDeviceCgroup{null, null, denyAll, null}, wantLen: 7 + 8 + 2},
		{name: "a trailing allow-all needs no default", rules: []specs.LinuxDeviceCgroup{null, allowAll}, wantLen: 7 + 2},
		{name: "bad type", rules: []specs.LinuxDeviceCgroup{{Type: "x", Access: "r"}}, wantErr: errDeviceRule},
		{name: "empty access", rules: []specs.LinuxDeviceCgroup{{Type: "c"}}, wantErr: errDeviceRule},
		{name: "bad access", rules: []specs.LinuxDeviceCgroup{{Type: "c", Access: "rx"}}, wantErr: errDeviceRule},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			insns, err := compileDeviceFilter(tc.rules)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && len(insns) != tc.wantLen {
				t.Errorf("%d instructions, want %d:\n%v", len(insns), tc.wantLen, insns)
			}
		})
	}
}

func TestDeviceLines(t *testing.T) {
	tests := []struct {
		name string
		rule specs.LinuxDeviceCgroup
		want []string
	}{
		{name: "everything", rule: specs.LinuxDeviceCgroup{Access: "mrw"}, want: []string{"a"}},
		{name: "char wildcard mknod", rule: specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "m"}, want: []string{"c *:* m"}},
		{name: "block device", rule: specs.LinuxDeviceCgroup{Type: "b", Major: ptr(int64(8)), Minor: ptr(int64(0)), Access: "wr"}, want: []string{"b 8:0 rw"}},
		{name: "narrow a rule splits", rule: specs.LinuxDeviceCgroup{Type: "a", Major: ptr(int64(1)), Access: "r"}, want: []string{"b 1:* r", "c 1:* r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDeviceRule(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			got := deviceLines(d)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("deviceLines = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSetDevicesV1Writes: over plain files, which keep every write an open file got (the kernel takes each as one
// rule), what is written before the last deny of everything is dropped and each file is opened once: one "a" in
// devices.deny, the allow rules after it in order.
func TestSetDevicesV1Writes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"devices.allow", "devices.deny"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rules := []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "rwm"},
		{Allow: true, Type: "b", Access: "m"},
	}
	if err := setDevicesV1(dir, rules); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"devices.deny": "a", "devices.allow": "c 1:5 rwm" + "b *:* m"} {
		if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != want {
			t.Errorf("%s got %q, want %q", f, got, want)
		}
	}
}

// TestSetDevicesV1Kernel: a v1 devices cgroup takes the rules written through one open file each, in order.
func TestSetDevicesV1Kernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	h, err := hostInfo()
	if err != nil || h.v1["devices"] == "" {
		t.Skip("no v1 devices hierarchy")
	}
	dir := filepath.Join(h.v1["devices"], h.own["devices"], fmt.Sprintf("rt-test-%d", rand.Uint64()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a v1 devices cgroup: %v", err)
	}
	defer os.Remove(dir)
	rules := []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(7)), Access: "rw"},
		{Allow: false, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(7)), Access: "w"},
	}
	if err := setDevicesV1(dir, rules); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "devices.list"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "c 1:5 rwm\nc 1:7 r\n"; string(got) != want {
		t.Errorf("devices.list = %q, want %q", got, want)
	}
}

// testV2Cgroup makes a fresh cgroup in the host's v2 hierarchy (the unified tree of a hybrid host), removed at the
// end of the test, or skips when there is none or we are not root.
func testV2Cgroup(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	h, err := hostInfo()
	if err != nil || h.unified == "" {
		t.Skip("no cgroup v2 hierarchy")
	}
	dir := filepath.Join(h.unified, fmt.Sprintf("rt-test-%d", rand.Uint64()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a v2 cgroup: %v", err)
	}
	t.Cleanup(func() {
		_ = Load(map[string]string{"": dir}).Destroy()
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("cgroup %s left behind", dir)
		}
	})
	return dir
}

// runIn runs a shell command in the cgroup dir (CLONE_INTO_CGROUP) and reports whether it succeeded.
func runIn(t *testing.T, dir, script string) (bool, string) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %q: %v", script, err)
	}
	return err == nil, string(out)
}

func TestDeviceFilterEnforced(t *testing.T) {
	dir := testV2Cgroup(t)
	nodes := t.TempDir()
	// The program sees device numbers, not paths: make our own nodes so the test does not depend on the host /dev.
	for _, n := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}} {
		if err := unix.Mknod(filepath.Join(nodes, n.name), unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			t.Fatalf("mknod: %v", err)
		}
	}
	null := func(allow bool, acc string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: acc}
	}
	zero := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "r"}
	tests := []struct {
		name   string
		rules  []specs.LinuxDeviceCgroup
		script string
		want   bool
	}{
		{name: "default deny", rules: nil, script: "exec 3</NODES/null", want: false},
		{name: "allowed read", rules: []specs.LinuxDeviceCgroup{zero}, script: "exec 3</NODES/zero", want: true},
		{name: "write not granted by an r rule", rules: []specs.LinuxDeviceCgroup{zero}, script: "exec 3<>/NODES/zero", want: false},
		{name: "other device stays denied", rules: []specs.LinuxDeviceCgroup{zero}, script: "exec 3</NODES/full", want: false},
		{name: "later deny wins", rules: []specs.LinuxDeviceCgroup{null(true, "rw"), null(false, "w")}, script: "exec 3<>/NODES/null", want: false},
		{name: "later deny leaves other access", rules: []specs.LinuxDeviceCgroup{null(true, "rw"), null(false, "w")}, script: "exec 3</NODES/null", want: true},
		{name: "later allow wins", rules: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, null(true, "rw")}, script: "exec 3<>/NODES/null", want: true},
		{name: "defaults allow null", rules: DefaultDevices(), script: "exec 3<>/NODES/null", want: true},
		{name: "defaults allow mknod", rules: DefaultDevices(), script: "mknod /NODES/x c 1 1 && rm /NODES/x", want: true},
		{name: "mknod denied without m", rules: []specs.LinuxDeviceCgroup{null(true, "rw")}, script: "mknod /NODES/y c 1 3", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := attachDeviceFilter(dir, tc.rules); err != nil {
				t.Fatal(err)
			}
			script := strings.ReplaceAll(tc.script, "/NODES", nodes)
			ok, out := runIn(t, dir, script)
			if ok != tc.want {
				t.Errorf("%q succeeded=%v, want %v (output %q)", script, ok, tc.want, out)
			}
			// Each attach replaces the previous program: exactly one stays attached.
			fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			q, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
			if err != nil {
				t.Fatal(err)
			}
			if len(q.Programs) != 1 {
				t.Errorf("%d device programs attached, want 1", len(q.Programs))
			}
			// bpf.go's own query sees what cilium/ebpf's link package sees.
			ids, err := queryPrograms(fd, unix.BPF_CGROUP_DEVICE)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != len(q.Programs) || len(ids) == 1 && ebpf.ProgramID(ids[0]) != q.Programs[0].ID {
				t.Errorf("queryPrograms = %v, link.QueryPrograms = %v", ids, q.Programs)
			}
		})
	}
}

func TestProgramByIDGone(t *testing.T) {
	testV2Cgroup(t) // root and a kernel with cgroup v2, as the device filter needs
	// Ids count up from 1 and are never reused while the program lives; the largest one is never reached.
	if _, err := programByID(1<<32 - 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("programByID of a missing program: %v, want an error matching os.ErrNotExist", err)
	}
}

func TestLoadDeviceProgramVerifierError(t *testing.T) {
	testV2Cgroup(t)
	// A program that returns without setting R0 is refused by the verifier ("R0 !read_ok"); the error says why.
	_, err := loadDeviceProgram(asm.Instructions{asm.Return()}, "Apache")
	var ve *verifierError
	if !errors.As(err, &ve) || !errors.Is(err, unix.EACCES) {
		t.Fatalf("load of an invalid program: %v, want a verifierError wrapping EACCES", err)
	}
	if !strings.Contains(ve.log, "R0") {
		t.Errorf("verifier reason %q does not name R0", ve.log)
	}
}
