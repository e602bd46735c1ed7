package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rootlessUID is the unprivileged user the rootless test runs the runtime as.
const rootlessUID = 1000

// rootlessEnv is a bundle owned by rootlessUID and a private $XDG_RUNTIME_DIR, for running the runtime as that
// user.
type rootlessEnv struct {
	bundle string
	xdg    string
	path   string // PATH for the runtime; /usr/bin:/bin unless a test changes it
}

// newRootless makes the bundle (config from `spec --rootless`, run as the user) and the runtime dir, both owned by
// rootlessUID, and lets the user through the test's root-owned 0700 temp dirs.
func newRootless(t *testing.T) *rootlessEnv {
	t.Helper()
	dir := t.TempDir()
	r := &rootlessEnv{bundle: filepath.Join(dir, "bundle"), xdg: filepath.Join(dir, "xdg"), path: "/usr/bin:/bin"}
	makeRootfs(t, filepath.Join(r.bundle, "rootfs"))
	for _, d := range []string{r.bundle, r.xdg} {
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
	for d := dir; d != filepath.Dir(d) && d != filepath.Clean(os.TempDir()); d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o011 != 0o011 {
			if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, serr, err := r.run("spec", "--rootless"); err != nil {
		t.Fatalf("spec --rootless: %v: %s", err, serr)
	}
	return r
}

// run runs the runtime as rootlessUID in the bundle, with only XDG_RUNTIME_DIR and PATH in its environment. Its
// stdout and stderr are files, not pipes: a created container's init holds them until it exits.
func (r *rootlessEnv) run(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, args...)
	cmd.Dir = r.bundle
	cmd.Env = []string{"XDG_RUNTIME_DIR=" + r.xdg, "PATH=" + r.path}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: rootlessUID, Gid: rootlessUID}}
	var files [2]*os.File
	for i := range files {
		f, ferr := os.CreateTemp("", "rt-rootless-")
		if ferr != nil {
			return "", "", ferr
		}
		defer os.Remove(f.Name())
		defer f.Close()
		files[i] = f
	}
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	err = runTracked(cmd)
	out, _ := os.ReadFile(files[0].Name())
	errOut, _ := os.ReadFile(files[1].Name())
	return string(out), string(errOut), err
}

