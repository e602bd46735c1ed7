package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The plain files of the fake hosts keep what was written: a shorter value must replace a longer one whole, as a
// control file's write does.
func init() { writeFlags |= unix.O_TRUNC }

// v1Controllers are the hierarchies a fake v1/hybrid host mounts, one directory each, as on this machine.
var v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "net_cls", "net_prio", "rdma"}

// fakeHost builds a host over plain directories under t.TempDir(): mode "v2" has only <root>/unified; "v1" has
// <root>/<controller>; "hybrid" both. own is this process's cgroup in every hierarchy. The device-program seam
// records the rules instead of loading BPF.
func fakeHost(t *testing.T, mode, own string) (*host, *[][]specs.LinuxDeviceCgroup) {
	t.Helper()
	root := t.TempDir()
	h := &host{mode: mode, v1: map[string]string{}, own: map[string]string{}}
	if mode != "v1" {
		h.unified = filepath.Join(root, "unified")
		h.own[""] = own
		mkFiles(t, h.unified, map[string]string{
			"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma", "cgroup.subtree_control": "", "cgroup.procs": "1",
		})
	}
	if mode != "v2" {
		for _, c := range v1Controllers {
			h.v1[c] = filepath.Join(root, c)
			h.own[c] = own
			mkFiles(t, h.v1[c], map[string]string{"cgroup.procs": "1"})
		}
		mkFiles(t, h.v1["cpuset"], map[string]string{"cpuset.cpus": "0-1", "cpuset.mems": "0"})
	}
	h.created = func(dir string) {
		if h.unified != "" && strings.HasPrefix(dir, h.unified+"/") {
			mkFiles(t, dir, kernelFiles(""))
			return
		}
		for c, mnt := range h.v1 {
			if strings.HasPrefix(dir, mnt+"/") {
				mkFiles(t, dir, kernelFiles(c))
			}
		}
	}
	var calls [][]specs.LinuxDeviceCgroup
	h.devices = func(_ string, rules []specs.LinuxDeviceCgroup) error {
		calls = append(calls, rules)
		return nil
	}
	return h, &calls
}

// mkFiles creates dir and the named files with their contents.
func mkFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll returns the trimmed contents of every regular file under dir, keyed by name.
func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = strings.TrimSpace(string(b))
	}
	return out
}

// v2Files are the control files a kernel would create in a new v2 cgroup with every controller enabled.
var v2Files = []string{
	"cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "cgroup.freeze", "cgroup.events", "cgroup.kill",
	"memory.max", "memory.low", "memory.swap.max", "memory.current", "cpu.weight", "cpu.max", "cpu.max.burst",
	"cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max",
	"memory.high", "memory.oom.group",
}

// v1Files are the control files of a new v1 cgroup, per controller.
var v1Files = map[string][]string{
	"memory": {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
		"memory.swappiness", "memory.oom_control", "memory.usage_in_bytes"},
	"cpu":      {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"},
	"cpuset":   {"cpuset.cpus", "cpuset.mems"},
	"pids":     {"pids.max"},
	"blkio":    {"blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"},
	"hugetlb":  {"hugetlb.2MB.limit_in_bytes"},
	"net_cls":  {"net_cls.classid"},
	"net_prio": {"net_prio.ifpriomap"},
	"rdma":     {"rdma.max"},
	"devices":  {"devices.allow", "devices.deny"},
	"freezer":  {"freezer.state"},
}

// kernelFiles returns the control files, with initial contents, that the kernel creates in a new cgroup of ctrl
// ("" for v2).
func kernelFiles(ctrl string) map[string]string {
	files := map[string]string{"cgroup.procs": ""}
	if ctrl != "" {
		files["tasks"] = ""
	}
	names := v1Files[ctrl]
	if ctrl == "" {
		names = v2Files
	}
	for _, n := range names {
		files[n] = ""
	}
	switch ctrl {
	case "":
		files["cgroup.controllers"] = "cpuset cpu io memory hugetlb pids rdma"
		files["cgroup.events"] = "populated 0\nfrozen 0"
		files["memory.current"] = "4096"
		files["cgroup.freeze"] = "0"
	case "memory":
		files["memory.limit_in_bytes"] = "9223372036854771712"
		files["memory.usage_in_bytes"] = "4096"
	case "freezer":
		files["freezer.state"] = "THAWED"
	}
	return files
}

func ptr[T any](v T) *T { return &v }
