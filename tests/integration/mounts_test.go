package integration

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/tests/probe/report"
)

// decodeAll decodes a stream of JSON values (one per probe run in a shell script) into vs, in order.
func decodeAll(t *testing.T, out string, vs ...any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	for i, v := range vs {
		if err := dec.Decode(v); err != nil {
			t.Fatalf("probe output value %d: %v in %q", i, err, out)
		}
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("unexpected extra probe output in %q", out)
	}
}

// findMount returns the last (topmost) mount at mountpoint.
func findMount(ms []Mount, mountpoint string) (Mount, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Mountpoint == mountpoint {
			return ms[i], true
		}
	}
	return Mount{}, false
}

func hasOpt(opts, opt string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// probeResult is `probe write`'s output.
type probeResult = report.Result

// TestRootReadonly: root.readonly makes / read-only (EROFS); without it / is writable.
func TestRootReadonly(t *testing.T) {
	t.Parallel()
	for _, ro := range []bool{true, false} {
		name := map[bool]string{true: "readonly", false: "writable"}[ro]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var res probeResult
			runProbe(t, func(s *specs.Spec) {
				s.Root.Readonly = ro
				s.Process.Args = []string{"/probe", "write", "/newfile"}
			}, &res)
			want := map[bool]string{true: "EROFS", false: ""}[ro]
			if res.Error != want {
				t.Errorf("write /newfile: %q, want %q", res.Error, want)
			}
		})
	}
}

// TestMounts: the config's mounts, in order, with their options, each destination created inside the rootfs.
func TestMounts(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "hello"), "hello from the host\n")
	tests := []struct {
		name  string
		mount specs.Mount
		args  []string // a shell script printing JSON values, checked by check
		check func(t *testing.T, out string)
	}{
		{name: "tmpfs with options", mount: specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "noexec", "mode=1770", "size=1m", "uid=1000"}},
			args: []string{"/probe mounts; /probe stat /scratch; /probe write /scratch/f"},
			check: func(t *testing.T, out string) {
				var ms []Mount
				var st []Stat
				var w probeResult
				decodeAll(t, out, &ms, &st, &w)
				m, ok := findMount(ms, "/scratch")
				if !ok {
					t.Fatalf("no mount at /scratch")
				}
				if m.FSType != "tmpfs" || !hasOpt(m.Options, "nosuid") || !hasOpt(m.Options, "nodev") || !hasOpt(m.Options, "noexec") {
					t.Errorf("/scratch: %+v, want tmpfs nosuid,nodev,noexec", m)
				}
				if !hasOpt(m.Super, "size=1024k") || !hasOpt(m.Super, "mode=1770") || !hasOpt(m.Super, "uid=1000") {
					t.Errorf("/scratch super options %q, want size=1024k,mode=1770,uid=1000", m.Super)
				}
				if st[0].Mode != "1770" || st[0].UID != 1000 {
					t.Errorf("/scratch: %+v, want mode 1770 uid 1000", st[0])
				}
				if w.Error != "" {
					t.Errorf("write in a rw tmpfs on a read-only root: %s", w.Error)
				}
			}},
		{name: "bind read-only", mount: specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "ro"}},
			args: []string{"cat /data/hello; /probe write /data/new"},
			check: func(t *testing.T, out string) {
				first, rest, _ := strings.Cut(out, "\n")
				if first != "hello from the host" {
					t.Errorf("cat /data/hello = %q", first)
				}
				var w probeResult
				decodeAll(t, rest, &w)
				if w.Error != "EROFS" {
					t.Errorf("write into a ro bind: %q, want EROFS", w.Error)
				}
				if exists(filepath.Join(host, "new")) {
					t.Errorf("a write through a ro bind reached the host")
				}
			}},
		{name: "bind read-write", mount: specs.Mount{Destination: "/data", Type: "none", Source: host, Options: []string{"bind"}},
			args: []string{"/probe write /data/rw"},
			check: func(t *testing.T, out string) {
				var w probeResult
				decodeAll(t, out, &w)
				if w.Error != "" || readFile(filepath.Join(host, "rw")) != "probe\n" {
					t.Errorf("write through a rw bind: %q, host file %q", w.Error, readFile(filepath.Join(host, "rw")))
				}
			}},
		{name: "bind a file", mount: specs.Mount{Destination: "/etc/greeting", Type: "bind", Source: filepath.Join(host, "hello"), Options: []string{"bind", "ro"}},
			args: []string{"cat /etc/greeting"},
			check: func(t *testing.T, out string) {
				if out != "hello from the host\n" {
					t.Errorf("cat /etc/greeting = %q", out)
				}
			}},
		{name: "nested destination created", mount: specs.Mount{Destination: "/a/b/c", Type: "tmpfs", Source: "tmpfs"},
			args: []string{"/probe mounts"},
			check: func(t *testing.T, out string) {
				var ms []Mount
				decodeAll(t, out, &ms)
				if m, ok := findMount(ms, "/a/b/c"); !ok || m.FSType != "tmpfs" {
					t.Errorf("/a/b/c: %+v %v, want a tmpfs", m, ok)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, tc.mount)
				s.Process.Args = append([]string{"sh", "-c"}, tc.args...)
			})
			r := mustRT(t, "run", "--bundle", b, newID(t))
			tc.check(t, r.Stdout)
		})
	}
}

