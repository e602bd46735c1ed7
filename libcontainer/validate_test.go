package libcontainer

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newBundle makes a bundle directory with an empty rootfs directory in it.
func newBundle(t *testing.T) string {
	t.Helper()
	bundle := t.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// writeConfig writes data as <bundle>/config.json.
func writeConfig(t *testing.T, bundle, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// validSpec is a minimal config Validate accepts: a shell in fresh namespaces.
func validSpec() *specs.Spec {
	return &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: "rootfs"},
		Process:  &specs.Process{Args: []string{"sh"}, Cwd: "/"},
		Hostname: "h",
		Mounts:   []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace},
			},
		},
	}
}

func TestLoadSpec(t *testing.T) {
	tests := []struct {
		name    string
		config  string // "" leaves config.json out
		wantErr []string
	}{
		{name: "valid", config: `{"ociVersion":"1.3.0","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}`},
		{name: "missing file", wantErr: []string{"config.json"}},
		{name: "syntax error on line 3", config: "{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {]\n}", wantErr: []string{"line 3 column 12", "invalid character"}},
		{name: "syntax error on line 1", config: `{"ociVersion" "1.0.0"}`, wantErr: []string{"line 1 column 15"}},
		{name: "truncated", config: "{\"ociVersion\":\n", wantErr: []string{"line 2", "unexpected end of JSON input"}},
		{name: "wrong type", config: `{"process":{"args":[1]}}`, wantErr: []string{"process.args", "number is not a string"}},
		{name: "wrong nested type", config: `{"process":{"user":{"uid":"root"}}}`, wantErr: []string{"process.user.uid", "string is not a uint32"}},
		{name: "negative uid", config: `{"process":{"user":{"uid":-1}}}`, wantErr: []string{"process.user.uid", "-1"}},
		{name: "object for string", config: `{"ociVersion":{}}`, wantErr: []string{"ociVersion", "object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			if tc.config != "" {
				writeConfig(t, bundle, tc.config)
			}
			spec, err := LoadSpec(bundle)
			if tc.wantErr == nil {
				if err != nil || spec == nil {
					t.Fatalf("LoadSpec = %v, %v", spec, err)
				}
				if spec.Version != "1.3.0" || spec.Root.Path != "rootfs" || spec.Process.Args[0] != "sh" {
					t.Errorf("LoadSpec decoded %+v", spec)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadSpec succeeded")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if tc.config == "" {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("missing config.json: %v is not fs.ErrNotExist", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v is not ErrConfig", err)
			}
			if strings.Contains(err.Error(), ErrConfig.Error()) {
				t.Errorf("error %q repeats the class", err)
			}
		})
	}
}

