package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// TestVersion: --version and -v print the lines go-runc parses: "NAME version X", "commit: Y" (optional to go-runc:
// runc built from the module proxy has none), "spec: Z".
func TestVersion(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--version", "-v"} {
		t.Run(flag, func(t *testing.T) {
			r := mustRT(t, flag)
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if !regexp.MustCompile(`^\S+ version \S+$`).MatchString(lines[0]) {
				t.Errorf("first line %q, want \"NAME version X\"", lines[0])
			}
			for _, prefix := range []string{"spec: ", "go: "} {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) }) {
					t.Errorf("no %q line in %q", prefix, r.Stdout)
				}
			}
			rtOnly(t, "runc prints its own name, and a commit line only when built from git")
			if !strings.HasPrefix(lines[0], "rt version ") || !slices.Contains(lines, "spec: "+specs.Version) ||
				!slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "commit: ") }) {
				t.Errorf("version %q, want \"rt version X\", a commit and \"spec: %s\"", r.Stdout, specs.Version)
			}
		})
	}
}

// TestFeatures: features prints runtime-spec features JSON with ociVersionMin/Max and the namespaces, which
// include the six a default spec asks for.
func TestFeatures(t *testing.T) {
	t.Parallel()
	r := mustRT(t, "features")
	var f features.Features
	decode(t, r.Stdout, &f)
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" {
		t.Errorf("features: ociVersionMin %q ociVersionMax %q, want both", f.OCIVersionMin, f.OCIVersionMax)
	}
	if f.Linux == nil {
		t.Fatalf("features has no linux section: %s", r.Stdout)
	}
	for _, ns := range []string{"pid", "network", "ipc", "uts", "mount", "cgroup"} {
		if !slices.Contains(f.Linux.Namespaces, ns) {
			t.Errorf("features linux.namespaces %v lacks %s", f.Linux.Namespaces, ns)
		}
	}
	if !slices.Contains(f.MountOptions, "ro") || !slices.Contains(f.MountOptions, "nosuid") {
		t.Errorf("mountOptions %v lacks ro/nosuid", f.MountOptions)
	}
	// The systemd driver is built in (--systemd-cgroup), for the system and the user instance, as in runc.
	if cg := f.Linux.Cgroup; cg == nil || cg.Systemd == nil || !*cg.Systemd || cg.SystemdUser == nil || !*cg.SystemdUser {
		t.Errorf("features linux.cgroup = %+v, want systemd and systemdUser true", cg)
	}
	oldRunc(t, "runc 1.1.5 reports ociVersionMax 1.0.2-dev")
	if f.OCIVersionMax != specs.Version {
		t.Errorf("ociVersionMax = %q, want %q", f.OCIVersionMax, specs.Version)
	}
}

// TestSpec: spec writes a runnable default config.json: into the current directory, or --bundle's; --rootless
// adds a user namespace with mappings; an existing config.json is not overwritten.
func TestSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flags []string
		check func(t *testing.T, s *specs.Spec)
	}{
		{name: "default", check: func(t *testing.T, s *specs.Spec) {
			if s.Root == nil || s.Root.Path != "rootfs" || s.Process == nil || !slices.Equal(s.Process.Args, []string{"sh"}) || !s.Process.Terminal {
				t.Errorf("spec: root %+v process %+v, want rootfs, [sh], terminal", s.Root, s.Process)
			}
			var types []string
			for _, ns := range s.Linux.Namespaces {
				types = append(types, string(ns.Type))
			}
			for _, ns := range []string{"pid", "network", "ipc", "uts", "mount"} {
				if !slices.Contains(types, ns) {
					t.Errorf("namespaces %v lack %s", types, ns)
				}
			}
			if slices.Contains(types, "user") {
				t.Errorf("namespaces %v: a user namespace without --rootless", types)
			}
			if !isOldRunc() && s.Version != specs.Version { // runc 1.1.5 says ociVersion 1.0.2-dev
				t.Errorf("ociVersion %q, want %s", s.Version, specs.Version)
			}
			rtOnly(t, "runc's spec has no cgroup namespace")
			if !slices.Contains(types, "cgroup") {
				t.Errorf("namespaces %v, want cgroup", types)
			}
		}},
		{name: "rootless", flags: []string{"--rootless"}, check: func(t *testing.T, s *specs.Spec) {
			hasUser := slices.ContainsFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.UserNamespace })
			if !hasUser || len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0 {
				t.Errorf("rootless spec: user ns %v, uid maps %v, gid maps %v", hasUser, s.Linux.UIDMappings, s.Linux.GIDMappings)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, err := os.MkdirTemp(env(t).base, "spec")
			if err != nil {
				t.Fatal(err)
			}
			mustRT(t, append(append([]string{"spec"}, tc.flags...), "--bundle", dir)...)
			var s specs.Spec
			decode(t, readFile(filepath.Join(dir, "config.json")), &s)
			tc.check(t, &s)
		})
	}
	t.Run("current directory", func(t *testing.T) {
		t.Parallel()
		dir, err := os.MkdirTemp(env(t).base, "spec")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, runtimeBin, "--root", stateRoot(t), "spec")
		cmd.Dir = dir
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := runTracked(cmd); err != nil {
			t.Fatalf("spec in %s: %v: %s", dir, err, out.String())
		}
		var s specs.Spec
		decode(t, readFile(filepath.Join(dir, "config.json")), &s)
	})
	t.Run("exists", func(t *testing.T) {
		t.Parallel()
		dir, err := os.MkdirTemp(env(t).base, "spec")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "config.json"), "keep me")
		r := rt(t, "spec", "--bundle", dir)
		if r.Code != 1 {
			t.Errorf("spec over an existing config.json: %v, want exit 1", r)
		}
		oneLine(t, r, "config.json")
		if got := readFile(filepath.Join(dir, "config.json")); got != "keep me" {
			t.Errorf("config.json overwritten: %q", got)
		}
	})
}