// TestMountOrder: mounts apply in config order, so a later one covers an earlier one at the same place.
func TestMountOrder(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/m", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			specs.Mount{Destination: "/m", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=2m"}})
		s.Process.Args = []string{"/probe", "mounts"}
	})
	var ms []Mount
	decode(t, mustRT(t, "run", "--bundle", b, newID(t)).Stdout, &ms)
	if m, ok := findMount(ms, "/m"); !ok || !hasOpt(m.Super, "size=2048k") {
		t.Errorf("top mount at /m: %+v, want the second (size=2048k)", m)
	}
}

// TestMountEscape: a mount destination that leads out of the rootfs through a symlink (absolute or
// relative) must end up inside the rootfs, or be refused; the host is never touched.
func TestMountEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target func(outside string) string // the symlink's target
	}{
		{name: "absolute symlink", target: func(outside string) string { return outside }},
		{name: "relative symlink", target: func(outside string) string { return strings.Repeat("../", 20) + outside[1:] }},
		{name: "absolute symlink to a missing dir", target: func(outside string) string { return filepath.Join(outside, "newdir") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			outside := t.TempDir()
			b := bundle(t, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/escape", Type: "tmpfs", Source: "tmpfs"})
				s.Process.Args = []string{"sh", "-c", "touch /escape/marker"}
			})
			if err := os.Symlink(tc.target(outside), filepath.Join(b, "rootfs", "escape")); err != nil {
				t.Fatal(err)
			}
			id := newID(t)
			r := rt(t, "run", "--bundle", b, id)
			switch r.Code {
			case 0: // resolved inside the rootfs
			case 1:
				oneLine(t, r, "escape")
				assertNoLeak(t, stateRoot(t), id, b)
			default:
				t.Errorf("run: %v, want exit 0 (mounted inside) or 1 (refused)", r)
			}
			ents, err := os.ReadDir(outside)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 0 {
				t.Errorf("the host directory %s was written: %v", outside, ents)
			}
			if strings.Contains(readFile("/proc/self/mountinfo"), outside) {
				t.Errorf("a mount landed on the host at %s", outside)
			}
		})
	}
}

// TestMaskedReadonlyPaths: masked paths read as /dev/null (files) or an empty read-only tmpfs (directories);
// read-only paths refuse writes with EROFS.
func TestMaskedReadonlyPaths(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "/probe stat /proc/kcore /proc/keys; /probe mounts; " +
			"/probe write /proc/sys/kernel/domainname; wc -c < /proc/keys; ls -A /sys/firmware | wc -l"}
	})
	r := mustRT(t, "run", "--bundle", b, newID(t))
	// The last two lines are the shell's counts; the rest is JSON.
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("output %q", r.Stdout)
	}
	var st []Stat
	var ms []Mount
	var w probeResult
	decodeAll(t, strings.Join(lines[:len(lines)-2], "\n"), &st, &ms, &w)
	for _, s := range st {
		// /proc/kcore is absent from some kernels (CONFIG_PROC_KCORE=n); a masked path that is not there stays so.
		if s.Path == "/proc/kcore" && s.Error == "ENOENT" {
			continue
		}
		if s.Type != "char" || s.Major != 1 || s.Minor != 3 {
			t.Errorf("masked %s: %+v, want /dev/null (char 1:3)", s.Path, s)
		}
	}
	if m, ok := findMount(ms, "/sys/firmware"); !ok || m.FSType != "tmpfs" || !hasOpt(m.Options, "ro") {
		t.Errorf("masked /sys/firmware: %+v %v, want a ro tmpfs", m, ok)
	}
	// /proc/sysrq-trigger is a read-only path too, but absent from this kernel (CONFIG_MAGIC_SYSRQ=n).
	for _, p := range []string{"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"} {
		if m, ok := findMount(ms, p); !ok || !hasOpt(m.Options, "ro") {
			t.Errorf("read-only path %s: %+v %v, want a ro mount", p, m, ok)
		}
	}
	if w.Error != "EROFS" {
		t.Errorf("write to /proc/sys/kernel/domainname: %q, want EROFS", w.Error)
	}
	if n := strings.TrimSpace(lines[len(lines)-2]); n != "0" {
		t.Errorf("masked /proc/keys has %s bytes, want 0", n)
	}
	if n := strings.TrimSpace(lines[len(lines)-1]); n != "0" {
		t.Errorf("masked /sys/firmware has %s entries, want 0", n)
	}
}

