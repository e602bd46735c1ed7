package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExecView: what exec reads of a container's config (Process, and the linux fields the exec'd process applies,
// passed on undecoded) is the same whether it comes from the state file (Load, or Read, which keeps none of it) or
// from a whole config in memory (after Create or Config), and is what Exec sends (execView.config), which decodes in
// the init to the config's values; a config without them gives none.
func TestExecView(t *testing.T) {
	nodes := "0"
	full := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: []string{"/bin/sh"}, Cwd: "/", Env: []string{"A=1"}, SelinuxLabel: "l"},
		Mounts:  []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux: &specs.Linux{
			Seccomp:      &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock"},
			Personality:  &specs.LinuxPersonality{Domain: specs.PerLinux32},
			MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: nodes},
			MaskedPaths:  []string{"/proc/kcore"},
		},
	}
	tests := []struct {
		name string
		spec *specs.Spec
	}{
		{name: "process and linux fields", spec: full},
		{name: "no linux fields", spec: &specs.Spec{Version: specs.Version, Process: full.Process, Linux: &specs.Linux{}}},
		{name: "no linux", spec: &specs.Spec{Version: specs.Version, Process: full.Process}},
		{name: "no process", spec: &specs.Spec{Version: specs.Version}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "c1")
			if err := os.Mkdir(dir, 0o711); err != nil {
				t.Fatal(err)
			}
			created := &Container{dir: dir, state: State{ID: "c1", Config: tc.spec}}
			if err := created.saveLocked(); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(root, "c1")
			if err != nil {
				t.Fatal(err)
			}
			defer loaded.Close()
			// Read keeps none of the config's process or linux: exec takes them from the state file again.
			read, err := Read(root, "c1")
			if err != nil {
				t.Fatal(err)
			}
			defer read.Close()
			for name, c := range map[string]*Container{
				"from the state file": loaded, "from the whole config": created, "after Read": read,
			} {
				p, err := c.Process()
				if err != nil {
					t.Fatalf("%s: Process: %v", name, err)
				}
				if !reflect.DeepEqual(p, tc.spec.Process) {
					t.Errorf("%s: Process = %+v, want %+v", name, p, tc.spec.Process)
				}
				v, err := c.execView()
				if err != nil {
					t.Fatal(err)
				}
				// What the init gets and decodes (execConfig, execInit).
				data, err := json.Marshal(v.config(p))
				if err != nil {
					t.Fatal(err)
				}
				var got execConfig
				if err := json.Unmarshal(data, &got); err != nil {
					t.Fatal(err)
				}
				l, err := got.linux()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := specs.Linux{}
				if tc.spec.Linux != nil {
					want = specs.Linux{
						Seccomp: tc.spec.Linux.Seccomp, Personality: tc.spec.Linux.Personality,
						MemoryPolicy: tc.spec.Linux.MemoryPolicy,
					}
				}
				if !reflect.DeepEqual(*l, want) {
					t.Errorf("%s: the init's linux = %+v, want %+v", name, l, want)
				}
			}
		})
	}
}
