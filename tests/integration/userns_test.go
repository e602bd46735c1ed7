package integration

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// usernsHostID is the host uid and gid that the container's 0 maps to; usernsSize is the mapping's length.
const (
	usernsHostID = 100000
	usernsSize   = 65536
)

// withUserns is a bundle mutator adding a new user namespace that maps 0..65535 to 100000..165535 for both uids
// and gids (config-linux.md "User namespace mappings").
func withUserns(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: usernsHostID, Size: usernsSize}}
	s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
}

// usernsBundle makes a bundle for a user-namespaced container as runc users do: the rootfs is chowned to the
// mapped root (so the container's root owns its files) and the directories above it are made searchable, since
// the container's root is not privileged over host-owned inodes whose owner it does not map.
func usernsBundle(t *testing.T, mutate func(*specs.Spec)) string {
	t.Helper()
	b := bundle(t, func(s *specs.Spec) {
		withUserns(s)
		if mutate != nil {
			mutate(s)
		}
	})
	rootfs := filepath.Join(b, "rootfs")
	err := filepath.WalkDir(rootfs, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, usernsHostID, usernsHostID)
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := b; dir != filepath.Dir(dir) && dir != filepath.Clean(os.TempDir()); dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o011 != 0o011 {
			if err := os.Chmod(dir, st.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b
}

// idMapLine is the first line of a /proc/PID/uid_map, fields as numbers (user_namespaces(7)).
func idMapLine(t *testing.T, content string) [3]int {
	t.Helper()
	f := strings.Fields(content)
	if len(f) != 3 {
		t.Fatalf("id map %q, want one line of three numbers", content)
	}
	var out [3]int
	for i, v := range f {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("id map %q: %v", content, err)
		}
		out[i] = n
	}
	return out
}

// TestUserns: with uidMappings/gidMappings the process is uid and gid 0 inside, in its own user namespace whose
// uid_map and gid_map are the config's; the chowned rootfs is readable; on the host the same process runs as
// uid 100000; a process exec'd into it is root in the same user namespace.
func TestUserns(t *testing.T) {
	t.Parallel()
	hostUser := readlink(t, "/proc/self/ns/user")
	want := [3]int{0, usernsHostID, usernsSize}
	t.Run("inside", func(t *testing.T) {
		t.Parallel()
		b := usernsBundle(t, withArgs("sh", "-c", "/probe self && cat /etc/passwd >/dev/null && echo readable"))
		r := mustRT(t, "run", "--bundle", b, newID(t))
		out, ok := strings.CutSuffix(r.Stdout, "readable\n")
		if !ok {
			t.Errorf("the rootfs's /etc/passwd is not readable inside: %v", r)
		}
		var s Self
		decode(t, out, &s)
		if s.UID != 0 || s.GID != 0 {
			t.Errorf("uid %d gid %d inside, want 0 0", s.UID, s.GID)
		}
		if s.Namespaces["user"] == "" || s.Namespaces["user"] == hostUser {
			t.Errorf("user namespace %q, want its own (host %s)", s.Namespaces["user"], hostUser)
		}
		if got := idMapLine(t, s.UIDMap); got != want {
			t.Errorf("uid_map %q, want %v", s.UIDMap, want)
		}
		if got := idMapLine(t, s.GIDMap); got != want {
			t.Errorf("gid_map %q, want %v", s.GIDMap, want)
		}
	})
	t.Run("host view", func(t *testing.T) {
		t.Parallel()
		id, _ := runDetached(t, usernsBundle(t, sleeper))
		pid := state(t, id).Pid
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d", pid), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != usernsHostID || st.Gid != usernsHostID {
			t.Errorf("init %d runs as %d:%d on the host, want %d:%d", pid, st.Uid, st.Gid, usernsHostID, usernsHostID)
		}
		if got := idMapLine(t, readFile(fmt.Sprintf("/proc/%d/uid_map", pid))); got != want {
			t.Errorf("host view of the init's uid_map %v, want %v", got, want)
		}
		// exec joins the container's user namespace by /proc/PID/ns/user and is its root too.
		var s Self
		decode(t, mustRT(t, "exec", id, "/probe", "self").Stdout, &s)
		if s.UID != 0 || s.GID != 0 || s.Namespaces["user"] != readlink(t, fmt.Sprintf("/proc/%d/ns/user", pid)) {
			t.Errorf("exec'd process: uid %d gid %d user ns %s, want 0 0 and the init's", s.UID, s.GID, s.Namespaces["user"])
		}
	})
}