// TestDefaultDev: /dev has the default devices, the fd/stdio links, pts, shm and mqueue; the devices work.
func TestDefaultDev(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("sh", "-c", "/probe stat /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "+
		"/dev/ptmx /dev/fd /dev/stdin /dev/stdout /dev/stderr; /probe mounts; /probe write /dev/null; head -c 4 /dev/zero | wc -c"))
	r := mustRT(t, "run", "--bundle", b, newID(t))
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	var st []Stat
	var ms []Mount
	var w probeResult
	decodeAll(t, strings.Join(lines[:len(lines)-1], "\n"), &st, &ms, &w)
	chars := map[string][2]uint32{"/dev/null": {1, 3}, "/dev/zero": {1, 5}, "/dev/full": {1, 7}, "/dev/random": {1, 8},
		"/dev/urandom": {1, 9}, "/dev/tty": {5, 0}}
	links := map[string]string{"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"}
	for _, s := range st {
		switch {
		case s.Path == "/dev/ptmx":
			// runc makes a symlink to pts/ptmx (the devpts instance's own); a 5:2 node would do as well.
			if !(s.Type == "link" && s.Link == "pts/ptmx") && !(s.Type == "char" && s.Major == 5 && s.Minor == 2) {
				t.Errorf("/dev/ptmx: %+v, want a link to pts/ptmx", s)
			}
		case links[s.Path] != "":
			if s.Type != "link" || s.Link != links[s.Path] {
				t.Errorf("%s: %+v, want a link to %s", s.Path, s, links[s.Path])
			}
		default:
			want := chars[s.Path]
			if s.Type != "char" || s.Major != want[0] || s.Minor != want[1] || s.Mode != "0666" {
				t.Errorf("%s: %+v, want char %d:%d mode 0666", s.Path, s, want[0], want[1])
			}
		}
	}
	for mp, fstype := range map[string]string{"/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs", "/dev/mqueue": "mqueue", "/proc": "proc", "/sys": "sysfs"} {
		if m, ok := findMount(ms, mp); !ok || m.FSType != fstype {
			t.Errorf("%s: %+v %v, want %s", mp, m, ok, fstype)
		}
	}
	if w.Error != "" {
		t.Errorf("write /dev/null: %s", w.Error)
	}
	if n := strings.TrimSpace(lines[len(lines)-1]); n != "4" {
		t.Errorf("read of /dev/zero gave %s bytes, want 4", n)
	}
}

// TestLinuxDevices: linux.devices nodes are made with their type, numbers, mode, uid and gid.
func TestLinuxDevices(t *testing.T) {
	t.Parallel()
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1001)
	var st []Stat
	runProbe(t, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/sub/myzero", Type: "c", Major: 1, Minor: 5},
		}
		s.Process.Args = []string{"/probe", "stat", "/dev/mynull", "/dev/sub/myzero"}
	}, &st)
	if s := st[0]; s.Type != "char" || s.Major != 1 || s.Minor != 3 || s.Mode != "0640" || s.UID != 1000 || s.GID != 1001 {
		t.Errorf("/dev/mynull: %+v, want char 1:3 0640 1000:1001", s)
	}
	if s := st[1]; s.Type != "char" || s.Major != 1 || s.Minor != 5 {
		t.Errorf("/dev/sub/myzero: %+v, want char 1:5", s)
	}
}

