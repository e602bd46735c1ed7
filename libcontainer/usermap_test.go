package libcontainer

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNeedsMapTool(t *testing.T) {
	one := func(c, h, s uint32) specs.LinuxIDMapping {
		return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: s}
	}
	tests := []struct {
		name string
		euid int
		own  int
		m    []specs.LinuxIDMapping
		want bool
	}{
		{name: "root, subordinate ranges", euid: 0, own: 0, m: []specs.LinuxIDMapping{one(0, 100000, 65536)}},
		{name: "root, someone else's id", euid: 0, own: 0, m: []specs.LinuxIDMapping{one(0, 1000, 1)}},
		{name: "own id as root", euid: 1000, own: 1000, m: []specs.LinuxIDMapping{one(0, 1000, 1)}},
		// user_namespaces(7): the one line may put the caller's id anywhere inside.
		{name: "own id elsewhere inside", euid: 1000, own: 1000, m: []specs.LinuxIDMapping{one(1000, 1000, 1)}},
		{name: "own gid, other euid", euid: 1000, own: 50, m: []specs.LinuxIDMapping{one(0, 50, 1)}},
		{name: "own id with a subordinate range", euid: 1000, own: 1000,
			m: []specs.LinuxIDMapping{one(0, 1000, 1), one(1, 200000, 65536)}, want: true},
		{name: "own id, size 2", euid: 1000, own: 1000, m: []specs.LinuxIDMapping{one(0, 1000, 2)}, want: true},
		{name: "another id", euid: 1000, own: 1000, m: []specs.LinuxIDMapping{one(0, 1001, 1)}, want: true},
		{name: "own uid in a gid map", euid: 1000, own: 50, m: []specs.LinuxIDMapping{one(0, 1000, 1)}, want: true},
		{name: "own id twice", euid: 1000, own: 1000, m: []specs.LinuxIDMapping{one(0, 1000, 1), one(1, 1000, 1)}, want: true},
		{name: "no map", euid: 1000, own: 1000, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsMapTool(tc.euid, tc.own, tc.m); got != tc.want {
				t.Errorf("needsMapTool(%d, %d, %v) = %v, want %v", tc.euid, tc.own, tc.m, got, tc.want)
			}
		})
	}
}

func TestMapToolArgs(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		m    []specs.LinuxIDMapping
		want []string
	}{
		{name: "none", pid: 7, want: []string{"7"}},
		// newuidmap(1): pid, then "uid loweruid count" for each range, in the config's order.
		{name: "two ranges", pid: 4242, m: []specs.LinuxIDMapping{
			{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 65536},
		}, want: []string{"4242", "0", "1000", "1", "1", "200000", "65536"}},
		{name: "largest ids", pid: 1, m: []specs.LinuxIDMapping{{ContainerID: 4294967295, HostID: 4294967294, Size: 4294967295}},
			want: []string{"1", "4294967295", "4294967294", "4294967295"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mapToolArgs(tc.pid, tc.m); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("mapToolArgs = %q, want %q", got, tc.want)
			}
		})
	}
}

// fakeTool writes an executable shell script standing in for newuidmap/newgidmap and returns its path.
func fakeTool(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "newuidmap")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunMapTool(t *testing.T) {
	t.Setenv("RT_TEST_SECRET", "leaked")
	tests := []struct {
		name     string
		body     string   // the fake tool; $OUT is where it may record what it saw
		wantOut  string   // what it recorded
		wantErr  []string // substrings of the error; nil: success
		exitCode int      // the *exec.ExitError's code, for a refusal
	}{
		{name: "maps", body: `echo "$@" > "$OUT"`, wantOut: "4242 0 1000 1 1 200000 65536\n"},
		// runc runs the setuid helper with an empty environment; so does rt.
		{name: "empty environment", body: `echo "[$RT_TEST_SECRET]" > "$OUT"`, wantOut: "[]\n"},
		{name: "refused", body: `printf 'newuidmap: uid range [1-65537) -> [200000-265536) not allowed\nsecond line\n' >&2; exit 1`,
			wantErr: []string{
				"linux.uidMappings: newuidmap 4242 0 1000 1 1 200000 65536: exit status 1",
				"(newuidmap: uid range [1-65537) -> [200000-265536) not allowed; second line)", "/etc/subuid",
			}, exitCode: 1},
		{name: "refused silently", body: `exit 3`, wantErr: []string{"exit status 3 (no message)"}, exitCode: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			// The script gets $OUT baked in: its environment is empty.
			tool := fakeTool(t, "OUT="+out+"\n"+tc.body)
			m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 65536}}
			err := runMapTool(tool, uidMapKind, mapToolArgs(4242, m))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("runMapTool: %v", err)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.wantOut {
					t.Errorf("the tool saw %q, want %q", got, tc.wantOut)
				}
				return
			}
			if err == nil {
				t.Fatal("runMapTool succeeded, want an error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q, want it to contain %q", err, want)
				}
			}
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != tc.exitCode {
				t.Errorf("error %v, want an *exec.ExitError with code %d", err, tc.exitCode)
			}
		})
	}
}

func TestWriteIDMapErrors(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 65536}}
	tests := []struct {
		name    string
		kind    idMapKind
		tool    bool
		path    string // PATH for the helper lookup
		wantIs  error
		wantMsg string
	}{
		{name: "no newuidmap", kind: uidMapKind, tool: true, path: "empty", wantIs: exec.ErrNotFound,
			wantMsg: "linux.uidMappings: mapping ids other than your own needs newuidmap (install shadow's uidmap package)"},
		{name: "no newgidmap", kind: gidMapKind, tool: true, path: "empty", wantIs: exec.ErrNotFound,
			wantMsg: "linux.gidMappings: mapping ids other than your own needs newgidmap"},
		// A pid that cannot exist: the direct write names the file and the field.
		{name: "direct write", kind: gidMapKind, wantIs: fs.ErrNotExist, wantMsg: "write gid_map (linux.gidMappings): "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path != "" {
				t.Setenv("PATH", t.TempDir())
			}
			err := writeIDMap(-1, tc.kind, m, tc.tool)
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v, want one wrapping %v", err, tc.wantIs)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantMsg) {
				t.Errorf("error %v, want it to start with %q", err, tc.wantMsg)
			}
		})
	}
}