// TestTimeNamespace: a time namespace with linux.timeOffsets shifts CLOCK_MONOTONIC and CLOCK_BOOTTIME (and so
// /proc/uptime) by the offsets (time_namespaces(7), Linux 5.6; config-linux.md "Offset for Time Namespace").
func TestTimeNamespace(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 has no time namespace (runc 1.2 added it)")
	const offset = 86400
	tests := []struct {
		name    string
		offsets map[string]specs.LinuxTimeOffset
		want    map[string]float64 // clock -> expected shift in seconds
	}{
		{name: "both clocks", offsets: map[string]specs.LinuxTimeOffset{
			"monotonic": {Secs: offset}, "boottime": {Secs: offset},
		}, want: map[string]float64{"monotonic": offset, "boottime": offset, "uptime": offset}},
		{name: "boottime only", offsets: map[string]specs.LinuxTimeOffset{
			"boottime": {Secs: 2 * offset},
		}, want: map[string]float64{"monotonic": 0, "boottime": 2 * offset, "uptime": 2 * offset}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) {
				s.Process.Args = []string{"sh", "-c", "/probe self && cat /proc/uptime"}
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
				s.Linux.TimeOffsets = tc.offsets
			})
			before := hostClocks(t)
			r := mustRT(t, "run", "--bundle", b, newID(t))
			after := hostClocks(t)
			lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("output %q, want the probe's JSON and /proc/uptime", r.Stdout)
			}
			var s Self
			decode(t, lines[0], &s)
			uptime, err := strconv.ParseFloat(strings.Fields(lines[1])[0], 64)
			if err != nil {
				t.Fatalf("/proc/uptime %q: %v", lines[1], err)
			}
			s.Clocks["uptime"] = uptime
			if s.Namespaces["time"] == readlink(t, "/proc/self/ns/time") {
				t.Errorf("time namespace %s is the host's", s.Namespaces["time"])
			}
			for clock, shift := range tc.want {
				// Inside, the clock was read between the two host readings, plus the shift (uptime has a
				// resolution of 10 ms).
				lo, hi := before[clock]+shift-0.01, after[clock]+shift+0.01
				if got := s.Clocks[clock]; got < lo || got > hi {
					t.Errorf("%s inside %.2f, want %.2f..%.2f (host + %.0f s)", clock, got, lo, hi, shift)
				}
			}
		})
	}
}

// hostClocks reads the host's CLOCK_MONOTONIC, CLOCK_BOOTTIME and /proc/uptime, in seconds.
func hostClocks(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, id := range map[string]int32{"monotonic": unix.CLOCK_MONOTONIC, "boottime": unix.CLOCK_BOOTTIME} {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			t.Fatal(err)
		}
		out[name] = float64(ts.Sec) + float64(ts.Nsec)/1e9
	}
	up, err := strconv.ParseFloat(strings.Fields(readFile("/proc/uptime"))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	out["uptime"] = up
	return out
}

// TestJoinUserNetNamespaces: a second container joins a running container's user and network namespaces by
// path (/proc/PID/ns/*): it is in the same namespaces, with the first one's id mapping, and gets its own pid and
// mount namespaces.
func TestJoinUserNetNamespaces(t *testing.T) {
	t.Parallel()
	first, _ := runDetached(t, usernsBundle(t, sleeper))
	pid := state(t, first).Pid
	nsPath := func(ns string) string { return fmt.Sprintf("/proc/%d/ns/%s", pid, ns) }
	b := usernsBundle(t, func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case specs.UserNamespace:
				s.Linux.Namespaces[i].Path = nsPath("user")
			case specs.NetworkNamespace:
				s.Linux.Namespaces[i].Path = nsPath("net")
			}
		}
	})
	var s Self
	r := mustRT(t, "run", "--bundle", b, newID(t))
	decode(t, r.Stdout, &s)
	for _, ns := range []string{"user", "net"} {
		if want := readlink(t, nsPath(ns)); s.Namespaces[ns] != want {
			t.Errorf("%s namespace %s, want the first container's %s", ns, s.Namespaces[ns], want)
		}
	}
	for _, ns := range []string{"pid", "mnt"} {
		if s.Namespaces[ns] == readlink(t, nsPath(ns)) {
			t.Errorf("%s namespace shared with the first container; only user and net were joined", ns)
		}
	}
	if got, want := idMapLine(t, s.UIDMap), [3]int{0, usernsHostID, usernsSize}; got != want || s.UID != 0 {
		t.Errorf("uid %d, uid_map %q, want 0 and %v", s.UID, s.UIDMap, want)
	}
}