// TestRootfsPath: root.path may be relative to the bundle (any name) or absolute (anywhere).
func TestRootfsPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path func(t *testing.T, b string) string // moves the rootfs and returns root.path
	}{
		{name: "relative", path: func(t *testing.T, b string) string {
			if err := os.Rename(filepath.Join(b, "rootfs"), filepath.Join(b, "my root")); err != nil {
				t.Fatal(err)
			}
			return "my root"
		}},
		{name: "absolute in bundle", path: func(t *testing.T, b string) string { return filepath.Join(b, "rootfs") }},
		{name: "absolute elsewhere", path: func(t *testing.T, b string) string {
			dst := filepath.Join(env(t).base, "elsewhere-rootfs")
			if err := os.Rename(filepath.Join(b, "rootfs"), dst); err != nil {
				t.Fatal(err)
			}
			return dst
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, nil)
			var s specs.Spec
			decode(t, readFile(filepath.Join(b, "config.json")), &s)
			s.Root.Path = tc.path(t, b)
			writeSpec(t, b, &s)
			id := newID(t)
			r := mustRT(t, "run", "--keep", "--bundle", b, id)
			var self Self
			decode(t, r.Stdout, &self)
			want := s.Root.Path
			if !filepath.IsAbs(want) {
				want = filepath.Join(b, want)
			}
			if st := state(t, id); st.Rootfs != want {
				t.Errorf("state rootfs = %q, want %q", st.Rootfs, want)
			}
		})
	}
}

// TestTmpfsMode: a tmpfs over an existing directory takes that directory's mode (runc passes it as mode=, before
// the config's own options), also when the tmpfs is read-only; a mode= option wins.
func TestTmpfsMode(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 lets the directory's mode override an explicit mode=")
	b := bundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/m1", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}},
			specs.Mount{Destination: "/m2", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro"}},
			specs.Mount{Destination: "/m3", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=0750"}})
		s.Process.Args = []string{"stat", "-c", "%n %a", "/m1", "/m2", "/m3"}
	})
	for dir, mode := range map[string]os.FileMode{"m1": 0o711 | os.ModeSticky, "m2": 0o700, "m3": 0o711} {
		p := filepath.Join(b, "rootfs", dir)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if r := mustRT(t, "run", "--bundle", b, newID(t)); r.Stdout != "/m1 1711\n/m2 700\n/m3 750\n" {
		t.Errorf("tmpfs modes: %q, want /m1 1711, /m2 700 (ro), /m3 750 (mode=)", r.Stdout)
	}
}

// TestNoPivotNoBareProc: with --no-pivot the host's procfs and sysfs mounts are detached from the container's
// mount namespace, so a workload that makes its own user and pid namespaces cannot mount a fresh procfs, which
// the kernel allows only when a whole one is visible (runc's no_pivot.bats).
func TestNoPivotNoBareProc(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 leaves the host's /proc reachable under --no-pivot")
	b := bundle(t, func(s *specs.Spec) {
		s.Root.Readonly = false
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_SETFCAP")
		c.Permitted = append(c.Permitted, "CAP_SETFCAP")
		c.Effective = append(c.Effective, "CAP_SETFCAP")
		s.Process.Args = []string{"unshare", "-mrpf", "sh", "-c", "mkdir -p /tmp/p && mount -t proc none /tmp/p && echo mounted"}
	})
	r := rt(t, "run", "--no-pivot", "--bundle", b, newID(t))
	if strings.Contains(r.Stderr, "unshare(") {
		t.Skipf("the workload cannot make a user namespace on this host: %s", r.Stderr)
	}
	if r.Code == 0 || strings.Contains(r.Stdout, "mounted") || !strings.Contains(r.Stderr, "permission denied") {
		t.Errorf("mount -t proc in a --no-pivot container: %v, want it refused (permission denied)", r)
	}
}

// TestNoPivotKeepsHostProc: --no-pivot detaches the host's procfs and sysfs in the container's mount namespace
// only. With rootfsPropagation rshared, "/" there is a peer of the host's, and an unmount propagates to the peers
// of the mount it is on: the host's /proc and /sys must survive. The "host" is a private mount namespace of the
// test's with a shared "/" (as systemd makes it) and the rootfs on a mount of its own.
func TestNoPivotKeepsHostProc(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc 1.5.3 detaches the host's /proc and /sys (its msMoveRoot unmounts below a shared \"/\")")
	b := bundle(t, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Linux.RootfsPropagation = "rshared"
		s.Process.Args = []string{"true"}
	})
	rootfs := filepath.Join(b, "rootfs")
	script := `set -e
mount --make-rshared /
mount --bind "$3" "$3"
"$1" --root "$2" run --no-pivot --bundle "$4" "$5"
grep -c -E '^[^ ]+ [^ ]+ [^ ]+ / /(proc .* - proc|sys .* - sysfs) ' /proc/self/mountinfo`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
		runtimeBin, stateRoot(t), rootfs, b, newID(t))
	out, err := outputTracked(cmd)
	if err != nil || strings.TrimSpace(string(out)) != "2" {
		t.Errorf("--no-pivot with rootfsPropagation rshared: %v: %q, want the host's /proc and /sys kept (2)", err, out)
	}
}

