package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The root-only tests run the real Prepare/Pivot/Finalize in a child: this test binary re-executed with
// childEnv naming a scenario, in fresh mount and pid namespaces (so nothing it mounts reaches the host), which
// checks the result from inside and exits non-zero with the reasons on stderr.
const (
	childEnv  = "RT_ROOTFS_TEST_SCENARIO"
	paramsEnv = "RT_ROOTFS_TEST_PARAMS"
)

// params is what the parent hands a scenario.
type params struct {
	Root    string            // the rootfs
	Outside string            // a host directory the rootfs must never reach
	Src     string            // a host directory to bind
	File    string            // a host file to bind
	Extra   map[string]string `json:",omitempty"`
}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runScenario(name))
	}
	// Orphans of the scenarios are reaped here rather than by a slow PID 1 (Makefile note).
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	os.Exit(m.Run())
}

// scenarios run in the child; each returns the failed checks.
var scenarios = map[string]func(p params) []error{
	"default":         scenarioDefault,
	"symlink":         scenarioSymlink,
	"proc-symlink":    scenarioProcSymlink,
	"bind-options":    scenarioBindOptions,
	"nonexistent":     scenarioNonexistent,
	"no-pivot":        scenarioNoPivot,
	"readonly-root":   scenarioReadonlyRoot,
	"forbidden-proc":  scenarioForbiddenProc,
	"userns":          scenarioDefault,
	"idmap":           scenarioIdmap,
	"devnull-planted": scenarioDevNullPlanted,
	"ptmx-planted":    scenarioPtmxPlanted,
	"propagation":     scenarioPropagation,
}

func runScenario(name string) int {
	var p params
	if err := json.Unmarshal([]byte(os.Getenv(paramsEnv)), &p); err != nil {
		fmt.Fprintln(os.Stderr, "params:", err)
		return 2
	}
	// Nothing below may propagate back to the host, even before Prepare does the same.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		fmt.Fprintln(os.Stderr, "rslave /:", err)
		return 2
	}
	errs := scenarios[name](p)
	for _, err := range errs {
		fmt.Fprintln(os.Stderr, "CHECK FAILED:", err)
	}
	if len(errs) > 0 {
		return 1
	}
	fmt.Println("OK", name)
	return 0
}

// runChild runs scenario name in new namespaces and fails t with its report.
func runChild(t *testing.T, name string, p params, userns bool) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, paramsEnv+"="+string(b))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
	}
	if userns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK "+name) {
		t.Fatalf("scenario %s: %v\n%s", name, err, out)
	}
}