// TestLoadSpecTypeErrorPath pins down what the JSON path of a wrongly typed field says where encoding/json gives
// less than a full path: it must still name something a user can find.
func TestLoadSpecTypeErrorPath(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		// encoding/json's UnmarshalTypeError.Field has no array index ("mounts.destination"), but the path is there.
		{name: "array element", config: `{"mounts":[{},{"destination":5}]}`, want: "mounts.destination"},
		// At the top level Field is empty and the message would read "config.json: : array is not ...".
		{name: "top level", config: `[]`, want: "config.json: array"},
		// Built with GOEXPERIMENT=jsonv2 (jsonerr_v2.go), the path is the same: no map key even with a dot, the
		// field's declared name whatever the case in the file, the Go name of an embedded struct.
		{name: "map value", config: `{"linux":{"netDevices":{"eth0.1":{"name":5}}}}`, want: ": linux.netDevices.name: number"},
		{name: "case of the name", config: `{"Process":{"ARGS":"sh"}}`, want: ": process.args: string"},
		{
			name:   "embedded struct",
			config: `{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":"8"}]}}}}`,
			want:   ": linux.resources.blockIO.weightDevice.LinuxBlockIODevice.major: string",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			writeConfig(t, bundle, tc.config)
			_, err := LoadSpec(bundle)
			if err == nil {
				t.Fatal("LoadSpec succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *specs.Spec, bundle string)
		field  string // the JSON path the refusal must name; "" means the spec is valid
	}{
		{name: "valid", modify: func(*specs.Spec, string) {}},
		{name: "ociVersion 1.0.0", modify: func(s *specs.Spec, _ string) { s.Version = "1.0.0" }},
		{name: "ociVersion 1.3.0", modify: func(s *specs.Spec, _ string) { s.Version = "1.3.0" }},
		{name: "ociVersion 1.0.2-dev", modify: func(s *specs.Spec, _ string) { s.Version = "1.0.2-dev" }},
		{name: "ociVersion 2.0.0", modify: func(s *specs.Spec, _ string) { s.Version = "2.0.0" }, field: "ociVersion"},
		{name: "ociVersion 0.5.0", modify: func(s *specs.Spec, _ string) { s.Version = "0.5.0" }, field: "ociVersion"},
		{name: "ociVersion missing", modify: func(s *specs.Spec, _ string) { s.Version = "" }, field: "ociVersion"},
		{name: "absolute root", modify: func(s *specs.Spec, b string) { s.Root.Path = filepath.Join(b, "rootfs") }},
		{name: "no process", modify: func(s *specs.Spec, _ string) { s.Process = nil }},
		{name: "env with empty value", modify: func(s *specs.Spec, _ string) { s.Process.Env = []string{"A=", "B=x=y"} }},
		{name: "env without =", modify: func(s *specs.Spec, _ string) { s.Process.Env = []string{"A=1", "FOO"} }, field: "process.env[1]"},
		{name: "env empty name", modify: func(s *specs.Spec, _ string) { s.Process.Env = []string{"=x"} }, field: "process.env[0]"},
		{name: "env NUL", modify: func(s *specs.Spec, _ string) { s.Process.Env = []string{"A=x\x00y"} }, field: "process.env[0]"},
		{name: "no root", modify: func(s *specs.Spec, _ string) { s.Root = nil }, field: "root.path"},
		{name: "empty root path", modify: func(s *specs.Spec, _ string) { s.Root.Path = "" }, field: "root.path"},
		{name: "missing rootfs", modify: func(s *specs.Spec, _ string) { s.Root.Path = "nope" }, field: "root.path"},
		{name: "rootfs is a file", modify: func(s *specs.Spec, b string) {
			_ = os.WriteFile(filepath.Join(b, "file"), nil, 0o644)
			s.Root.Path = "file"
		}, field: "root.path"},
		{name: "empty args", modify: func(s *specs.Spec, _ string) { s.Process.Args = nil }, field: "process.args"},
		{name: "relative cwd", modify: func(s *specs.Spec, _ string) { s.Process.Cwd = "tmp" }, field: "process.cwd"},
		{name: "empty cwd", modify: func(s *specs.Spec, _ string) { s.Process.Cwd = "" }, field: "process.cwd"},
		{name: "known capabilities", modify: func(s *specs.Spec, _ string) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_KILL"}, Ambient: []string{"CAP_KILL"}}
		}},
		{name: "unknown bounding capability", modify: func(s *specs.Spec, _ string) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_NOPE"}}
		}, field: "process.capabilities.bounding[0]"},
		{name: "unknown ambient capability", modify: func(s *specs.Spec, _ string) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Ambient: []string{"CAP_KILL", "chown"}}
		}, field: "process.capabilities.ambient[1]"},
		{name: "unknown rlimit", modify: func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: "RLIMIT_NOPE"}}
		}, field: "process.rlimits[1].type"},
		{name: "duplicate rlimit", modify: func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE"}, {Type: "RLIMIT_NOFILE"}}
		}, field: "process.rlimits[1].type"},
		{name: "soft above hard", modify: func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 2, Hard: 1}}
		}, field: "process.rlimits[0]"},
		{name: "no linux", modify: func(s *specs.Spec, _ string) { s.Linux = nil }, field: "linux"},
		{name: "unknown namespace", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[2].Type = "bogus"
		}, field: "linux.namespaces[2].type"},
		{name: "duplicate namespace", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, field: "linux.namespaces[5].type"},
		{name: "relative namespace path", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[4].Path = "proc/1/ns/net"
		}, field: "linux.namespaces[4].path"},
		{name: "missing namespace path", modify: func(s *specs.Spec, b string) {
			s.Linux.Namespaces[4].Path = filepath.Join(b, "no-such-ns")
		}, field: "linux.namespaces[4].path"},
		{name: "joined namespace path", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[4].Path = "/proc/self/ns/net"
		}},
		{name: "uid mappings without user namespace", modify: func(s *specs.Spec, _ string) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, field: "linux.uidMappings"},
		{name: "user namespace without mappings", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, field: "linux.uidMappings"},
		{name: "user namespace with mappings", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}},
		{name: "hostname without uts", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = s.Linux.Namespaces[:2]
		}, field: "hostname"},
		{name: "domainname without uts", modify: func(s *specs.Spec, _ string) {
			s.Hostname = ""
			s.Domainname = "d"
			s.Linux.Namespaces = s.Linux.Namespaces[:2]
		}, field: "domainname"},
		{name: "time offsets without time namespace", modify: func(s *specs.Spec, _ string) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}, field: "linux.timeOffsets"},
		{name: "time offsets unknown clock", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 1}}
		}, field: "linux.timeOffsets"},
		{name: "time offsets", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}, "boottime": {Nanosecs: 2}}
		}},
		{name: "bad seccomp", modify: func(s *specs.Spec, _ string) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}
		}, field: "linux.seccomp"},
		{name: "bad propagation", modify: func(s *specs.Spec, _ string) { s.Linux.RootfsPropagation = "weird" }, field: "linux.rootfsPropagation"},
		{name: "propagation", modify: func(s *specs.Spec, _ string) { s.Linux.RootfsPropagation = "rslave" }},
		{name: "namespaced sysctls", modify: func(s *specs.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "10", "kernel.hostname": "x"}
		}},
		{name: "host sysctl", modify: func(s *specs.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"}
		}, field: "linux.sysctl"},
		{name: "net sysctl without netns", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = s.Linux.Namespaces[:4]
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1"}
		}, field: `linux.sysctl."net.core.somaxconn"`},
		{name: "ipc sysctl without ipc ns", modify: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = s.Linux.Namespaces[:3]
			s.Linux.Sysctl = map[string]string{"kernel.msgmax": "1"}
		}, field: `linux.sysctl."kernel.msgmax"`},
		{name: "bad device type", modify: func(s *specs.Spec, _ string) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c"}, {Path: "/dev/y", Type: "z"}}
		}, field: "linux.devices[1].type"},
		{name: "relative device path", modify: func(s *specs.Spec, _ string) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/x", Type: "c"}}
		}, field: "linux.devices[0].path"},
		{name: "relative mount destination", modify: func(s *specs.Spec, _ string) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "tmp", Type: "tmpfs"})
		}, field: "mounts[1].destination"},
		{name: "relative prestart hook", modify: func(s *specs.Spec, _ string) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "hook"}}} //nolint:staticcheck // deprecated, still in the spec
		}, field: "hooks.prestart[0].path"},
		{name: "relative poststop hook", modify: func(s *specs.Spec, _ string) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}, {Path: "true"}}}
		}, field: "hooks.poststop[1].path"},
		{name: "zero hook timeout", modify: func(s *specs.Spec, _ string) {
			zero := 0
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
		}, field: "hooks.createRuntime[0].timeout"},
		{name: "hooks", modify: func(s *specs.Spec, _ string) {
			one := 1
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true", Timeout: &one}}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle := newBundle(t)
			spec := validSpec()
			tc.modify(spec, bundle)
			rootfs, err := Validate(spec, bundle)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if want, _ := filepath.EvalSymlinks(filepath.Join(bundle, "rootfs")); rootfs != want {
					t.Errorf("Validate rootfs = %q, want %q", rootfs, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the spec; want a refusal naming %s", tc.field)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v is not ErrConfig", err)
			}
			if !strings.HasPrefix(err.Error(), "config.json: "+tc.field) {
				t.Errorf("error %q does not start with %q", err, "config.json: "+tc.field)
			}
			if strings.Contains(err.Error(), ErrConfig.Error()) {
				t.Errorf("error %q repeats the class %q", err, ErrConfig)
			}
		})
	}
}

