package rootfs

import (
	"maps"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCgroupHostFromOptions: the hierarchies come from Options.CgroupMounts when the parent sent them (the init
// reads no mount table then), filtered as the mount table would be: only mounts directly under /sys/fs/cgroup, of
// type cgroup or cgroup2, each mount point once.
func TestCgroupHostFromOptions(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a v1 or hybrid /sys/fs/cgroup")
	}
	opts := &Options{CgroupMounts: []CgroupMount{
		{Mountpoint: "/sys/fs/cgroup/test-cpu", FSType: "cgroup", Root: "/", VFSOptions: "rw,cpu"},
		{Mountpoint: "/sys/fs/cgroup/test-cpu", FSType: "cgroup", Root: "/a", VFSOptions: "rw,cpu"}, // a second mount of it
		{Mountpoint: "/elsewhere/test-cpu", FSType: "cgroup", Root: "/", VFSOptions: "rw,cpu"},
		{Mountpoint: "/sys/fs/cgroup/test-unified", FSType: "cgroup2", Root: "/", VFSOptions: "rw"},
		{Mountpoint: "/sys/fs/cgroup/test-tmp", FSType: "tmpfs", Root: "/", VFSOptions: "rw"},
	}}
	p := &preparer{opts: opts}
	cg, err := p.cgroupHost()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range cg.mounts {
		got = append(got, m.FSType+" "+m.Mountpoint+" "+m.VFSOptions)
	}
	want := []string{"cgroup /sys/fs/cgroup/test-cpu rw,cpu", "cgroup2 /sys/fs/cgroup/test-unified rw"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("hierarchies = %q, want %q", got, want)
	}
}

// TestParseOwnCgroups: /proc/PID/cgroup lines become controller list -> path, v1 and v2 (empty list) alike, a
// path with ':' kept whole, malformed lines skipped.
func TestParseOwnCgroups(t *testing.T) {
	tests := []struct {
		name string
		text string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"v2", "0::/user.slice/a.scope\n", map[string]string{"": "/user.slice/a.scope"}},
		{
			"hybrid",
			"9:name=systemd:/ct\n4:memory:/ct\n1:cpu,cpuacct:/ct\n0::/ct\n",
			map[string]string{"name=systemd": "/ct", "memory": "/ct", "cpu,cpuacct": "/ct", "": "/ct"},
		},
		{"no final newline", "4:memory:/ct", map[string]string{"memory": "/ct"}},
		{"colon in path", "0::/a:b:c\n", map[string]string{"": "/a:b:c"}},
		{"malformed", "garbage\n4:memory\n\n0::/\n", map[string]string{"": "/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseOwnCgroups(tc.text); !maps.Equal(got, tc.want) {
				t.Errorf("parseOwnCgroups(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}