// makeRootfs builds a small busybox rootfs under dir.
func makeRootfs(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("busybox-static not installed: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "cat", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRootfsInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	tests := []struct {
		name   string
		userns bool
		setup  func(t *testing.T, p *params)
	}{
		{name: "default"},
		{name: "symlink", setup: func(t *testing.T, p *params) {
			mustSymlink(t, p.Outside, filepath.Join(p.Root, "evil"))
			mustSymlink(t, "../../../../../../../../.."+p.Outside+"/rel", filepath.Join(p.Root, "evil2"))
			mustSymlink(t, "../run/resolv.conf", filepath.Join(p.Root, "etc", "resolv.conf"))
		}},
		{name: "proc-symlink", setup: func(t *testing.T, p *params) {
			if err := os.Remove(filepath.Join(p.Root, "proc")); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, p.Outside, filepath.Join(p.Root, "proc"))
		}},
		{name: "bind-options", setup: func(t *testing.T, p *params) {
			for _, d := range []string{"copyup/sub", "tmpmode"} {
				if err := os.MkdirAll(filepath.Join(p.Root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(p.Root, "copyup", "keep"), []byte("kept"), 0o640); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, "keep", filepath.Join(p.Root, "copyup", "link"))
			if err := os.Chmod(filepath.Join(p.Root, "tmpmode"), 0o711); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "nonexistent"},
		{name: "no-pivot"},
		{name: "readonly-root"},
		{name: "forbidden-proc"},
		{name: "userns", userns: true},
		{name: "idmap"},
		{name: "devnull-planted"},
		{name: "propagation"},
		{name: "ptmx-planted", setup: func(t *testing.T, p *params) {
			// The rootfs's own /dev (no /dev mount in the spec) has a ptmx that points outside.
			mustSymlink(t, p.Outside+"/ptmx", filepath.Join(p.Root, "dev", "ptmx"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := params{
				Root:    makeRootfs(t, dir),
				Outside: filepath.Join(dir, "outside"),
				Src:     filepath.Join(dir, "src"),
				File:    filepath.Join(dir, "file"),
			}
			for _, d := range []string{p.Outside, p.Src, filepath.Join(p.Src, "sub")} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(p.File, []byte("host file"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p.Src, "owned"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, &p)
			}
			runChild(t, tt.name, p, tt.userns)
			// Nothing may have been created outside the rootfs.
			if ents, err := os.ReadDir(p.Outside); err != nil || len(ents) != 0 {
				t.Errorf("outside directory touched: %v %v", ents, err)
			}
			assertNoHostMounts(t, dir)
		})
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// assertNoHostMounts checks nothing under dir is mounted in the test's (host) namespace.
func assertNoHostMounts(t *testing.T, dir string) {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		t.Errorf("left mounted on the host: %s", m.Mountpoint)
	}
}

// defaultSpec is close to `runc spec`: its mounts, masked and read-only paths.
func defaultSpec() *specs.Spec {
	return &specs.Spec{
		Root: &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}},
			MaskedPaths: []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/scsi",
				"/sys/firmware", "/proc/does-not-exist"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// setup runs the three steps as the lead's init does.
func setup(spec *specs.Spec, root string, noPivot bool) error {
	if err := Prepare(spec, root, &Options{}); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := Pivot(root, noPivot); err != nil {
		return fmt.Errorf("pivot: %w", err)
	}
	if err := Finalize(spec); err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	return nil
}

// mounts reads this process's mountinfo once, keyed by mount point (the last mount wins).
func mounts() (map[string]*mountinfo.Info, error) {
	ms, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, err
	}
	byPoint := map[string]*mountinfo.Info{}
	for _, m := range ms {
		byPoint[m.Mountpoint] = m
	}
	return byPoint, nil
}

// checker collects failed checks.
type checker struct{ errs []error }

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// mount checks a mount point exists with fstype and every per-mount option in opts.
func (c *checker) mount(ms map[string]*mountinfo.Info, point, fstype string, opts ...string) {
	m, ok := ms[point]
	if !ok {
		c.errorf("%s: not a mount point", point)
		return
	}
	if fstype != "" && m.FSType != fstype {
		c.errorf("%s: fstype %s, want %s", point, m.FSType, fstype)
	}
	have := map[string]bool{}
	for _, o := range strings.Split(m.Options, ",") {
		have[o] = true
	}
	for _, o := range opts {
		if !have[o] {
			c.errorf("%s: options %q lack %q", point, m.Options, o)
		}
	}
}

// device checks path is the device typ (unix.S_IFCHR...) major:minor with mode perm.
func (c *checker) device(path string, typ uint32, major, minor, perm uint32) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		c.errorf("%s: %v", path, err)
		return
	}
	if st.Mode&unix.S_IFMT != typ || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		c.errorf("%s: mode %#o rdev %d:%d, want type %#o %d:%d", path, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), typ, major, minor)
	}
	if perm != 0 && st.Mode&0o7777 != perm {
		c.errorf("%s: perm %#o, want %#o", path, st.Mode&0o7777, perm)
	}
}

func (c *checker) link(path, want string) {
	got, err := os.Readlink(path)
	if err != nil || got != want {
		c.errorf("%s: link %q (%v), want %q", path, got, err, want)
	}
}

// readonly checks path refuses writes with EROFS (checked with access(2), nothing is written).
func (c *checker) readonly(path string) {
	if err := unix.Access(path, unix.W_OK); !errors.Is(err, unix.EROFS) {
		c.errorf("%s: access(W_OK) = %v, want EROFS", path, err)
	}
}

