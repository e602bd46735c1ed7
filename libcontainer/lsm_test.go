package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fakeProc makes a directory shaped like procfs's thread-self/attr with the given attr files (empty), and returns
// it opened as applyLSM takes it. thread-self is a relative symlink, as in procfs.
func fakeProc(t *testing.T, attrs ...string) (*os.File, string) {
	t.Helper()
	dir := t.TempDir()
	attr := filepath.Join(dir, "7", "task", "7", "attr")
	for _, a := range attrs {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(attr, a)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(attr, a), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("7/task/7", filepath.Join(dir, "thread-self")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, attr
}

// TestApplyLSM: the AppArmor profile goes to attr/apparmor/exec as "exec NAME", or to attr/exec on kernels without
// AppArmor's own directory; the SELinux label goes to attr/exec as it is; a missing attr file is an error naming
// the field.
func TestApplyLSM(t *testing.T) {
	tests := []struct {
		name    string
		attrs   []string
		process specs.Process
		want    map[string]string // attr file -> content after
		wantErr string
	}{
		{name: "apparmor", attrs: []string{"apparmor/exec", "exec"}, process: specs.Process{ApparmorProfile: "rt-default"},
			want: map[string]string{"apparmor/exec": "exec rt-default", "exec": ""}},
		{name: "apparmor before 5.8", attrs: []string{"exec"}, process: specs.Process{ApparmorProfile: "rt-default"},
			want: map[string]string{"exec": "exec rt-default"}},
		{name: "selinux", attrs: []string{"exec"}, process: specs.Process{SelinuxLabel: "system_u:system_r:container_t:s0"},
			want: map[string]string{"exec": "system_u:system_r:container_t:s0"}},
		{name: "none", attrs: []string{"exec"}, want: map[string]string{"exec": ""}},
		{name: "no attr files", process: specs.Process{SelinuxLabel: "l"}, wantErr: "process.selinuxLabel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc, attr := fakeProc(t, tc.attrs...)
			err := applyLSM(proc, &tc.process)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, unix.ENOENT) {
					t.Fatalf("applyLSM: %v, want ENOENT naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for file, want := range tc.want {
				got, err := os.ReadFile(filepath.Join(attr, file))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("attr/%s = %q, want %q", file, got, want)
				}
			}
		})
	}
}

// TestWriteAttrStaysInProc: an attr path that leads out of the procfs handle (a symlink to an absolute path) is
// refused rather than followed.
func TestWriteAttrStaysInProc(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "attr")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "exec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "thread-self")); err != nil {
		t.Fatal(err)
	}
	proc, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	if err := writeAttr(proc, "exec", "x"); !errors.Is(err, unix.EXDEV) {
		t.Errorf("writeAttr through a symlink out of proc: %v, want EXDEV", err)
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "exec")); len(got) != 0 {
		t.Errorf("the file outside proc was written: %q", got)
	}
}

// TestValidateAppArmorEnabled: on a host where AppArmor is enabled (securityfs directory present, the module
// parameter "Y"), a profile is accepted, for the container's process and for one given to exec.
func TestValidateAppArmorEnabled(t *testing.T) {
	dir := t.TempDir()
	old := apparmorPaths
	apparmorPaths = [2]string{filepath.Join(dir, "apparmor"), filepath.Join(dir, "enabled")}
	t.Cleanup(func() { apparmorPaths = old })
	if err := os.Mkdir(apparmorPaths[0], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(apparmorPaths[1], []byte("Y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &specs.Process{ApparmorProfile: "rt-default"}
	if err := validateProcessAttrs(p, "process"); err != nil {
		t.Errorf("validateProcessAttrs with AppArmor enabled: %v", err)
	}
}

// TestInheritLabel: an exec'd process without a SELinux label of its own gets the container's (runc 1.5); its own
// wins; the AppArmor profile is never inherited (runc 1.5); the caller's process is not changed.
func TestInheritLabel(t *testing.T) {
	ctr := &specs.Process{ApparmorProfile: "ctr-profile", SelinuxLabel: "ctr-label"}
	tests := []struct {
		name                   string
		process, container     *specs.Process
		wantProfile, wantLabel string
	}{
		{name: "inherits the label, not the profile", process: &specs.Process{}, container: ctr, wantLabel: "ctr-label"},
		{name: "own label wins", process: &specs.Process{SelinuxLabel: "own"}, container: ctr, wantLabel: "own"},
		{name: "own profile kept", process: &specs.Process{ApparmorProfile: "own"}, container: ctr, wantProfile: "own", wantLabel: "ctr-label"},
		{name: "unlabelled container", process: &specs.Process{}, container: &specs.Process{}},
		{name: "no container process", process: &specs.Process{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.process
			got := inheritLabel(tc.process, tc.container)
			if got.ApparmorProfile != tc.wantProfile || got.SelinuxLabel != tc.wantLabel {
				t.Errorf("inheritLabel = profile %q label %q, want %q %q", got.ApparmorProfile, got.SelinuxLabel, tc.wantProfile, tc.wantLabel)
			}
			if tc.process.ApparmorProfile != before.ApparmorProfile || tc.process.SelinuxLabel != before.SelinuxLabel {
				t.Errorf("the caller's process was changed: %+v", tc.process)
			}
		})
	}
}