// TestMountOrderContainerSource: a bind source or destination written as a path under the rootfs's host path is
// taken inside the container's rootfs, as it is when its turn comes, so a bind of a tree built by earlier mounts
// copies that tree; also with a user namespace (the sources below a directory it cannot search) and idmapped
// (runc's mounts.bats "mount order, container bind-mount source").
func TestMountOrderContainerSource(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 resolves a rootfs host path as a host path")
	for _, tc := range []struct {
		name          string
		userns, idmap bool
	}{
		{name: "plain"}, {name: "userns", userns: true}, {name: "idmap", idmap: true}, {name: "userns idmap", userns: true, idmap: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := makeBundle(t, tc.userns, nil)
			rootfs := filepath.Join(b, "rootfs")
			src := filepath.Join(b, "bind-src")
			for _, sub := range []string{"a/x", "b/y", "c/z"} {
				if err := os.MkdirAll(filepath.Join(src, sub), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(src, sub, "file"), sub+"\n")
				top := filepath.Dir(sub)
				if err := os.Symlink(top, filepath.Join(src, "sym-"+top)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(src, 0o750); err != nil { // the user namespace cannot search it: sources go by fd
				t.Fatal(err)
			}
			for _, d := range []string{"mnt", "final"} {
				if err := os.Mkdir(filepath.Join(rootfs, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			s := defaultSpec()
			if tc.userns {
				withUserns(s)
				if err := os.Lchown(filepath.Join(rootfs, "mnt"), usernsHostID, usernsHostID); err != nil {
					t.Fatal(err)
				}
			}
			bind := func(source, dest string, ctr bool) {
				m := specs.Mount{Source: source, Destination: dest, Type: "bind", Options: []string{"rbind", "rprivate"}}
				if ctr && tc.idmap {
					m.UIDMappings = idRange(0, usernsHostID, usernsSize)
					m.GIDMappings = idRange(0, usernsHostID, usernsSize)
				}
				s.Mounts = append(s.Mounts, m)
			}
			bind(filepath.Join(src, "a"), "/mnt", false)
			bind(filepath.Join(src, "sym-b"), "/mnt/x", false)
			bind(filepath.Join(src, "c"), "/mnt/x/y", false)
			bind(filepath.Join(src, "sym-a"), "/mnt/x/y/z", false)
			bind(filepath.Join(rootfs, "mnt/x"), filepath.Join(rootfs, "mnt/x/y/z/x"), true)
			bind(filepath.Join(rootfs, "mnt/x/y"), filepath.Join(rootfs, "mnt/x/y/z"), true)
			bind(filepath.Join(rootfs, "mnt"), filepath.Join(rootfs, "final"), true)
			s.Process.Args = []string{"cat", "/final/x/y/z/z/x/y/z/x/file"}
			writeSpec(t, b, s)
			if r := rt(t, "run", "--bundle", b, newID(t)); r.Code != 0 || r.Stdout != "a/x\n" {
				t.Errorf("run: %v, want a/x (the tree the earlier mounts built)", r)
			}
		})
	}
}

// TestBindSourceInRootSymlink: a bind source written as a path in the rootfs is resolved inside the rootfs, so a
// symlink there to a host directory leads to the rootfs's own directory of that name, never to the host's. runc
// 1.5.3 follows it to the host.
func TestBindSourceInRootSymlink(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc 1.5.3 follows a symlink in the rootfs out to the host for a bind source")
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "marker"), "host\n")
	b := bundle(t, nil)
	rootfs := filepath.Join(b, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, host[1:]), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rootfs, host[1:], "marker"), "rootfs\n")
	if err := os.Symlink(host, filepath.Join(rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	s := defaultSpec()
	s.Mounts = append(s.Mounts, specs.Mount{Source: filepath.Join(rootfs, "evil"), Destination: "/m", Type: "bind", Options: []string{"bind"}})
	s.Process.Args = []string{"cat", "/m/marker"}
	writeSpec(t, b, s)
	if r := rt(t, "run", "--bundle", b, newID(t)); r.Code != 0 || r.Stdout != "rootfs\n" {
		t.Errorf("run: %v, want the rootfs's own directory (rootfs)", r)
	}
}

// TestMaskedPathsOnce: a masked path listed twice is masked once, and the masked directories share one read-only
// tmpfs (runc 1.5's mask.bats).
func TestMaskedPathsOnce(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 masks a path listed twice twice, and each directory with its own tmpfs")
	b := bundle(t, func(s *specs.Spec) {
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/testdir", "/testfile", "/testdir2", "/testdir", "/testfile")
		s.Process.Args = []string{"sh", "-c", "grep -c ' /testdir ' /proc/self/mountinfo; grep -c ' /testfile ' /proc/self/mountinfo; " +
			"stat -c %d /testdir /testdir2; touch /testdir2/foo"}
	})
	for _, d := range []string{"testdir", "testdir2"} {
		if err := os.Mkdir(filepath.Join(b, "rootfs", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(b, "rootfs", "testfile"), "secret\n")
	r := rt(t, "run", "--bundle", b, newID(t))
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 4 || lines[0] != "1" || lines[1] != "1" || lines[2] != lines[3] || !strings.Contains(r.Stderr, "Read-only file system") {
		t.Errorf("run: %v, want one mount each at /testdir and /testfile, one device for both directories, read-only", r)
	}
}

// TestProcSymlinkRefused: a rootfs whose /proc is a symlink fails with runc's text, which users match.
func TestProcSymlinkRefused(t *testing.T) {
	t.Parallel()
	b := bundle(t, nil)
	rootfs := filepath.Join(b, "rootfs")
	if err := os.Remove(filepath.Join(rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(rootfs, "bad-proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bad-proc", filepath.Join(rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	r := rt(t, "run", "--bundle", b, id)
	if r.Code != 1 || !strings.Contains(r.Stderr, "must be mounted on ordinary directory") {
		t.Errorf("run: %v, want exit 1 with runc's 'must be mounted on ordinary directory'", r)
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// flagSource mounts a tmpfs with the mount(2) flags flags at a new host directory (runc's mounts_sshfs.bats uses a
// fuse mount, or a tmpfs where sshfs is missing) and unmounts it at cleanup.
func flagSource(t *testing.T, flags uintptr) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil { // searchable from a user namespace
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		t.Fatal(&os.PathError{Op: "mount", Path: dir, Err: err})
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	// The flags of the mount, not of the tmpfs (mount --bind -o remount,FLAGS, as runc's test sets them).
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
		t.Fatal(&os.PathError{Op: "mount", Path: dir, Err: err})
	}
	return dir
}

// TestBindFlags: the flags of a bind mount as runc 1.5 gives them (its mounts_sshfs.bats, over a tmpfs): a bind
// without flags keeps its source's; any flag, setting or clearing, remounts it with exactly the flags asked for,
// but the atime mode, kept unless one is asked for; in a user namespace the flags the source had are locked: kept
// where not asked for, and asking to clear one fails.
func TestBindFlags(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 remounts only for setting flags, and does not keep locked ones")
	const (
		ro, nosuid, nodev, noexec = unix.MS_RDONLY, unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC
		noatime, nodiratime, nosf = unix.MS_NOATIME, unix.MS_NODIRATIME, unix.MS_NOSYMFOLLOW
	)
	tests := []struct {
		name      string
		userns    bool
		src       uintptr
		opts      string
		want, not []string // options the mount has, and has not; none: run fails with "operation not permitted"
	}{
		{name: "bind keeps", src: ro | noexec | nosf | nodiratime, opts: "bind",
			want: []string{"ro", "noexec", "nodiratime", "nosymfollow"}, not: []string{"rw"}},
		{name: "bind keeps userns", userns: true, src: ro | noexec | nosf | nodiratime, opts: "bind",
			want: []string{"ro", "noexec", "nodiratime", "nosymfollow"}, not: []string{"rw"}},
		{name: "clearing flag remounts", src: ro | noexec | nosf | nodiratime, opts: "bind,dev",
			want: []string{"rw", "nodiratime"}, not: []string{"ro", "noexec", "nosymfollow"}},
		{name: "clearing flag userns", userns: true, src: ro | noexec | nosf | nodiratime, opts: "bind,dev",
			want: []string{"ro", "noexec", "nodiratime"}, not: []string{"rw", "nosymfollow"}},
		{name: "implied rw", src: ro, opts: "bind,nosuid,nodev,rprivate",
			want: []string{"rw", "nosuid", "nodev"}, not: []string{"ro"}},
		{name: "implied rw userns", userns: true, src: ro, opts: "bind,nosuid,nodev,rprivate",
			want: []string{"ro", "nosuid", "nodev"}},
		{name: "explicit rw", src: ro, opts: "bind,rw,nosuid,nodev,rprivate",
			want: []string{"rw", "nosuid", "nodev"}, not: []string{"ro"}},
		{name: "explicit rw userns", userns: true, src: ro, opts: "bind,rw,nosuid,nodev,rprivate"},
		{name: "dev exec suid atime", src: nosuid | nodev | noexec | noatime, opts: "bind,dev,suid,exec,atime",
			want: []string{"rw", "noatime"}, not: []string{"ro", "nosuid", "nodev", "noexec"}},
		{name: "dev exec suid atime userns", userns: true, src: nosuid | nodev | noexec | noatime, opts: "bind,dev,suid,exec,atime"},
		{name: "ro", src: nodev | nosuid | noexec | noatime, opts: "bind,ro",
			want: []string{"ro"}, not: []string{"nosuid", "nodev", "noexec"}},
		{name: "ro userns", userns: true, src: nodev | nosuid | noexec | noatime, opts: "bind,ro",
			want: []string{"ro", "nosuid", "nodev", "noexec"}},
		{name: "ro symfollow", src: nodev | nosf, opts: "bind,ro,symfollow",
			want: []string{"ro"}, not: []string{"rw", "nodev", "nosymfollow"}},
		{name: "ro symfollow userns", userns: true, src: nodev | nosf, opts: "bind,ro,symfollow",
			want: []string{"ro", "nodev"}, not: []string{"nosymfollow"}},
		{name: "rw userns", userns: true, src: nodev | nosf, opts: "bind,rw",
			want: []string{"rw", "nodev"}, not: []string{"nosymfollow"}},
		{name: "ro exec", src: nodev | nosuid | noatime, opts: "bind,ro,exec",
			want: []string{"ro", "noatime"}, not: []string{"noexec", "nosuid", "nodev"}},
		{name: "ro exec userns", userns: true, src: nodev | nosuid | noatime, opts: "bind,ro,exec",
			want: []string{"ro", "nosuid", "nodev", "noatime"}, not: []string{"noexec"}},
		{name: "noatime kept", src: noatime, opts: "bind", want: []string{"noatime"}, not: []string{"relatime"}},
		{name: "norelatime keeps noatime", src: noatime, opts: "bind,norelatime", want: []string{"noatime"}, not: []string{"relatime"}},
		{name: "relatime", src: noatime, opts: "bind,relatime", want: []string{"relatime"}, not: []string{"noatime"}},
		{name: "nodiratime", src: noatime, opts: "bind,nodiratime", want: []string{"relatime", "nodiratime"}, not: []string{"noatime"}},
		{name: "strictatime clears nodiratime", src: nodiratime, opts: "bind,strictatime", want: []string{"rw"},
			not: []string{"noatime", "relatime", "nodiratime"}},
		{name: "nodiratime strictatime", src: noatime, opts: "bind,nodiratime,strictatime", want: []string{"nodiratime"},
			not: []string{"noatime", "relatime"}},
		{name: "unrelated clear userns", userns: true, src: noatime | nodiratime, opts: "bind,norelatime",
			want: []string{"noatime", "nodiratime"}},
		{name: "strictatime userns", userns: true, src: nodiratime, opts: "bind,strictatime"},
		{name: "noatime over relatime userns", userns: true, src: unix.MS_RELATIME, opts: "bind,noatime"},
		{name: "nodiratime over relatime userns", userns: true, src: unix.MS_RELATIME, opts: "bind,nodiratime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := flagSource(t, tc.src)
			b := makeBundle(t, tc.userns, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Source: src, Destination: "/mnt", Type: "bind", Options: strings.Split(tc.opts, ",")})
				s.Process.Args = []string{"awk", `$2 == "/mnt" { print $4 }`, "/proc/self/mounts"}
			})
			r := rt(t, "run", "--bundle", b, newID(t))
			if tc.want == nil {
				if r.Code == 0 || !strings.Contains(strings.ToLower(r.Stderr), "operation not permitted") {
					t.Errorf("run: %v, want it refused (operation not permitted: a locked flag cleared)", r)
				}
				return
			}
			if r.Code != 0 {
				t.Fatalf("run: %v", r)
			}
			got := strings.TrimSpace(r.Stdout)
			for _, o := range tc.want {
				if !hasOpt(got, o) {
					t.Errorf("source %#x, options %s: mount options %q, want %s", tc.src, tc.opts, got, o)
				}
			}
			for _, o := range tc.not {
				if hasOpt(got, o) {
					t.Errorf("source %#x, options %s: mount options %q, want no %s", tc.src, tc.opts, got, o)
				}
			}
		})
	}
}

// sharedBundle makes a bundle (as bundle does) on a tmpfs of its own whose mount is shared, as / is on a systemd
// host, and unmounts it, with whatever a container left mounted under it, at cleanup.
func sharedBundle(t *testing.T, mutate func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(&os.PathError{Op: "mount", Path: dir, Err: err})
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(&os.PathError{Op: "mount", Path: dir, Err: err})
	}
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	s := defaultSpec()
	if mutate != nil {
		mutate(s)
	}
	writeSpec(t, dir, s)
	return dir
}

// propagation is the propagation findmnt(8) reports for the mount at path, as seen by the tests' process.
func propagation(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command("findmnt", "-n", "-o", "PROPAGATION", "-T", path)
	cmd.Stderr = io.Discard
	out, err := outputTracked(cmd)
	if err != nil {
		t.Fatalf("findmnt %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// TestHostMountNS: a container without a mount namespace of its own changes the propagation of no mount of the
// host's (runc's host-mntns.bats), runs with root.readonly set (runc skips it there), and a mount that fails leaves
// nothing mounted on the host.
func TestHostMountNS(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 makes the host's mounts private")
	noMountNS := func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.MountNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		s.Process.Args = []string{"true"}
	}
	t.Run("propagation", func(t *testing.T) {
		t.Parallel()
		b := sharedBundle(t, noMountNS) // root.readonly stays set
		before := propagation(t, b)
		if r := rt(t, "run", "--bundle", b, newID(t)); r.Code != 0 {
			t.Fatalf("run: %v", r)
		}
		if after := propagation(t, b); after != before {
			t.Errorf("the bundle's mount is %s after the container, was %s", after, before)
		}
	})
	t.Run("failed mount", func(t *testing.T) {
		t.Parallel()
		rtOnly(t, "runc 1.5.3 leaves the rootfs bind and its mounts on the host when a mount fails without a mount namespace")
		b := sharedBundle(t, func(s *specs.Spec) {
			noMountNS(s)
			s.Root.Readonly = false
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/bad", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=nonsense"}})
		})
		id := newID(t)
		if r := rt(t, "run", "--bundle", b, id); r.Code != 1 {
			t.Fatalf("run with a bad mount: %v, want exit 1", r)
		}
		if mi := readFile("/proc/self/mountinfo"); strings.Contains(mi, filepath.Join(b, "rootfs")) {
			t.Errorf("a mount under the rootfs is left on the host after the failed run")
		}
		if exists(filepath.Join(stateRoot(t), id)) {
			t.Errorf("the state of %s is left after the failed run", id)
		}
	})
}

// TestRootfsPropagationSlave: with linux.rootfsPropagation "slave" the rootfs's parent mount is made a slave, not
// private, so a mount the host makes under the rootfs later reaches the container (runc's
// rootfsParentMountPropagation); by default it does not.
func TestRootfsPropagationSlave(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 makes the parent mount private")
	for prop, want := range map[string]bool{"slave": true, "": false} {
		t.Run("propagation "+prop, func(t *testing.T) {
			t.Parallel()
			b := sharedBundle(t, func(s *specs.Spec) {
				s.Linux.RootfsPropagation = prop
				s.Process.Args = []string{"sleep", "100000"}
			})
			if err := os.Mkdir(filepath.Join(b, "rootfs", "late"), 0o755); err != nil {
				t.Fatal(err)
			}
			id, _ := runDetached(t, b)
			late := filepath.Join(b, "rootfs", "late")
			if err := unix.Mount("tmpfs", late, "tmpfs", 0, ""); err != nil {
				t.Fatal(&os.PathError{Op: "mount", Path: late, Err: err})
			}
			r := mustRT(t, "exec", id, "awk", `$2 == "/late" { print $3 }`, "/proc/self/mounts")
			if got := strings.TrimSpace(r.Stdout) == "tmpfs"; got != want {
				t.Errorf("rootfsPropagation %q: a host mount under the rootfs reaches the container: %v, want %v", prop, got, want)
			}
		})
	}
}