func scenarioDefault(p params) []error {
	var c checker
	spec := defaultSpec()
	uid, gid := uint32(1000), uint32(1001)
	mode := os.FileMode(0o600)
	spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}}
	userns, err := inUserNS()
	if err != nil {
		return []error{err}
	}
	if userns {
		spec.Linux.Devices = nil // the host's node is bound: its owner and mode are the host's
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace},
			specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	if err := setup(spec, p.Root, false); err != nil {
		return []error{err}
	}
	ms, err := mounts()
	if err != nil {
		return []error{err}
	}
	if wd, _ := os.Getwd(); wd != "/" {
		c.errorf("cwd %q, want /", wd)
	}
	c.mount(ms, "/proc", "proc")
	c.mount(ms, "/dev", "tmpfs", "nosuid")
	c.mount(ms, "/dev/pts", "devpts", "nosuid", "noexec")
	c.mount(ms, "/dev/shm", "tmpfs", "nosuid", "noexec", "nodev")
	c.mount(ms, "/dev/mqueue", "mqueue")
	c.mount(ms, "/sys", "sysfs", "ro", "nosuid")
	c.mount(ms, "/sys/fs/cgroup", "", "ro")
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		c.errorf("cgroup v1 memory hierarchy not visible: %v", err)
	}
	c.mount(ms, "/sys/fs/cgroup/memory", "cgroup", "ro", "nosuid")
	if userns {
		c.device("/dev/null", unix.S_IFCHR, 1, 3, 0)
		c.mount(ms, "/dev/null", "")
	} else {
		for _, d := range []struct {
			path         string
			major, minor uint32
		}{{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}} {
			c.device(d.path, unix.S_IFCHR, d.major, d.minor, 0o666)
		}
		c.device("/dev/fuse", unix.S_IFCHR, 10, 229, 0o600)
		var st unix.Stat_t
		if err := unix.Stat("/dev/fuse", &st); err != nil || st.Uid != uid || st.Gid != gid {
			c.errorf("/dev/fuse owner %d:%d (%v), want %d:%d", st.Uid, st.Gid, err, uid, gid)
		}
	}
	c.link("/dev/ptmx", "pts/ptmx")
	c.link("/dev/fd", "/proc/self/fd")
	c.link("/dev/stdin", "/proc/self/fd/0")
	c.link("/dev/stdout", "/proc/self/fd/1")
	c.link("/dev/stderr", "/proc/self/fd/2")
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		c.link("/dev/core", "/proc/kcore")
	}
	for _, d := range []string{"/dev/pts", "/dev/shm"} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			c.errorf("%s: not a directory (%v)", d, err)
		}
	}
	// Masked: a file reads empty, through the container's own busybox too.
	if b, err := os.ReadFile("/proc/keys"); err != nil || len(b) != 0 {
		c.errorf("/proc/keys: read %d bytes (%v), want 0", len(b), err)
	}
	if out, err := exec.Command("/bin/cat", "/proc/timer_list").CombinedOutput(); err != nil || len(out) != 0 {
		c.errorf("busybox cat /proc/timer_list: %q %v, want empty", out, err)
	}
	if ents, err := os.ReadDir("/sys/firmware"); err != nil || len(ents) != 0 {
		c.errorf("/sys/firmware: %d entries (%v), want an empty directory", len(ents), err)
	}
	c.readonly("/sys/firmware")
	c.readonly("/proc/sys/kernel/hostname")
	c.readonly("/proc/irq")
	c.mount(ms, "/proc/sys", "proc", "ro")
	if err := unix.Access("/tmp", unix.W_OK); err != nil {
		c.errorf("/tmp not writable: %v", err)
	}
	return c.errs
}

func scenarioSymlink(p params) []error {
	var c checker
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/evil", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/evil2/file", Type: "bind", Source: p.File, Options: []string{"bind", "ro"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: p.File, Options: []string{"rbind"}},
		{Destination: "/evil/../../../../../../proc", Type: "proc", Source: "proc"},
	}}
	if err := Prepare(spec, p.Root, nil); err != nil {
		return []error{err}
	}
	ms, err := mounts()
	if err != nil {
		return []error{err}
	}
	c.mount(ms, filepath.Join(p.Root, p.Outside), "tmpfs")
	c.mount(ms, filepath.Join(p.Root, p.Outside, "rel", "file"), "", "ro")
	c.mount(ms, filepath.Join(p.Root, "run", "resolv.conf"), "")
	c.mount(ms, filepath.Join(p.Root, "proc"), "proc")
	for point := range ms {
		if strings.HasPrefix(point, p.Outside) {
			c.errorf("mount outside the rootfs: %s", point)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.Root, "etc", "resolv.conf")); err != nil || string(b) != "host file" {
		c.errorf("resolv.conf reads %q (%v)", b, err)
	}
	return c.errs
}

func scenarioProcSymlink(p params) []error {
	var c checker
	for _, typ := range []string{"proc", "sysfs"} {
		spec := &specs.Spec{Mounts: []specs.Mount{{Destination: "/proc", Type: typ, Source: typ}}}
		err := Prepare(spec, p.Root, nil)
		if !errors.Is(err, ErrUnsafeDestination) {
			c.errorf("%s on a symlinked /proc: %v, want ErrUnsafeDestination", typ, err)
		}
	}
	return c.errs
}