// TestValidateRootfsSymlink: a root.path that is itself a symlink is refused (where it leads is the link owner's
// choice, not the config's), one below a symlinked parent is resolved, so later joins never go through a link.
func TestValidateRootfsSymlink(t *testing.T) {
	bundle := newBundle(t)
	if err := os.Symlink("rootfs", filepath.Join(bundle, "link")); err != nil {
		t.Fatal(err)
	}
	spec := validSpec()
	spec.Root.Path = "link"
	if _, err := Validate(spec, bundle); err == nil || !strings.Contains(err.Error(), "root.path") || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("Validate(root.path symlink) = %v, want a root.path symlink error", err)
	}
	parent := filepath.Join(t.TempDir(), "via")
	if err := os.Symlink(bundle, parent); err != nil {
		t.Fatal(err)
	}
	spec.Root.Path = filepath.Join(parent, "rootfs")
	rootfs, err := Validate(spec, bundle)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(bundle, "rootfs"))
	if rootfs != want {
		t.Errorf("rootfs = %q, want %q", rootfs, want)
	}
	spec.Root.Path = "/"
	if _, err := Validate(spec, bundle); err == nil || !strings.Contains(err.Error(), "host's root") {
		t.Errorf("Validate(root.path /) = %v, want a host's root error", err)
	}
}

