package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// Idmapped bind mounts (runtime-spec config.md "mounts": uidMappings, gidMappings; runc's idmap and ridmap
// options). runc 1.1.5 has none (they came with runc 1.2), so every case here is rtOnly but the plain-bind
// baselines they are compared with.
const noIdmapInRunc = "runc 1.1.5 has no idmapped mounts (runc 1.2+)"

// idmapOwner is the host uid and gid that owns the idmapped sources' files.
const idmapOwner = 1000

// idmapSource makes a host directory owned by idmapOwner, mode 0777 (so that any container user may create in
// it), holding "f" owned by idmapOwner and "r" owned by 0.
func idmapSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, owner := range map[string]int{"f": idmapOwner, "r": 0} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(dir, idmapOwner, idmapOwner); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// The TempDir's parent is 0700: searchable, so that a plain bind's source is reachable from a user namespace.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

// nestedMount bind-mounts a second idmapSource at dir/nested on the host, for rbind, and unmounts it at cleanup.
func nestedMount(t *testing.T, dir string) {
	t.Helper()
	inner := idmapSource(t)
	target := filepath.Join(dir, "nested")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(inner, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(&os.PathError{Op: "mount", Path: target, Err: err})
	}
	// Private, so that nothing mounted under it reaches other namespaces; unmounted before the TempDirs go.
	if err := unix.Mount("", target, "", unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(&os.PathError{Op: "mount", Path: target, Err: err})
	}
	t.Cleanup(func() {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
}

// makeBundle is usernsBundle when userns is set, else bundle.
func makeBundle(t *testing.T, userns bool, mutate func(*specs.Spec)) string {
	t.Helper()
	if userns {
		return usernsBundle(t, mutate)
	}
	return bundle(t, mutate)
}

// idmapMount is the spec mount of src at /idm with the given options and mappings.
func idmapMount(src string, opts []string, uids, gids []specs.LinuxIDMapping) specs.Mount {
	return specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: opts, UIDMappings: uids, GIDMappings: gids}
}

// idRange is a one-entry id mapping.
func idRange(container, host, size uint32) []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: container, HostID: host, Size: size}}
}

