package integration

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rootlessUID is the unprivileged user the rootless test runs the runtime as.
const rootlessUID = 1000

// TestRootless: an unprivileged user runs a container from `spec --rootless`: the user namespace maps the caller to
// root, the state goes under $XDG_RUNTIME_DIR, and with no cgroup the user may write the container runs without one
// (runc's --rootless auto), leaving nothing behind.
func TestRootless(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := filepath.Join(dir, "bundle")
	makeRootfs(t, filepath.Join(b, "rootfs"))
	run := filepath.Join(dir, "xdg")
	for _, d := range []string{b, run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, rootlessUID, rootlessUID)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The test's temp dirs above are root's and 0700: let the user through.
	for d := dir; d != filepath.Dir(d) && d != filepath.Clean(os.TempDir()); d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o011 != 0o011 {
			if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	asUser := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, runtimeBin, args...)
		cmd.Dir = b
		cmd.Env = []string{"XDG_RUNTIME_DIR=" + run, "PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: rootlessUID, Gid: rootlessUID}}
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := runTracked(cmd)
		return out.String(), errOut.String(), err
	}
	if _, serr, err := asUser("spec", "--rootless"); err != nil {
		t.Fatalf("spec --rootless: %v: %s", err, serr)
	}
	var s specs.Spec
	data, err := os.ReadFile(filepath.Join(b, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"/probe", "self"}
	s.Root.Readonly = false
	writeSpec(t, b, &s)
	if err := os.Lchown(filepath.Join(b, "config.json"), rootlessUID, rootlessUID); err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	out, serr, err := asUser("run", id)
	if err != nil {
		t.Fatalf("rootless run: %v: %s", err, serr)
	}
	var self Self
	decode(t, out, &self)
	if self.UID != 0 || self.Pid != 1 {
		t.Errorf("inside: uid %d pid %d, want uid 0 pid 1", self.UID, self.Pid)
	}
	if got := idMapLine(t, self.UIDMap); got != [3]int{0, rootlessUID, 1} {
		t.Errorf("uid_map %v, want 0 %d 1", got, rootlessUID)
	}
	// runc and rt keep their state under $XDG_RUNTIME_DIR/<runtime>.
	entries, _ := filepath.Glob(filepath.Join(run, "*", id))
	if len(entries) != 0 {
		t.Errorf("state left after run: %v", entries)
	}
	assertNoLeak(t, filepath.Join(run, "rt"), id, b)
}