// TestValidateHooksDeterministic: with two bad hook kinds the refusal must name the same one every time; ranging
// over a map picks one at random.
func TestValidateHooksDeterministic(t *testing.T) {
	bundle := newBundle(t)
	spec := validSpec()
	spec.Hooks = &specs.Hooks{
		CreateRuntime: []specs.Hook{{Path: "a"}}, CreateContainer: []specs.Hook{{Path: "b"}},
		StartContainer: []specs.Hook{{Path: "c"}}, Poststart: []specs.Hook{{Path: "d"}}, Poststop: []specs.Hook{{Path: "e"}},
	}
	seen := map[string]bool{}
	for range 50 {
		_, err := Validate(spec, bundle)
		if err == nil {
			t.Fatal("Validate accepted relative hook paths")
		}
		seen[err.Error()] = true
	}
	if len(seen) != 1 {
		t.Errorf("Validate gave %d different errors for one spec: %q", len(seen), keys(seen))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValidateProcessPrefix(t *testing.T) {
	err := ValidateProcess(&specs.Process{Cwd: "/"}, "process.json")
	if err == nil || !strings.HasPrefix(err.Error(), "config.json: process.json.args") {
		t.Errorf("ValidateProcess = %v, want it to name process.json.args", err)
	}
}

func TestDefaultSpec(t *testing.T) {
	tests := []struct {
		name     string
		rootless bool
	}{
		{name: "root"},
		{name: "rootless", rootless: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle := newBundle(t)
			spec := DefaultSpec(tc.rootless)
			// What `rt spec` writes goes through JSON before create reads it back.
			data, err := json.Marshal(spec)
			if err != nil {
				t.Fatal(err)
			}
			writeConfig(t, bundle, string(data))
			loaded, err := LoadSpec(bundle)
			if err != nil {
				t.Fatalf("LoadSpec of DefaultSpec: %v", err)
			}
			if _, err := Validate(loaded, bundle); err != nil {
				t.Fatalf("Validate(DefaultSpec(%v)): %v", tc.rootless, err)
			}
			hasUser := false
			for _, ns := range loaded.Linux.Namespaces {
				if ns.Type == specs.UserNamespace {
					hasUser = true
				}
				if tc.rootless && ns.Type == specs.NetworkNamespace {
					t.Errorf("rootless spec has a network namespace")
				}
			}
			if hasUser != tc.rootless {
				t.Errorf("user namespace = %v, want %v", hasUser, tc.rootless)
			}
			if !tc.rootless {
				if len(loaded.Linux.UIDMappings) != 0 || len(loaded.Linux.GIDMappings) != 0 {
					t.Errorf("root spec has id mappings")
				}
				return
			}
			uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
			wantUID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uid, Size: 1}}
			wantGID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: gid, Size: 1}}
			if !equalMaps(loaded.Linux.UIDMappings, wantUID) || !equalMaps(loaded.Linux.GIDMappings, wantGID) {
				t.Errorf("mappings uid %+v gid %+v, want the caller's %d:%d as root", loaded.Linux.UIDMappings, loaded.Linux.GIDMappings, uid, gid)
			}
			if loaded.Linux.Resources != nil {
				t.Errorf("rootless spec has resources %+v", loaded.Linux.Resources)
			}
		})
	}
}

