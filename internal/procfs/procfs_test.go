package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestPrivate: the detached instance is a procfs of the caller's pid namespace: it shows the caller.
func TestPrivate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fsopen(proc) needs CAP_SYS_ADMIN")
	}
	proc, err := Private()
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(proc.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		t.Errorf("f_type %#x, want PROC_SUPER_MAGIC", st.Type)
	}
	var self unix.Stat_t
	if err := unix.Fstatat(int(proc.Fd()), strconv.Itoa(os.Getpid()), &self, 0); err != nil {
		t.Errorf("our pid in the private procfs: %v", err)
	}
}

// TestIDMapText: one "inside outside count" line per range, in the order given (user_namespaces(7)).
func TestIDMapText(t *testing.T) {
	tests := []struct {
		name string
		in   []specs.LinuxIDMapping
		want string
	}{
		{name: "none", in: nil, want: ""},
		{name: "one", in: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, want: "0 1000 1\n"},
		// user_namespaces(7): one "inside outside count" line per range, in the order given.
		{name: "several", in: []specs.LinuxIDMapping{
			{ContainerID: 0, HostID: 100000, Size: 65536}, {ContainerID: 65536, HostID: 5, Size: 1},
		}, want: "0 100000 65536\n65536 5 1\n"},
		{name: "largest values", in: []specs.LinuxIDMapping{{ContainerID: 4294967294, HostID: 4294967294, Size: 1}}, want: "4294967294 4294967294 1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IDMapText(tc.in); got != tc.want {
				t.Errorf("IDMapText = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHas: a file under the handle is there, a missing one is not, and neither is one reached by leaving the handle
// (an absolute symlink), as Write resolves it.
func TestHas(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	for _, f := range []string{filepath.Join(dir, "present"), filepath.Join(outside, "file")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	proc, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	for path, want := range map[string]bool{"present": true, "missing": false, "out/file": false} {
		if got := Has(proc, path); got != want {
			t.Errorf("Has(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestMounts(t *testing.T) {
	ms, err := Mounts(mountinfo.SingleEntryFilter("/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Mountpoint != "/" {
		t.Fatalf("Mounts(/) = %v, want the root mount", ms)
	}
}