func scenarioBindOptions(p params) []error {
	var c checker
	// A submount in the source, for rbind and the recursive attributes.
	if err := unix.Mount("tmpfs", filepath.Join(p.Src, "sub"), "tmpfs", 0, ""); err != nil {
		return []error{err}
	}
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/ro", Type: "bind", Source: p.Src, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}},
		{Destination: "/rro", Type: "bind", Source: p.Src, Options: []string{"rbind", "rro", "rnosuid"}},
		{Destination: "/toponly", Source: p.Src, Options: []string{"rbind", "ro"}},
		{Destination: "/shared", Type: "bind", Source: p.Src, Options: []string{"bind", "rshared"}},
		{Destination: "/atime", Type: "bind", Source: p.Src, Options: []string{"rbind", "rnoatime", "rnosymfollow", "rnodev"}},
		{Destination: "/file", Type: "bind", Source: p.File, Options: []string{"bind"}},
		{Destination: "/deep/a/b/file", Type: "bind", Source: p.File, Options: []string{"bind", "noexec"}},
		{Destination: "/copyup", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}},
		{Destination: "/tmpmode", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=700", "noexec"}},
		{Destination: "/relsrc", Type: "bind", Source: "src", Options: []string{"rbind"}},
	}}
	if err := Prepare(spec, p.Root, &Options{BundleDir: filepath.Dir(p.Src)}); err != nil {
		return []error{err}
	}
	if err := Pivot(p.Root, false); err != nil {
		return []error{err}
	}
	if err := Finalize(spec); err != nil {
		return []error{err}
	}
	ms, err := mounts()
	if err != nil {
		return []error{err}
	}
	c.mount(ms, "/ro", "", "ro", "nosuid", "nodev", "noexec")
	c.readonly("/ro")
	c.mount(ms, "/rro", "", "ro", "nosuid")
	c.mount(ms, "/rro/sub", "tmpfs", "ro", "nosuid")
	c.mount(ms, "/toponly", "", "ro")
	c.mount(ms, "/toponly/sub", "tmpfs", "rw")
	if m := ms["/shared"]; m == nil || !strings.Contains(m.Optional, "shared:") {
		c.errorf("/shared: not shared (%+v)", m)
	}
	c.mount(ms, "/atime", "", "noatime", "nosymfollow", "nodev")
	c.mount(ms, "/atime/sub", "tmpfs", "noatime", "nosymfollow", "nodev")
	c.mount(ms, "/file", "")
	c.mount(ms, "/deep/a/b/file", "", "noexec")
	if b, err := os.ReadFile("/deep/a/b/file"); err != nil || string(b) != "host file" {
		c.errorf("/deep/a/b/file reads %q (%v)", b, err)
	}
	c.mount(ms, "/copyup", "tmpfs")
	if b, err := os.ReadFile("/copyup/keep"); err != nil || string(b) != "kept" {
		c.errorf("tmpcopyup: keep reads %q (%v)", b, err)
	}
	if fi, err := os.Stat("/copyup/keep"); err != nil || fi.Mode().Perm() != 0o640 {
		c.errorf("tmpcopyup: keep mode %v (%v), want 0640", fi, err)
	}
	c.link("/copyup/link", "keep")
	if fi, err := os.Stat("/copyup/sub"); err != nil || !fi.IsDir() {
		c.errorf("tmpcopyup: sub %v (%v)", fi, err)
	}
	c.mount(ms, "/tmpmode", "tmpfs")
	if fi, err := os.Stat("/tmpmode"); err != nil || fi.Mode().Perm() != 0o711 {
		c.errorf("/tmpmode: mode %v (%v), want 0711 kept from the covered directory", fi, err)
	}
	c.mount(ms, "/data", "tmpfs", "noexec")
	if m := ms["/data"]; m == nil || !strings.Contains(m.VFSOptions, "mode=700") || !strings.Contains(m.VFSOptions, "size=1024k") {
		c.errorf("/data: data not passed: %+v", m)
	}
	c.mount(ms, "/relsrc", "")
	if _, err := os.Stat("/relsrc/owned"); err != nil {
		c.errorf("/relsrc: relative source not resolved against the bundle: %v", err)
	}
	return c.errs
}