// TestSpecRuns: the config spec writes runs as is, once terminal is off and the rootfs is there.
func TestSpecRuns(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp(env(t).base, "spec")
	if err != nil {
		t.Fatal(err)
	}
	mustRT(t, "spec", "--bundle", dir)
	var s map[string]any
	decode(t, readFile(filepath.Join(dir, "config.json")), &s)
	// Edit the generic JSON, not specs.Spec, so fields this test does not know survive.
	proc := s["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/probe", "self"}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "config.json"), string(b))
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	r := mustRT(t, "run", "--bundle", dir, newID(t))
	var self Self
	decode(t, r.Stdout, &self)
	if self.Pid != 1 {
		t.Errorf("pid = %d, want 1", self.Pid)
	}
}

// TestSystemdCgroupRefused: on this host (not booted by systemd; hybrid cgroups) --systemd-cgroup cannot work, and
// bad systemd input is refused before that is even asked: each case is one line naming the field, exit 1, nothing
// left. The driver itself is tested under a real systemd in User-mode Linux (make test-systemd).
func TestSystemdCgroupRefused(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("this host runs systemd: the refusals below are for a host that does not (make test-systemd covers the rest)")
	}
	for _, tc := range []struct {
		name        string
		path        string
		annotations map[string]string
		want        string // what the one line names
	}{
		{name: "no systemd", path: "system.slice:rt:x", want: "systemd not running on this host"},
		{name: "empty path, no systemd", want: "systemd not running on this host"},
		{name: "two fields", path: "system.slice:x", want: `"slice:prefix:name"`},
		{name: "four fields", path: "a.slice:b:c:d", want: `"slice:prefix:name"`},
		{name: "slash in slice", path: "a/b.slice:rt:x", want: "linux.cgroupsPath"},
		{name: "dotdot in slice", path: "a..b.slice:rt:x", want: "linux.cgroupsPath"},
		{name: "not a slice", path: "system:rt:x", want: "linux.cgroupsPath"},
		{name: "empty dash component", path: "a--b.slice:rt:x", want: "linux.cgroupsPath"},
		{name: "slash in name", path: "system.slice:rt:a/b", want: "linux.cgroupsPath"},
		{name: "unknown property type", annotations: map[string]string{"org.systemd.property.TimeoutStopUSec": "uint99 5"},
			want: `annotations["org.systemd.property.TimeoutStopUSec"]`},
		{name: "bad property name", annotations: map[string]string{"org.systemd.property.A1": "true"},
			want: `annotations["org.systemd.property.A1"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bundle(t, func(s *specs.Spec) {
				s.Linux.CgroupsPath = tc.path
				s.Annotations = tc.annotations
			})
			id := newID(t)
			r := rt(t, "--systemd-cgroup", "run", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("--systemd-cgroup run: %v, want exit 1", r)
			}
			oneLine(t, r, tc.want)
			assertNoLeak(t, stateRoot(t), id, b)
		})
	}
}

// TestCheckpointRestoreHelp: `checkpoint` and `restore` answer `-h` and `--help` as runc's commands do (help.bats
// "runc command -h": NAME:, then "RUNTIME COMMAND - ..."), although rt hides them; rt, which has no CRIU support,
// then fails them with one line saying so.
func TestCheckpointRestoreHelp(t *testing.T) {
	t.Parallel()
	name := filepath.Base(runtimeBin)
	for _, cmd := range []string{"checkpoint", "restore"} {
		for _, flag := range []string{"-h", "--help"} {
			r := mustRT(t, cmd, flag)
			lines := strings.Split(r.Stdout, "\n")
			if len(lines) < 2 || lines[0] != "NAME:" || !strings.HasPrefix(strings.TrimSpace(lines[1]), name+" "+cmd+" ") {
				t.Errorf("%s %s: %q, want NAME: and then %q", cmd, flag, r.Stdout, name+" "+cmd+" - ...")
			}
		}
	}
	rtOnly(t, "runc checkpoints and restores with CRIU where it works")
	id, _ := runDetached(t, bundle(t, sleeper))
	for _, args := range [][]string{{"checkpoint", "--work-path", t.TempDir(), id}, {"restore", "-d", id + "-restored"}} {
		r := rt(t, args...)
		if r.Code != 1 {
			t.Errorf("%s: exit %d, want 1", args[0], r.Code)
		}
		oneLine(t, r, args[0]+": not supported")
	}
}

// TestHelpCommand: runc 1.5 lists "help, h" last in COMMANDS; `help` and `h` print what --help prints and
// `help CMD` / `h CMD` what `CMD --help` prints, exit 0; `help nosuch` prints nothing on stdout, an error, exit 3.
func TestHelpCommand(t *testing.T) {
	t.Parallel()
	appHelp := mustRT(t, "--help").Stdout
	_, listed, _ := strings.Cut(appHelp, "COMMANDS:\n")
	listed, _, _ = strings.Cut(listed, "\n\n")
	commands := strings.Split(strings.TrimRight(listed, "\n"), "\n")
	if last := strings.Fields(commands[len(commands)-1]); len(last) < 3 || last[0] != "help," || last[1] != "h" {
		t.Errorf("last command listed %q, want \"help, h ...\"", commands[len(commands)-1])
	}
	stateHelp := mustRT(t, "state", "--help").Stdout
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, appHelp},
		{[]string{"h"}, appHelp},
		{[]string{"help", "state"}, stateHelp},
		{[]string{"h", "state"}, stateHelp},
	} {
		if r := mustRT(t, tc.args...); r.Stdout != tc.want || r.Stderr != "" {
			t.Errorf("%v: stdout %q, stderr %q; want stdout %q", tc.args, r.Stdout, r.Stderr, tc.want)
		}
	}
	r := rt(t, "help", "nosuch")
	if r.Code != 3 || r.Stdout != "" {
		t.Errorf("help nosuch: %v, want exit 3 and no stdout", r)
	}
	oneLine(t, r, "No help topic for 'nosuch'")
}

// TestPackageInitAllocatesNothing: rt's own packages allocate nothing in package initialisation, which every rt
// process runs before main, `rt init` too (issue 15): their tables and the command tree are data, or built when first
// needed. GODEBUG=inittrace=1 prints one line per package with an init: "init PKG @T, D ms clock, B bytes, N allocs".
func TestPackageInitAllocatesNothing(t *testing.T) {
	t.Parallel()
	rtOnly(t, "a property of rt's own packages, not of the command-line contract")
	cmd := exec.Command(runtimeBin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^init (\S+) @.* clock, (\d+) bytes, (\d+) allocs$`)
	matches := line.FindAllStringSubmatch(string(out), -1)
	if len(matches) == 0 {
		t.Fatalf("no inittrace lines in:\n%s", out)
	}
	for _, m := range matches {
		if pkg := m[1]; (pkg == "main" || strings.HasPrefix(pkg, "github.com/rt-runtime/rt")) && m[3] != "0" {
			t.Errorf("package %s allocates in its initialisation: %s bytes, %s allocs", pkg, m[2], m[3])
		}
	}
}