// TestUsernsFakeSetgroups: whether setgroups(2) is allowed is read from the kernel, not from the /proc the image
// provides: with no /proc mount and a rootfs whose proc/self/setgroups is a plain file saying "deny", the process
// still gets exactly its configured supplementary groups, not the runtime's own.
func TestUsernsFakeSetgroups(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc 1.5 refuses to start with a /proc that is not procfs (unsafe procfs detected); rt never reads it")
	b := usernsBundle(t, func(s *specs.Spec) {
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/proc" })
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		s.Process.User.AdditionalGids = []uint32{10, 20}
		s.Process.Args = []string{"id", "-G"}
	})
	self := filepath.Join(b, "rootfs", "proc", "self")
	if err := os.MkdirAll(self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(self, "setgroups"), []byte("deny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRT(t, "run", "--bundle", b, newID(t))
	got := strings.Fields(r.Stdout)
	slices.Sort(got)
	// id -G lists the primary gid (0) first, then the supplementary ones.
	if want := []string{"0", "10", "20"}; !slices.Equal(got, want) && !slices.Equal(got, want[1:]) {
		t.Errorf("id -G = %q, want the primary gid 0 and exactly 10 and 20", r.Stdout)
	}
}

// TestTimeNamespaceUserns: a time namespace with linux.timeOffsets in a new user namespace gets its offsets, and a
// process exec'd into the container sees them too (runc's timens.bats: the offsets file of a process that has
// become the namespace's root is no longer writable through /proc; the bootstrap opens it before).
func TestTimeNamespaceUserns(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 has no time namespace (runc 1.2 added it)")
	b := usernsBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"monotonic": {Secs: 7881, Nanosecs: 2718281}, "boottime": {Secs: 1337, Nanosecs: 3141519},
		}
	})
	id, _ := runDetached(t, b)
	r := mustRT(t, "exec", id, "cat", "/proc/self/timens_offsets")
	got := strings.Join(strings.Fields(r.Stdout), " ")
	if want := "monotonic 7881 2718281 boottime 1337 3141519"; got != want {
		t.Errorf("timens_offsets %q, want %q", got, want)
	}
}

// TestJoinUsernsForeignNetns: a container that joins a user namespace and a network namespace that user namespace
// does not own (the host's) gets both, and exec joins both again: namespaces the runtime may join as itself are
// joined before the user namespace, as runc's userns.bats "wrong userns owner" has it.
func TestJoinUsernsForeignNetns(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 wants uid mappings with a joined user namespace and joins it first (runc 1.2: three passes)")
	first, _ := runDetached(t, usernsBundle(t, sleeper))
	userns := fmt.Sprintf("/proc/%d/ns/user", state(t, first).Pid)
	hostNet := fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
	b := usernsBundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		for i, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case specs.UserNamespace:
				s.Linux.Namespaces[i].Path = userns
			case specs.NetworkNamespace:
				s.Linux.Namespaces[i].Path = hostNet
			}
		}
		// No sysfs of a netns the container's root has no privilege over: the host's /sys, bound.
		for i, m := range s.Mounts {
			if m.Type == "sysfs" {
				s.Mounts[i] = specs.Mount{Destination: m.Destination, Type: "bind", Source: "/sys", Options: []string{"rbind", "ro"}}
			}
		}
	})
	id, _ := runDetached(t, b)
	for ns, path := range map[string]string{"user": userns, "net": hostNet} {
		got := strings.TrimSpace(mustRT(t, "exec", id, "readlink", "/proc/self/ns/"+ns).Stdout)
		if want := readlink(t, path); got != want {
			t.Errorf("%s namespace %s, want %s", ns, got, want)
		}
	}
}

// TestJoinAllNamespacesTimeUserns: a second container joins every namespace but the mount namespace of a running
// container with a user and a time namespace (runc's run.bats "joining existing container namespaces"): it shares
// the first one's processes, id mappings and time offsets.
func TestJoinAllNamespacesTimeUserns(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 has no time namespace (runc 1.2 added it)")
	first, _ := runDetached(t, usernsBundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 1337, Nanosecs: 3141519}}
	}))
	pid := state(t, first).Pid
	procNames := map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "net"}
	id, _ := runDetached(t, usernsBundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.MountNamespace {
				continue
			}
			name := procNames[ns.Type]
			if name == "" {
				name = string(ns.Type)
			}
			s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", pid, name)
		}
	}))
	if got := strings.Count(mustRT(t, "exec", id, "ps", "-o", "args").Stdout, "sleep 100000"); got != 2 {
		t.Errorf("%d sleep processes in the joined pid namespace, want both containers' 2", got)
	}
	if got, want := idMapLine(t, mustRT(t, "exec", id, "cat", "/proc/self/uid_map").Stdout), [3]int{0, usernsHostID, usernsSize}; got != want {
		t.Errorf("uid_map %v, want %v", got, want)
	}
	offsets := strings.Join(strings.Fields(mustRT(t, "exec", id, "cat", "/proc/self/timens_offsets").Stdout), " ")
	if want := "monotonic 0 0 boottime 1337 3141519"; offsets != want {
		t.Errorf("timens_offsets %q, want the first container's %q", offsets, want)
	}
}