func scenarioNonexistent(p params) []error {
	var c checker
	spec := &specs.Spec{Mounts: []specs.Mount{{Destination: "/mnt", Type: "bind", Source: "/nonexistent", Options: []string{"rbind"}}}}
	err := Prepare(spec, p.Root, nil)
	var pe *os.PathError
	switch {
	case err == nil:
		c.errorf("bind of /nonexistent succeeded")
	case !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe):
		c.errorf("error %v: want an *os.PathError with ENOENT", err)
	case !strings.HasPrefix(err.Error(), "mount /nonexistent (bind) on /mnt: ") ||
		!strings.HasSuffix(err.Error(), "no such file or directory"):
		c.errorf("error message %q", err)
	}
	if _, err := os.Lstat(filepath.Join(p.Root, "mnt")); err == nil {
		c.errorf("/mnt created although the source is missing")
	}
	return c.errs
}

func scenarioNoPivot(p params) []error {
	var c checker
	if err := os.WriteFile(filepath.Join(p.Root, "marker"), []byte("in"), 0o644); err != nil {
		return []error{err}
	}
	spec := defaultSpec()
	if err := setup(spec, p.Root, true); err != nil {
		return []error{err}
	}
	if b, err := os.ReadFile("/marker"); err != nil || string(b) != "in" {
		c.errorf("/marker: %q %v", b, err)
	}
	if wd, _ := os.Getwd(); wd != "/" {
		c.errorf("cwd %q", wd)
	}
	if b, err := os.ReadFile("/proc/timer_list"); err != nil || len(b) != 0 {
		c.errorf("/proc/timer_list not masked: %d bytes %v", len(b), err)
	}
	return c.errs
}

func scenarioReadonlyRoot(p params) []error {
	var c checker
	spec := defaultSpec()
	spec.Root.Readonly = true
	spec.Mounts[1].Options = append(spec.Mounts[1].Options, "ro") // /dev ro: devices first, ro in Finalize
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	spec.Linux.RootfsPropagation = "rprivate"
	if err := setup(spec, p.Root, false); err != nil {
		return []error{err}
	}
	ms, err := mounts()
	if err != nil {
		return []error{err}
	}
	c.readonly("/")
	c.readonly("/bin")
	c.mount(ms, "/", "", "ro")
	c.readonly("/dev")
	c.mount(ms, "/dev", "tmpfs", "ro", "nosuid")
	c.device("/dev/null", unix.S_IFCHR, 1, 3, 0o666)
	if err := unix.Access("/tmp", unix.W_OK); err != nil {
		c.errorf("/tmp tmpfs not writable: %v", err)
	}
	if m := ms["/"]; m == nil || strings.Contains(m.Optional, "shared:") || strings.Contains(m.Optional, "master:") {
		c.errorf("/ not private: %+v", m)
	}
	return c.errs
}

// scenarioPropagation: the container's "/" has the propagation linux.rootfsPropagation asks for, from a rootfs that
// is a shared mount of its own (as on a host whose mounts are shared, systemd's): private by default and with
// rprivate, a slave with rslave. Prepare's rslave "/" makes the rootfs a slave: without the walk to its parent
// mount (runc's rootfsParentMountPropagation), the bind is what is made private.
func scenarioPropagation(p params) []error {
	var c checker
	if err := unix.Mount(p.Root, p.Root, "", unix.MS_BIND, ""); err != nil {
		return []error{fmt.Errorf("bind rootfs: %w", err)}
	}
	if err := unix.Mount("", p.Root, "", unix.MS_SHARED, ""); err != nil {
		return []error{fmt.Errorf("make rootfs shared: %w", err)}
	}
	// Each case in a mount namespace of its own, on a thread that is thrown away afterwards.
	for _, tt := range []struct{ prop, want string }{{"", "private"}, {"rprivate", "private"}, {"rslave", "slave"}} {
		done := make(chan error)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread, in its own mount namespace, exits with the goroutine
			done <- func() error {
				if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
					return os.NewSyscallError("unshare", err)
				}
				spec := defaultSpec()
				spec.Linux.RootfsPropagation = tt.prop
				if err := setup(spec, p.Root, false); err != nil {
					return err
				}
				ms, err := mounts()
				if err != nil {
					return err
				}
				m := ms["/"]
				if m == nil {
					return errors.New("no mount at /")
				}
				got := "private"
				switch {
				case strings.Contains(m.Optional, "shared:"):
					got = "shared"
				case strings.Contains(m.Optional, "master:"):
					got = "slave"
				}
				if got != tt.want {
					return fmt.Errorf("/ is %s (%q), want %s", got, m.Optional, tt.want)
				}
				return nil
			}()
		}()
		if err := <-done; err != nil {
			c.errorf("rootfsPropagation %q: %v", tt.prop, err)
		}
	}
	return c.errs
}

