package libcontainer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzLoadSpec feeds arbitrary bytes to LoadSpec as config.json, then what decodes to Validate (issue 5,
// "Robustness"): neither may panic, and every refusal is an ErrConfig error that names the config.
func FuzzLoadSpec(f *testing.F) {
	for _, s := range []*specs.Spec{DefaultSpec(false), DefaultSpec(true), validSpec()} {
		data, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `{"ociVersion":"1.0.0"}`, `{"ociVersion":"2.0.0","root":{"path":"rootfs"}}`,
		`{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{}}`,
		`{"ociVersion":"1.3.0","root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"user"},{"type":"time"}],` +
			`"uidMappings":[{"containerID":0,"hostID":1,"size":1}],"gidMappings":[],"timeOffsets":{"monotonic":{"secs":1}}}}`,
		`{"ociVersion":"1.3.0","root":{"path":"rootfs"},"linux":{"sysctl":{"net.x":"1","kernel.sem":"1"},` +
			`"devices":[{"path":"/dev/x","type":"q"}],"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}}}`,
		`{"ociVersion":"1.3.0","root":{"path":"/"},"linux":{},"hooks":{"prestart":[{"path":"x","timeout":0}]},` +
			`"mounts":[{"destination":"rel"}]}`,
		`{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/",` +
			`"capabilities":{"bounding":["CAP_NOPE"]},"rlimits":[{"type":"RLIMIT_NOFILE","soft":2,"hard":1}]},"linux":{}}`,
		"{\n\"ociVersion\": 1\n}", "{\"a\":\n\n\n", "\xff\xfe", `{"process":{"user":{"uid":-1}}}`,
	} {
		f.Add([]byte(seed))
	}
	bundle := f.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	config := filepath.Join(bundle, "config.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(config, data, 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := LoadSpec(bundle)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("LoadSpec(%q) = %v: not ErrConfig", data, err)
			}
			if !strings.Contains(err.Error(), "config.json") {
				t.Fatalf("LoadSpec(%q) = %v: names no file", data, err)
			}
			return
		}
		rootfs, err := Validate(spec, bundle)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate(%q) = %v: not ErrConfig", data, err)
			}
			if !strings.HasPrefix(err.Error(), "config.json: ") {
				t.Fatalf("Validate(%q) = %v: names no field", data, err)
			}
			return
		}
		if !filepath.IsAbs(rootfs) {
			t.Fatalf("Validate(%q) accepted rootfs %q: not absolute", data, rootfs)
		}
		if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
			t.Fatalf("Validate(%q) accepted rootfs %q: not a directory (%v)", data, rootfs, err)
		}
		// validateVersion takes any 1.x (it does not insist on full SemVer: "1" passes).
		if major, _, _ := strings.Cut(spec.Version, "."); major != "1" {
			t.Fatalf("Validate(%q) accepted ociVersion %q", data, spec.Version)
		}
		for i, m := range spec.Mounts {
			if !filepath.IsAbs(m.Destination) {
				t.Fatalf("Validate(%q) accepted relative mounts[%d].destination %q", data, i, m.Destination)
			}
		}
	})
}

// FuzzValidateID checks that no id ValidateID accepts can name anything but a direct child of the state root
// (issue 5: the container id can never lead rt to create or remove anything outside where it should).
func FuzzValidateID(f *testing.F) {
	for _, seed := range []string{
		"", ".", "..", "...", "a/b", "../x", "./x", "/", "a\x00b", ".hidden", "ok", "a.b", "a..b", "-", "+",
		"café", "a\u2215b", strings.Repeat("a", maxIDLen), strings.Repeat("a", maxIDLen+1), "a\n", "\xff",
	} {
		f.Add(seed)
	}
	const root = "/run/rt"
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID(id)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("ValidateID(%q) = %v: not ErrInvalidID", id, err)
			}
			return
		}
		if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
			t.Fatalf("ValidateID accepted %q", id)
		}
		if len(id) > maxIDLen || !utf8.ValidString(id) || strings.HasPrefix(id, ".") {
			t.Fatalf("ValidateID accepted %q", id)
		}
		p := filepath.Join(root, id)
		if filepath.Dir(p) != root || filepath.Base(p) != id {
			t.Fatalf("ValidateID accepted %q: filepath.Join(%q, id) = %q, not directly under the root", id, root, p)
		}
	})
}