// TestIdmapOwnership: through an idmapped mount the files of the host directory appear, inside the container,
// owned by the ids the mapping gives them (checked with `probe stat`): the container's own mapping for idmap
// without mappings (host 1000 is 1000 inside, where a plain bind would show the overflow id 65534); the mount's
// own mappings otherwise, also without a user namespace; ridmap maps a nested mount of an rbind, idmap only the
// top one.
func TestIdmapOwnership(t *testing.T) {
	t.Parallel()
	const overflow = 65534 // the kernel's overflowuid/overflowgid: what an unmapped id shows as
	// Disk ids 0..1999 appear as 2000.. (uids) and 4000.. (gids) in the container: with its user namespace, at
	// host 100000+2000..; without one, at host 2000.. directly.
	nsUIDs, nsGIDs := idRange(0, usernsHostID+2000, 2000), idRange(0, usernsHostID+4000, 2000)
	hostUIDs, hostGIDs := idRange(0, 2000, 2000), idRange(0, 4000, 2000)
	tests := []struct {
		name   string
		userns bool
		mount  func(src string) specs.Mount
		nested bool
		plain  bool              // no idmapped mount: the baseline, which runc 1.1.5 must show too
		want   map[string][2]int // path inside -> uid, gid
	}{
		{
			name: "container userns", userns: true,
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"bind", "idmap"}, nil, nil) },
			want:  map[string][2]int{"/idm": {1000, 1000}, "/idm/f": {1000, 1000}, "/idm/r": {0, 0}},
		},
		{
			name: "plain bind for comparison", userns: true, plain: true,
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"bind"}, nil, nil) },
			want:  map[string][2]int{"/idm/f": {overflow, overflow}, "/idm/r": {overflow, overflow}},
		},
		{
			name: "mount mappings in a userns", userns: true,
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"bind"}, nsUIDs, nsGIDs) },
			want:  map[string][2]int{"/idm/f": {3000, 5000}, "/idm/r": {2000, 4000}},
		},
		{
			name:  "mount mappings without a userns",
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"bind", "idmap"}, hostUIDs, hostGIDs) },
			want:  map[string][2]int{"/idm/f": {3000, 5000}, "/idm/r": {2000, 4000}},
		},
		{
			name: "ridmap maps the nested mount", userns: true, nested: true,
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"rbind", "ridmap"}, nil, nil) },
			want:  map[string][2]int{"/idm/f": {1000, 1000}, "/idm/nested/f": {1000, 1000}, "/idm/nested/r": {0, 0}},
		},
		{
			name: "idmap maps only the top of an rbind", userns: true, nested: true,
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"rbind", "idmap"}, nil, nil) },
			want:  map[string][2]int{"/idm/f": {1000, 1000}, "/idm/nested/f": {overflow, overflow}},
		},
		{
			name: "read-only idmapped mount", userns: true,
			mount: func(src string) specs.Mount { return idmapMount(src, []string{"bind", "idmap", "ro"}, nil, nil) },
			want:  map[string][2]int{"/idm/f": {1000, 1000}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.plain {
				oldRunc(t, noIdmapInRunc)
			}
			src := idmapSource(t)
			if tc.nested {
				nestedMount(t, src)
			}
			var paths []string
			for p := range tc.want {
				paths = append(paths, p)
			}
			mutate := func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, tc.mount(src))
				s.Process.Args = append([]string{"/probe", "stat"}, paths...)
			}
			b := makeBundle(t, tc.userns, mutate)
			r := mustRT(t, "run", "--bundle", b, newID(t))
			var got []Stat
			decode(t, r.Stdout, &got)
			for _, st := range got {
				want := tc.want[st.Path]
				if st.Error != "" || [2]int{st.UID, st.GID} != want {
					t.Errorf("%s inside: owner %d:%d (error %q), want %d:%d", st.Path, st.UID, st.GID, st.Error, want[0], want[1])
				}
			}
			if len(got) != len(paths) {
				t.Errorf("probe stat gave %d entries for %d paths: %s", len(got), len(paths), r.Stdout)
			}
		})
	}
}

// TestIdmapWrite: a file created through an idmapped mount lands on the host with the id the mount maps the
// creator's to: through the container's own mapping, container uid 0 (host 100000) writes host uid 0 and
// container 1000 writes host 1000, where a plain bind would store 100000 and 101000; a read-only idmapped mount
// refuses the write (EROFS).
func TestIdmapWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		uid     uint32
		opts    []string
		plain   bool // no idmapped mount: the baseline, which runc 1.1.5 must show too
		wantErr string
		want    int // host uid and gid of the new file
	}{
		{name: "root", uid: 0, opts: []string{"bind", "idmap"}, want: 0},
		{name: "uid 1000", uid: 1000, opts: []string{"bind", "idmap"}, want: 1000},
		{name: "plain bind stores the host id", uid: 1000, opts: []string{"bind"}, plain: true, want: usernsHostID + 1000},
		{name: "read-only", uid: 0, opts: []string{"bind", "idmap", "ro"}, wantErr: "EROFS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.plain {
				oldRunc(t, noIdmapInRunc)
			}
			src := idmapSource(t)
			b := usernsBundle(t, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, idmapMount(src, tc.opts, nil, nil))
				s.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
				s.Process.Args = []string{"/probe", "write", "/idm/new"}
			})
			r := mustRT(t, "run", "--bundle", b, newID(t))
			var res probeResult
			decode(t, r.Stdout, &res)
			if res.Error != tc.wantErr {
				t.Fatalf("write /idm/new as %d: error %q, want %q", tc.uid, res.Error, tc.wantErr)
			}
			var st unix.Stat_t
			err := unix.Stat(filepath.Join(src, "new"), &st)
			if tc.wantErr != "" {
				if err == nil {
					t.Errorf("refused write left %s/new on the host", src)
				}
				return
			}
			if err != nil {
				t.Fatalf("the file written inside is not on the host: %v", err)
			}
			if int(st.Uid) != tc.want || int(st.Gid) != tc.want {
				t.Errorf("host owner of the new file %d:%d, want %d:%d", st.Uid, st.Gid, tc.want, tc.want)
			}
		})
	}
}

