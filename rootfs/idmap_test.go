package rootfs

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func init() {
	scenarios["idmap-fd"] = scenarioIdmapFd
}

func TestIsIdmapped(t *testing.T) {
	ids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	tests := []struct {
		name string
		m    specs.Mount
		want bool
	}{
		{name: "plain bind", m: specs.Mount{Type: "bind", Options: []string{"rbind"}}},
		{name: "idmap option", m: specs.Mount{Type: "bind", Options: []string{"bind", "idmap"}}, want: true},
		{name: "ridmap option", m: specs.Mount{Options: []string{"rbind", "ridmap"}}, want: true},
		{name: "uid mappings only", m: specs.Mount{Type: "bind", UIDMappings: ids}, want: true},
		{name: "gid mappings only", m: specs.Mount{Type: "bind", GIDMappings: ids}, want: true},
		{name: "tmpfs", m: specs.Mount{Type: "tmpfs", Options: []string{"nosuid"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsIdmapped(&tt.m); got != tt.want {
				t.Errorf("IsIdmapped(%+v) = %v, want %v", tt.m, got, tt.want)
			}
		})
	}
}

// mappedUserNS returns a handle on a new user namespace with the given mappings, as the parent makes one for an
// idmapped mount: a child started in it, whose maps Go writes through /proc (which must be of the caller's pid
// namespace), and killed once the handle is open.
func mappedUserNS(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	conv := func(ms []specs.LinuxIDMapping) []syscall.SysProcIDMap {
		var out []syscall.SysProcIDMap
		for _, m := range ms {
			out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		return out
	}
	cmd := exec.Command("/bin/sleep", "100")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, UidMappings: conv(uids),
		GidMappings: conv(gids), Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	return os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
}

// TestIdmapFromParent is the path rt takes for a container with a user namespace: the test process, in the
// host's namespaces, makes the detached idmapped mounts with BindTree and passes them to a child in new user,
// mount and pid namespaces, where Prepare attaches them (Options.Mounts); made there, MOUNT_ATTR_IDMAP would
// fail with EPERM. The child checks the owners it sees, a relative source resolved against the bundle, and that
// ridmap reached a nested mount.
func TestIdmapFromParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	root := makeRootfs(t, dir)
	src := filepath.Join(dir, "src")
	nested := filepath.Join(dir, "nested")
	for _, d := range []string{src, filepath.Join(src, "sub"), nested} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Disk uid/gid 1000 is the child's 0 through the mounts' mapping (1000 -> host 0); disk 0 is unmapped there.
	for _, f := range []string{filepath.Join(src, "mapped"), filepath.Join(src, "unmapped"), filepath.Join(nested, "mapped")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(f, "unmapped") {
			if err := os.Chown(f, 1000, 1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	sub := filepath.Join(src, "sub")
	if err := unix.Mount(nested, sub, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })
	ids := []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}}
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/idm", Type: "bind", Source: "src", Options: []string{"rbind", "ridmap"}, UIDMappings: ids, GIDMappings: ids},
	}}
	ns, err := mappedUserNS(ids, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	tree, err := BindTree(&spec.Mounts[1], dir, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	b, err := json.Marshal(params{Root: root, Extra: map[string]string{"bundle": dir}})
	if err != nil {
		t.Fatal(err)
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=idmap-fd", paramsEnv+"="+string(b), "RT_IDMAP_SPEC="+string(specJSON))
	cmd.ExtraFiles = []*os.File{tree} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK idmap-fd") {
		t.Fatalf("scenario idmap-fd: %v\n%s", err, out)
	}
}

// scenarioIdmapFd runs in TestIdmapFromParent's child: Prepare with the parent's detached mount as fd 3.
func scenarioIdmapFd(p params) []error {
	var c checker
	var spec specs.Spec
	if err := json.Unmarshal([]byte(os.Getenv("RT_IDMAP_SPEC")), &spec); err != nil {
		return []error{err}
	}
	tree := os.NewFile(3, "idmapped tree")
	opts := &Options{BundleDir: p.Extra["bundle"], Mounts: map[int]*os.File{1: tree}}
	if err := Prepare(&spec, p.Root, opts); err != nil {
		return []error{err}
	}
	for path, want := range map[string]uint32{"mapped": 0, "unmapped": 65534, "sub/mapped": 0} {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(p.Root, "idm", path), &st); err != nil {
			c.errorf("%v", err)
			continue
		}
		if st.Uid != want || st.Gid != want {
			c.errorf("/idm/%s owned by %d:%d, want %d:%d", path, st.Uid, st.Gid, want, want)
		}
	}
	// Made here instead, the same mount fails: the child has no privilege over the host's filesystem. And Prepare
	// refuses an idmapped mount the parent did not prepare.
	again := &specs.Spec{Mounts: spec.Mounts[1:]}
	again.Mounts[0].Destination = "/idm2"
	own, err := os.Open("/proc/self/ns/user")
	if err != nil {
		return []error{err}
	}
	defer own.Close()
	if tree, err := BindTree(&again.Mounts[0], p.Extra["bundle"], own); !errors.Is(err, unix.EPERM) {
		if tree != nil {
			tree.Close()
		}
		c.errorf("idmapped mount made inside the user namespace: %v, want EPERM", err)
	}
	if err := Prepare(again, p.Root, &Options{BundleDir: p.Extra["bundle"]}); !errors.Is(err, ErrIdmap) {
		c.errorf("Prepare of an idmapped mount without the parent's: %v, want ErrIdmap", err)
	}
	return c.errs
}
