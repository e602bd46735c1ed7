package rootfs

import (
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