func equalMaps(a, b []specs.LinuxIDMapping) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDefaultSpecFresh checks each call returns its own spec: `rt spec --rootless` must not change a later one.
func TestDefaultSpecFresh(t *testing.T) {
	a := DefaultSpec(true)
	a.Mounts[0].Destination = "/changed"
	a.Process.Args[0] = "changed"
	b := DefaultSpec(false)
	if b.Mounts[0].Destination == "/changed" || b.Process.Args[0] == "changed" {
		t.Error("DefaultSpec results share memory")
	}
}

// TestValidateLinuxAttrs: every config rt accepts passes, and every refusal is a config error that names its JSON path.
func TestValidateLinuxAttrs(t *testing.T) {
	// Point the host checks at an empty directory: no resctrl, no AppArmor, no SELinux, whatever the test host has.
	dir := t.TempDir()
	oldResctrl, oldApparmor, oldSelinux := resctrlPath, apparmorPaths, selinuxfsPath
	resctrlPath = filepath.Join(dir, "resctrl")
	apparmorPaths = [2]string{filepath.Join(dir, "apparmor"), filepath.Join(dir, "enabled")}
	selinuxfsPath = filepath.Join(dir, "selinux")
	t.Cleanup(func() { resctrlPath, apparmorPaths, selinuxfsPath = oldResctrl, oldApparmor, oldSelinux })

	sched := func(s specs.Scheduler) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.Scheduler = &s }
	}
	ioprio := func(class specs.IOPriorityClass, prio int) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.IOPriority = &specs.LinuxIOPriority{Class: class, Priority: prio} }
	}
	affinity := func(initial, final string) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: initial, Final: final} }
	}
	mempol := func(mode specs.MemoryPolicyModeType, nodes string, flags ...specs.MemoryPolicyFlagType) func(*specs.Spec) {
		return func(sp *specs.Spec) {
			sp.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: mode, Nodes: nodes, Flags: flags}
		}
	}
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string // "" means valid; otherwise the JSON path the error must name
		want   string // more text the error must contain
	}{
		{name: "none of the fields"},
		{name: "no process", mutate: func(s *specs.Spec) { s.Process = nil }},
		{name: "SCHED_OTHER with nice", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: -5})},
		{name: "SCHED_BATCH", mutate: sched(specs.Scheduler{Policy: specs.SchedBatch, Nice: 19})},
		{name: "SCHED_IDLE", mutate: sched(specs.Scheduler{Policy: specs.SchedIdle})},
		{name: "SCHED_FIFO", mutate: sched(specs.Scheduler{Policy: specs.SchedFIFO, Priority: 1})},
		{name: "SCHED_RR", mutate: sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 99, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}})},
		{name: "SCHED_DEADLINE", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7, Period: 1e8})},
		{name: "SCHED_DEADLINE without a period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7})},
		{name: "no policy", mutate: sched(specs.Scheduler{Nice: 1}), field: "process.scheduler.policy", want: "must be set"},
		{name: "unknown policy", mutate: sched(specs.Scheduler{Policy: "SCHED_FOO"}), field: "process.scheduler.policy", want: `unknown policy "SCHED_FOO"`},
		{name: "SCHED_ISO", mutate: sched(specs.Scheduler{Policy: specs.SchedISO}), field: "process.scheduler.policy", want: "not implemented"},
		{name: "nice too low", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: -21}), field: "process.scheduler.nice", want: "-21"},
		{name: "nice too high", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: 20}), field: "process.scheduler.nice", want: "20"},
		{name: "priority with SCHED_OTHER", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Priority: 5}), field: "process.scheduler.priority", want: "only SCHED_FIFO and SCHED_RR"},
		{name: "SCHED_FIFO without priority", mutate: sched(specs.Scheduler{Policy: specs.SchedFIFO}), field: "process.scheduler.priority", want: "1 to 99"},
		{name: "SCHED_RR priority 100", mutate: sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 100}), field: "process.scheduler.priority", want: "1 to 99"},
		{name: "runtime without SCHED_DEADLINE", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Runtime: 1}), field: "process.scheduler", want: "only for SCHED_DEADLINE"},
		{name: "SCHED_DEADLINE without deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6}), field: "process.scheduler.deadline", want: "must be set"},
		{name: "SCHED_DEADLINE runtime too small", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1000, Deadline: 1e7}), field: "process.scheduler.runtime", want: "minimum"},
		{name: "SCHED_DEADLINE runtime above deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2e7, Deadline: 1e7}), field: "process.scheduler.runtime", want: "above the deadline"},
		{name: "SCHED_DEADLINE deadline above period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e8, Period: 1e7}), field: "process.scheduler.deadline", want: "above the period"},
		{name: "SCHED_DEADLINE huge period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7, Period: 1 << 63}), field: "process.scheduler", want: "2^63"},
		{name: "unknown scheduler flag", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagKeepParams, "SCHED_FLAG_FOO"}}), field: "process.scheduler.flags[1]", want: `"SCHED_FLAG_FOO"`},

		{name: "ioPriority RT", mutate: ioprio(specs.IOPRIO_CLASS_RT, 0)},
		{name: "ioPriority BE", mutate: ioprio(specs.IOPRIO_CLASS_BE, 7)},
		{name: "ioPriority IDLE", mutate: ioprio(specs.IOPRIO_CLASS_IDLE, 0)},
		{name: "ioPriority unknown class", mutate: ioprio("IOPRIO_CLASS_NONE", 0), field: "process.ioPriority.class", want: `"IOPRIO_CLASS_NONE"`},
		{name: "ioPriority 8", mutate: ioprio(specs.IOPRIO_CLASS_BE, 8), field: "process.ioPriority.priority", want: "0 to 7"},
		{name: "ioPriority negative", mutate: ioprio(specs.IOPRIO_CLASS_BE, -1), field: "process.ioPriority.priority", want: "0 to 7"},

		{name: "affinity both", mutate: affinity("0-1", "0")},
		{name: "affinity empty", mutate: affinity("", "")},
		{name: "affinity initial bad", mutate: affinity("0-", ""), field: "process.execCPUAffinity.initial", want: `"0-"`},
		{name: "affinity final bad", mutate: affinity("0", "a"), field: "process.execCPUAffinity.final", want: `"a"`},
		{name: "affinity backwards", mutate: affinity("3-1", ""), field: "process.execCPUAffinity.initial", want: "backwards"},

		{name: "apparmor without AppArmor", mutate: func(s *specs.Spec) { s.Process.ApparmorProfile = "runtime/default" }, field: "process.apparmorProfile", want: "AppArmor is not enabled on this host"},
		{name: "selinux without SELinux", mutate: func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" }, field: "process.selinuxLabel", want: "selinux label is specified in config, but selinux is disabled or not supported"},

		{name: "personality LINUX", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux} }},
		{name: "personality LINUX32", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32} }},
		{name: "personality unknown domain", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "SVR4"} }, field: "linux.personality.domain", want: `"SVR4"`},
		{name: "personality flag", mutate: func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, field: "linux.personality.flags[0]", want: `"ADDR_NO_RANDOMIZE"`},

		{name: "mempolicy default", mutate: mempol(specs.MpolDefault, "")},
		{name: "mempolicy local", mutate: mempol(specs.MpolLocal, "")},
		{name: "mempolicy bind", mutate: mempol(specs.MpolBind, "0", specs.MpolFNumaBalancing)},
		{name: "mempolicy interleave static", mutate: mempol(specs.MpolInterleave, "0-3,7", specs.MpolFStaticNodes)},
		{name: "mempolicy preferred no nodes", mutate: mempol(specs.MpolPreferred, "")},
		{name: "mempolicy weighted interleave", mutate: mempol(specs.MpolWeightedInterleave, "0", specs.MpolFRelativeNodes)},
		{name: "mempolicy unknown mode", mutate: mempol("MPOL_FOO", ""), field: "linux.memoryPolicy.mode", want: `"MPOL_FOO"`},
		{name: "mempolicy unknown flag", mutate: mempol(specs.MpolBind, "0", "MPOL_F_FOO"), field: "linux.memoryPolicy.flags[0]", want: `"MPOL_F_FOO"`},
		{name: "mempolicy static and relative", mutate: mempol(specs.MpolBind, "0", specs.MpolFStaticNodes, specs.MpolFRelativeNodes), field: "linux.memoryPolicy.flags", want: "exclude each other"},
		{name: "mempolicy numa balancing without bind", mutate: mempol(specs.MpolInterleave, "0", specs.MpolFNumaBalancing), field: "linux.memoryPolicy.flags", want: "MPOL_BIND"},
		{name: "mempolicy default with nodes", mutate: mempol(specs.MpolDefault, "0"), field: "linux.memoryPolicy.nodes", want: "requires 0 nodes but got 1"},
		{name: "mempolicy local static", mutate: mempol(specs.MpolLocal, "", specs.MpolFStaticNodes), field: "linux.memoryPolicy.flags", want: "MPOL_LOCAL"},
		{name: "mempolicy preferred relative without nodes", mutate: mempol(specs.MpolPreferred, "", specs.MpolFRelativeNodes), field: "linux.memoryPolicy.nodes", want: "needs a node"},
		{name: "mempolicy bind without nodes", mutate: mempol(specs.MpolBind, ""), field: "linux.memoryPolicy.nodes", want: "at least one node"},
		{name: "mempolicy bad nodes", mutate: mempol(specs.MpolBind, "0,,1"), field: "linux.memoryPolicy.nodes", want: "not a number"},

		{name: "intelRdt without resctrl", mutate: func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c"} }, field: "linux.intelRdt", want: "the host has no resctrl filesystem (mount -t resctrl)"},
		{name: "netDevices duplicate container name", mutate: func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}, "eth0": {Name: "eth1"}}
		}, field: `linux.netDevices["eth1"]`, want: `container name "eth1" is also the container name of linux.netDevices["eth0"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			if tt.mutate != nil {
				tt.mutate(spec)
			}
			err := validateLinuxAttrs(spec)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("validateLinuxAttrs: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validateLinuxAttrs: nil, want an error naming %s", tt.field)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %q is not ErrConfig", err)
			}
			if prefix := "config.json: " + tt.field + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestValidateLinuxAttrsHost: on this host (no resctrl, no AppArmor, no SELinux, as the issue says) the LSM and RDT
// fields are refused through the real host checks, naming the field. (Where AppArmor is enabled the profile is
// accepted: TestValidateAppArmorEnabled.)
func TestValidateLinuxAttrsHost(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string
	}{
		{name: "apparmorProfile", mutate: func(s *specs.Spec) { s.Process.ApparmorProfile = "p" }, field: "process.apparmorProfile"},
		{name: "selinuxLabel", mutate: func(s *specs.Spec) { s.Process.SelinuxLabel = "l" }, field: "process.selinuxLabel"},
		{name: "intelRdt", mutate: func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{} }, field: "linux.intelRdt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(spec)
			err := validateLinuxAttrs(spec)
			if !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), "config.json: "+tt.field+": ") {
				t.Errorf("validateLinuxAttrs = %v, want a config error naming %s", err, tt.field)
			}
		})
	}
}

// TestIDPattern checks the hand-written id check against the regexp it stands for: on every string of up to two
// bytes (each byte in the first and in a later position, UTF-8 or not), and on longer ones.
func TestIDPattern(t *testing.T) {
	re := regexp.MustCompile(idPattern)
	ids := []string{"", "A-b_c+d.e", "..", ".a", "a.", "a/b", "a b", "\u00e9t\u00e9", "a\x00b", "a:b", "abc\n", "0.0.0"}
	for a := 0; a < 256; a++ {
		ids = append(ids, string([]byte{byte(a)}))
		for b := 0; b < 256; b++ {
			ids = append(ids, string([]byte{byte(a), byte(b)}))
		}
	}
	for _, id := range ids {
		if got, want := matchesIDPattern(id), re.MatchString(id); got != want {
			t.Errorf("matchesIDPattern(%q) = %v, want %v", id, got, want)
		}
	}
}