// spec returns the bundle's config.json.
func (r *rootlessEnv) spec(t *testing.T) *specs.Spec {
	t.Helper()
	var s specs.Spec
	data, err := os.ReadFile(filepath.Join(r.bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// writeSpec writes the bundle's config.json, owned by the user.
func (r *rootlessEnv) writeSpec(t *testing.T, s *specs.Spec) {
	t.Helper()
	writeSpec(t, r.bundle, s)
	if err := os.Lchown(filepath.Join(r.bundle, "config.json"), rootlessUID, rootlessUID); err != nil {
		t.Fatal(err)
	}
}

// assertNoLeak checks that the container id left no state dir (runc and rt keep theirs under
// $XDG_RUNTIME_DIR/<runtime>), cgroup, mount or process behind.
func (r *rootlessEnv) assertNoLeak(t *testing.T, id string) {
	t.Helper()
	if entries, _ := filepath.Glob(filepath.Join(r.xdg, "*", id)); len(entries) != 0 {
		t.Errorf("state left: %v", entries)
	}
	name := "rt"
	if isRunc {
		name = "runc"
	}
	assertNoLeak(t, filepath.Join(r.xdg, name), id, r.bundle)
}

// TestRootless: an unprivileged user runs a container from `spec --rootless`: the user namespace maps the caller to
// root, the state goes under $XDG_RUNTIME_DIR, and with no cgroup the user may write the container runs without one
// (runc's --rootless auto), leaving nothing behind.
func TestRootless(t *testing.T) {
	t.Parallel()
	r := newRootless(t)
	s := r.spec(t)
	s.Process.Terminal = false
	s.Process.Args = []string{"/probe", "self"}
	s.Root.Readonly = false
	r.writeSpec(t, s)
	id := newID(t)
	out, serr, err := r.run("run", id)
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
	r.assertNoLeak(t, id)
}

// subIDStart and subIDSize are the subordinate range TestRootlessSubIDs gives rootlessUID in /etc/subuid and
// /etc/subgid (subuid(5)).
const (
	subIDStart = 200000
	subIDSize  = 65536
)

// withSubIDs gives rootlessUID the range subIDStart:subIDSize in /etc/subuid and /etc/subgid until the test ends,
// then puts each file back exactly as it was (content, mode, owner, times), or removes it if there was none. An
// exclusive flock(2) on /etc keeps two test processes from interleaving their edits.
func withSubIDs(t *testing.T) {
	t.Helper()
	lock, err := os.Open("/etc")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		t.Fatal(os.NewSyscallError("flock", err))
	}
	t.Cleanup(func() { lock.Close() }) // runs last: after the files are back
	line := []byte(strconv.Itoa(rootlessUID) + ":" + strconv.Itoa(subIDStart) + ":" + strconv.Itoa(subIDSize) + "\n")
	for _, path := range []string{"/etc/subuid", "/etc/subgid"} {
		old, err := os.ReadFile(path)
		st, statErr := os.Stat(path)
		switch {
		case errors.Is(statErr, fs.ErrNotExist):
			t.Cleanup(func() {
				if err := os.Remove(path); err != nil {
					t.Errorf("restore %s: %v", path, err)
				}
			})
		case statErr != nil || err != nil:
			t.Fatal(errors.Join(statErr, err))
		default:
			sys := st.Sys().(*syscall.Stat_t)
			t.Cleanup(func() {
				err := errors.Join(os.WriteFile(path, old, st.Mode().Perm()), os.Chmod(path, st.Mode().Perm()),
					os.Chown(path, int(sys.Uid), int(sys.Gid)),
					os.Chtimes(path, time.Unix(sys.Atim.Unix()), time.Unix(sys.Mtim.Unix())))
				if err != nil {
					t.Errorf("restore %s: %v", path, err)
				}
			})
		}
		if err := os.WriteFile(path, append(append([]byte{}, old...), line...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRootlessSubIDs: an unprivileged user with subordinate ranges in /etc/subuid and /etc/subgid maps them into
// the container beside its own id, through newuidmap/newgidmap: both ranges are in the container's maps, the
// process runs as a uid and gid of the subordinate range, and setgroups stays allowed (the gid map came from the
// privileged helper, so no "deny" was written). Ranges the user does not own, or a missing helper, fail with
// exit 1, one line naming the field, and nothing left behind.
func TestRootlessSubIDs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Fatalf("newuidmap (install the uidmap package, scripts/deps.sh): %v", err)
	}
	withSubIDs(t)
	own := specs.LinuxIDMapping{ContainerID: 0, HostID: rootlessUID, Size: 1}
	sub := specs.LinuxIDMapping{ContainerID: 1, HostID: subIDStart, Size: subIDSize}
	notOurs := specs.LinuxIDMapping{ContainerID: 1, HostID: subIDStart + subIDSize, Size: 10}
	tests := []struct {
		name      string
		uids      []specs.LinuxIDMapping
		gids      []specs.LinuxIDMapping
		user      uint32 // process.user uid and gid
		path      string // PATH for the runtime; "" keeps /usr/bin:/bin
		wantField string // for a failure: the config field the one error line names
		// wantSetgroups is /proc/self/setgroups inside: "deny" only when rt wrote the gid map itself, which an
		// unprivileged writer may do only after denying setgroups (user_namespaces(7)).
		wantSetgroups string
	}{
		{name: "subordinate ranges", uids: []specs.LinuxIDMapping{own, sub}, gids: []specs.LinuxIDMapping{own, sub},
			user: rootlessUID, wantSetgroups: "allow"},
		{name: "subordinate uids only", uids: []specs.LinuxIDMapping{own, sub}, gids: []specs.LinuxIDMapping{own},
			user: 0, wantSetgroups: "deny"},
		{name: "subordinate gids only", uids: []specs.LinuxIDMapping{own}, gids: []specs.LinuxIDMapping{own, sub},
			user: 0, wantSetgroups: "allow"},
		{name: "uid range not in subuid", uids: []specs.LinuxIDMapping{own, notOurs}, gids: []specs.LinuxIDMapping{own, sub},
			wantField: "linux.uidMappings"},
		{name: "gid range not in subgid", uids: []specs.LinuxIDMapping{own, sub}, gids: []specs.LinuxIDMapping{own, notOurs},
			wantField: "linux.gidMappings"},
		{name: "no newuidmap", uids: []specs.LinuxIDMapping{own, sub}, gids: []specs.LinuxIDMapping{own, sub},
			path: "empty", wantField: "linux.uidMappings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRootless(t)
			if tc.path != "" {
				r.path = t.TempDir() // no helper there
			}
			s := r.spec(t)
			s.Process.Terminal = false
			// The first line is the setgroups policy, the rest the probe's JSON.
			s.Process.Args = []string{"/bin/sh", "-c", "read p < /proc/self/setgroups; echo $p; exec /probe self"}
			s.Process.User = specs.User{UID: tc.user, GID: tc.user}
			s.Root.Readonly = false
			s.Linux.UIDMappings, s.Linux.GIDMappings = tc.uids, tc.gids
			r.writeSpec(t, s)
			id := newID(t)
			out, serr, err := r.run("run", id)
			r.assertNoLeak(t, id)
			if tc.wantField != "" {
				var exitErr *exec.ExitError
				if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
					t.Fatalf("run: %v, want exit 1; stdout %q stderr %q", err, out, serr)
				}
				rtOnly(t, "the error is rt's one line naming the field; runc prints the helper's lines and its own")
				// Without a cgroup the user may write, a rootless run also warns (TestRootless); that line aside.
				var lines []string
				for _, l := range strings.Split(strings.TrimSpace(serr), "\n") {
					if !strings.Contains(l, "level=warning") {
						lines = append(lines, l)
					}
				}
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "rt: ") || !strings.Contains(lines[0], tc.wantField) {
					t.Errorf("stderr %q, want one line naming %s", serr, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v: %s", err, serr)
			}
			policy, probeOut, _ := strings.Cut(out, "\n")
			if policy != tc.wantSetgroups {
				t.Errorf("/proc/self/setgroups %q, want %s", policy, tc.wantSetgroups)
			}
			var self Self
			decode(t, probeOut, &self)
			if self.UID != int(tc.user) || self.GID != int(tc.user) {
				t.Errorf("inside: uid %d gid %d, want %d %d", self.UID, self.GID, tc.user, tc.user)
			}
			want := idMapText(tc.uids)
			if got := strings.Join(strings.Fields(self.UIDMap), " "); got != want {
				t.Errorf("uid_map %q, want %q", self.UIDMap, want)
			}
			if got := strings.Join(strings.Fields(self.GIDMap), " "); got != idMapText(tc.gids) {
				t.Errorf("gid_map %q, want %q", self.GIDMap, idMapText(tc.gids))
			}
		})
	}
}

// idMapText is m as uid_map prints it, with the whitespace folded to single spaces.
func idMapText(m []specs.LinuxIDMapping) string {
	var f []string
	for _, e := range m {
		f = append(f, strconv.Itoa(int(e.ContainerID)), strconv.Itoa(int(e.HostID)), strconv.Itoa(int(e.Size)))
	}
	return strings.Join(f, " ")
}

// TestRootlessCreated: a rootless container's created init holds a procfs handle, and (dumpable, since the
// unprivileged caller must still reach its /proc files) a process exec'd into it can open the init's fds. The handle
// must not lead out of the container: it is a procfs of the container's pid namespace, where the test's own host pid
// does not exist (through the host's procfs, <fd>/<pid>/root would be the host's root). The exec itself works
// (setgroups is denied in the container's user namespace, so the exec'd process must not call it), and
// process.oomScoreAdj is set although the parent is unprivileged.
func TestRootlessCreated(t *testing.T) {
	t.Parallel()
	r := newRootless(t)
	s := r.spec(t)
	s.Process.Terminal = false
	s.Process.Args = []string{"sleep", "100000"}
	s.Root.Readonly = false
	adj := 500
	s.Process.OOMScoreAdj = &adj
	r.writeSpec(t, s)
	id := newID(t)
	if _, serr, err := r.run("create", id); err != nil {
		t.Fatalf("rootless create: %v: %s", err, serr)
	}
	defer func() { _, _, _ = r.run("delete", "--force", id) }()
	host := strconv.Itoa(os.Getpid())
	args := []string{"exec", id, "/probe", "stat"}
	for fd := range 16 {
		args = append(args, "/proc/1/fd/"+strconv.Itoa(fd)+"/"+host+"/")
	}
	out, serr, err := r.run(args...)
	if err != nil {
		t.Fatalf("rootless exec: %v: %s", err, serr)
	}
	var stats []Stat
	decode(t, out, &stats)
	for _, st := range stats {
		if st.Error == "" {
			t.Errorf("%s resolves from inside the rootless container: the init holds a procfs of the host's pid namespace", st.Path)
		}
	}
	out, serr, err = r.run("exec", id, "cat", "/proc/1/oom_score_adj")
	if err != nil {
		t.Fatalf("rootless exec: %v: %s", err, serr)
	}
	if strings.TrimSpace(out) != "500" {
		t.Errorf("init's oom_score_adj %q, want 500", out)
	}
}