func scenarioForbiddenProc(p params) []error {
	var c checker
	mustLink := func(target, link string) {
		if err := os.Symlink(target, link); err != nil {
			c.errorf("%v", err)
		}
	}
	mustLink("/proc/sys", filepath.Join(p.Root, "sneaky"))
	for _, m := range []specs.Mount{
		{Destination: "/proc/sys", Type: "bind", Source: p.Src, Options: []string{"bind"}},
		{Destination: "/sneaky/kernel", Type: "bind", Source: p.Src, Options: []string{"bind"}},
		{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"},
	} {
		spec := &specs.Spec{Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}, m}}
		if err := Prepare(spec, p.Root, nil); !errors.Is(err, ErrForbiddenDestination) {
			c.errorf("mount on %s: %v, want ErrForbiddenDestination", m.Destination, err)
		}
	}
	return c.errs
}

func scenarioIdmap(p params) []error {
	var c checker
	spec := &specs.Spec{Mounts: []specs.Mount{{
		Destination: "/idm", Type: "bind", Source: p.Src, Options: []string{"rbind", "ridmap", "ro"},
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 10}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 2000, Size: 10}},
	}}}
	// Made as the parent makes it, then attached by Prepare. The mapping's namespace is made through a /proc of
	// this scenario's pid namespace (the child's mount namespace is a slave: nothing reaches the host).
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return []error{err}
	}
	ns, err := mappedUserNS(spec.Mounts[0].UIDMappings, spec.Mounts[0].GIDMappings)
	if err != nil {
		return []error{err}
	}
	defer ns.Close()
	tree, err := BindTree(&spec.Mounts[0], "", ns)
	if err != nil {
		return []error{err}
	}
	defer tree.Close()
	if err := Prepare(spec, p.Root, &Options{Mounts: map[int]*os.File{0: tree}}); err != nil {
		return []error{err}
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(p.Root, "idm", "owned"), &st); err != nil {
		return []error{err}
	}
	if st.Uid != 1000 || st.Gid != 2000 {
		c.errorf("idmapped file owned by %d:%d, want 1000:2000", st.Uid, st.Gid)
	}
	c.readonly(filepath.Join(p.Root, "idm"))
	ms, err := mounts()
	if err != nil {
		return []error{err}
	}
	c.mount(ms, filepath.Join(p.Root, "idm"), "", "ro", "idmapped")
	bad := &specs.Spec{Mounts: []specs.Mount{{Destination: "/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}}}}
	if err := Prepare(bad, p.Root, nil); !errors.Is(err, ErrIdmap) {
		c.errorf("idmapped tmpfs: %v, want ErrIdmap", err)
	}
	return c.errs
}

func scenarioDevNullPlanted(p params) []error {
	var c checker
	// The spec binds /dev from a directory where /dev/null is a symlink to a file: masking must refuse it.
	dev := filepath.Join(p.Src, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return []error{err}
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dev, "null")); err != nil {
		return []error{err}
	}
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}},
		},
		Linux: &specs.Linux{MaskedPaths: []string{"/proc/keys"}},
	}
	if err := Prepare(spec, p.Root, nil); err != nil {
		return []error{err}
	}
	if err := Pivot(p.Root, false); err != nil {
		return []error{err}
	}
	if err := Finalize(spec); !errors.Is(err, ErrNotDevNull) {
		c.errorf("finalize with a planted /dev/null: %v, want ErrNotDevNull", err)
	}
	return c.errs
}

// scenarioPtmxPlanted: /dev is the rootfs's own directory, where /dev/ptmx already exists (a symlink out of the
// rootfs): it is replaced by the link to the devpts instance's ptmx, and nothing is made through it.
func scenarioPtmxPlanted(p params) []error {
	var c checker
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
		},
	}
	if err := setup(spec, p.Root, false); err != nil {
		return []error{err}
	}
	c.link("/dev/ptmx", "pts/ptmx")
	c.device("/dev/null", unix.S_IFCHR, 1, 3, 0o666)
	return c.errs
}