// TestIdmapRelativeSource: a relative source of an idmapped mount is relative to the bundle, as for every bind
// mount (runc resolves it the same way), though the parent, not the init, opens it.
func TestIdmapRelativeSource(t *testing.T) {
	t.Parallel()
	oldRunc(t, noIdmapInRunc)
	b := usernsBundle(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, idmapMount("shared", []string{"bind", "idmap"}, nil, nil))
		s.Process.Args = []string{"/probe", "stat", "/idm/f"}
	})
	shared := filepath.Join(b, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(shared, "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(f, idmapOwner, idmapOwner); err != nil {
		t.Fatal(err)
	}
	var got []Stat
	decode(t, mustRT(t, "run", "--bundle", b, newID(t)).Stdout, &got)
	if len(got) != 1 || got[0].Error != "" || got[0].UID != idmapOwner || got[0].GID != idmapOwner {
		t.Errorf("bundle-relative idmapped source: %+v, want /idm/f owned by %d", got, idmapOwner)
	}
}

// TestIdmapErrors: an idmapped mount rt cannot make fails create with exit 1 and one line naming the mount as
// mounts[N], and leaves nothing behind.
func TestIdmapErrors(t *testing.T) {
	t.Parallel()
	oldRunc(t, noIdmapInRunc)
	tests := []struct {
		name   string
		userns bool
		mount  func(src string) specs.Mount
		want   string // besides mounts[N]
	}{
		{name: "not a bind mount", userns: true, want: "bind", mount: func(string) specs.Mount {
			return specs.Mount{Destination: "/idm", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}}
		}},
		{name: "no mappings and no user namespace", want: "uidMappings", mount: func(src string) specs.Mount {
			return idmapMount(src, []string{"bind", "idmap"}, nil, nil)
		}},
		{name: "uidMappings without gidMappings", userns: true, want: "gidMappings", mount: func(src string) specs.Mount {
			return idmapMount(src, []string{"bind"}, idRange(0, usernsHostID, 10), nil)
		}},
		{name: "missing source", userns: true, want: "/nonexistent-idmap-source", mount: func(string) specs.Mount {
			return idmapMount("/nonexistent-idmap-source", []string{"bind", "idmap"}, nil, nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := idmapSource(t)
			var index int
			mutate := func(s *specs.Spec) {
				index = len(s.Mounts)
				s.Mounts = append(s.Mounts, tc.mount(src))
			}
			b := makeBundle(t, tc.userns, mutate)
			id, root := newID(t), stateRoot(t)
			r := rt(t, "create", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("create: %v, want exit 1", r)
			}
			oneLine(t, r, fmt.Sprintf("mounts[%d]", index))
			oneLine(t, r, tc.want)
			assertNoLeak(t, root, id, b)
		})
	}
}

// TestIdmapFeatures: `features` says idmapped mounts are supported (features.md "mountExtensions.idmap").
func TestIdmapFeatures(t *testing.T) {
	t.Parallel()
	oldRunc(t, noIdmapInRunc)
	var f features.Features
	decode(t, mustRT(t, "features").Stdout, &f)
	if f.Linux == nil || f.Linux.MountExtensions == nil || f.Linux.MountExtensions.IDMap == nil ||
		f.Linux.MountExtensions.IDMap.Enabled == nil || !*f.Linux.MountExtensions.IDMap.Enabled {
		t.Errorf("features linux.mountExtensions: %+v, want idmap enabled", f.Linux)
	}
	rtOnly(t, "runc 1.5 accepts idmap and ridmap but leaves them out of features' mountOptions")
	for _, opt := range []string{"idmap", "ridmap"} {
		if !slices.Contains(f.MountOptions, opt) {
			t.Errorf("features mountOptions %v lack %s", f.MountOptions, opt)
		}
	}
}
