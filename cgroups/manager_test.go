package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseHost(t *testing.T) {
	type hostCase struct {
		name    string
		mounts  []*mountinfo.Info
		cgroup  string
		mode    string
		unified string
		v1      map[string]string
		own     map[string]string
	}
	tests := []hostCase{
		{
			name: "hybrid like this machine",
			mounts: []*mountinfo.Info{
				{FSType: "cgroup", Mountpoint: "/sys/fs/cgroup/cpu", Root: "/", VFSOptions: "rw,cpu"},
				{FSType: "cgroup", Mountpoint: "/sys/fs/cgroup/memory", Root: "/", VFSOptions: "rw,memory"},
				{FSType: "cgroup", Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", VFSOptions: "rw,xattr,name=systemd"},
				{FSType: "cgroup2", Mountpoint: "/sys/fs/cgroup/unified", Root: "/", VFSOptions: "rw"},
			},
			cgroup:  "9:name=systemd:/\n4:memory:/process_api/x\n1:cpu:/\n0::/\n",
			mode:    "hybrid",
			unified: "/sys/fs/cgroup/unified",
			v1:      map[string]string{"cpu": "/sys/fs/cgroup/cpu", "memory": "/sys/fs/cgroup/memory", "name=systemd": "/sys/fs/cgroup/systemd"},
			own:     map[string]string{"cpu": "/", "memory": "/process_api/x", "name=systemd": "/", "": "/"},
		},
		{
			name:    "pure v2",
			mounts:  []*mountinfo.Info{{FSType: "cgroup2", Mountpoint: "/sys/fs/cgroup", Root: "/", VFSOptions: "rw,nsdelegate"}},
			cgroup:  "0::/user.slice/session-1.scope\n",
			mode:    "v2",
			unified: "/sys/fs/cgroup",
			v1:      map[string]string{},
			own:     map[string]string{"": "/user.slice/session-1.scope"},
		},
		{
			name: "v1 with co-mounted cpu,cpuacct and a sub-cgroup mount",
			mounts: []*mountinfo.Info{
				{FSType: "cgroup", Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/docker/abc", VFSOptions: "rw,cpu,cpuacct"},
			},
			cgroup: "2:cpu,cpuacct:/docker/abc/inner\n",
			mode:   "v1",
			v1:     map[string]string{"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"},
			own:    map[string]string{"cpu": "/inner", "cpuacct": "/inner"},
		},
	}
	// A file longer than readHost's first buffer: every hierarchy of a v1 host, each in a long nested path (a pod's
	// slice and a 64-hex container scope); and its last line without a newline.
	long := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d.slice/cri-containerd-" +
		strings.Repeat("ab", 32) + ".scope"
	want := hostCase{name: "every hierarchy, long paths, no final newline", mode: "v1", v1: map[string]string{}, own: map[string]string{}}
	var lines []string
	for i, c := range v1Controllers {
		want.mounts = append(want.mounts, &mountinfo.Info{FSType: "cgroup", Mountpoint: "/sys/fs/cgroup/" + c, Root: "/", VFSOptions: "rw," + c})
		lines = append(lines, strconv.Itoa(i+1)+":"+c+":"+long)
		want.v1[c] = "/sys/fs/cgroup/" + c
		want.own[c] = long
	}
	want.cgroup = strings.Join(lines, "\n")
	if len(want.cgroup) <= 1024 {
		t.Fatalf("the long case is %d bytes, not more than readHost's 1 KiB buffer", len(want.cgroup))
	}
	tests = append(tests, want)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := parseHost(tc.mounts, tc.cgroup)
			if h.mode != tc.mode || h.unified != tc.unified {
				t.Errorf("mode %q unified %q, want %q %q", h.mode, h.unified, tc.mode, tc.unified)
			}
			if !equalMaps(h.v1, tc.v1) {
				t.Errorf("v1 = %v, want %v", h.v1, tc.v1)
			}
			if !equalMaps(h.own, tc.own) {
				t.Errorf("own = %v, want %v", h.own, tc.own)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		own      string
		path, id string
		want     map[string]string // relative to the fake root; checked keys only
		wantErr  error
	}{
		{name: "v2 absolute", mode: "v2", own: "/user.slice/s.scope", path: "/machine/ctr", want: map[string]string{"": "unified/machine/ctr"}},
		{name: "v2 relative uses the parent of our cgroup", mode: "v2", own: "/user.slice/s.scope", path: "ctr", want: map[string]string{"": "unified/user.slice/ctr"}},
		{name: "v2 empty is the id, relative", mode: "v2", own: "/user.slice/s.scope", id: "abc", want: map[string]string{"": "unified/user.slice/abc"}},
		{name: "hybrid empty is the id under our own cgroup", mode: "hybrid", own: "/a", id: "abc", want: map[string]string{"memory": "memory/a/abc", "": "unified/a/abc"}},
		{name: "v1 absolute ignores our cgroup", mode: "v1", own: "/a", path: "/x/y", want: map[string]string{"cpu": "cpu/x/y", "pids": "pids/x/y"}},
		{name: "dot-dot that stays inside is cleaned", mode: "v2", own: "/", path: "/a/../b", want: map[string]string{"": "unified/b"}},
		{name: "dot-dot escaping is refused", mode: "v2", own: "/", path: "/../etc", wantErr: ErrInvalidPath},
		{name: "relative escape is refused", mode: "v1", own: "/a", path: "../../x", wantErr: ErrInvalidPath},
		{name: "hierarchy root is refused", mode: "v2", own: "/", path: "/", wantErr: ErrInvalidPath},
		{name: "nothing at all is refused", mode: "v2", own: "/", wantErr: ErrInvalidPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := fakeHost(t, tc.mode, tc.own)
			paths, err := h.resolve(tc.path, tc.id)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			root := filepath.Dir(firstMount(h))
			for k, rel := range tc.want {
				if got := paths[k]; got != filepath.Join(root, rel) {
					t.Errorf("paths[%q] = %q, want %q", k, got, filepath.Join(root, rel))
				}
			}
			if tc.mode == "v2" && len(paths) != 1 {
				t.Errorf("v2 paths = %v, want only the unified key", paths)
			}
		})
	}
}

func firstMount(h *host) string {
	if h.unified != "" {
		return h.unified
	}
	return h.v1["cpu"]
}

func TestCreateEnablesControllersAndRefusesInUse(t *testing.T) {
	h, _ := fakeHost(t, "v2", "/user.slice/s.scope")
	mkFiles(t, filepath.Join(h.unified, "user.slice"), map[string]string{
		"cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": "memory", "cgroup.procs": "",
	})
	m, err := newManager(h, "", "ctr")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h.unified)["cgroup.subtree_control"]; got != "+cpuset +cpu +io +memory +hugetlb +pids +rdma" {
		t.Errorf("root subtree_control = %q", got)
	}
	if got := readAll(t, filepath.Join(h.unified, "user.slice"))["cgroup.subtree_control"]; got != "+cpu +pids" {
		t.Errorf("user.slice subtree_control = %q, want only the missing controllers", got)
	}

	tests := []struct {
		name  string
		dir   string // below the container's cgroup
		files map[string]string
		want  string // runc's words
	}{
		{name: "has processes", files: map[string]string{"cgroup.procs": "42\n"}, want: "container's cgroup is not empty: 1 process(es) found"},
		{name: "sub-cgroup has processes", dir: "sub", files: map[string]string{"cgroup.procs": "42\n43\n"}, want: "container's cgroup is not empty: 2 process(es) found"},
		{name: "frozen", files: map[string]string{"cgroup.procs": "", "cgroup.freeze": "1"}, want: "container's cgroup unexpectedly frozen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(m.paths[""], tc.dir)
			mkFiles(t, dir, tc.files)
			defer func() {
				mkFiles(t, m.paths[""], map[string]string{"cgroup.procs": "", "cgroup.freeze": "0"})
				if tc.dir != "" {
					_ = os.RemoveAll(dir)
				}
			}()
			err := m.Create(nil)
			if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create = %v, want ErrInUse saying %q", err, tc.want)
			}
		})
	}
}

func TestCreateV1CopiesCpuset(t *testing.T) {
	h, _ := fakeHost(t, "v1", "/")
	m, err := newManager(h, "/a/b", "")
	if err != nil {
		t.Fatal(err)
	}
	// The fake's created hook makes cpuset.cpus/mems empty in both new levels, as the kernel does.
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, m.paths["cpuset"])
	if got["cpuset.cpus"] != "0-1" || got["cpuset.mems"] != "0" {
		t.Errorf("cpuset = %q/%q, want the parent's 0-1/0", got["cpuset.cpus"], got["cpuset.mems"])
	}
}

func TestApplyWritesEveryHierarchy(t *testing.T) {
	h, _ := fakeHost(t, "hybrid", "/")
	m, err := newManager(h, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(1234); err != nil {
		t.Fatal(err)
	}
	if len(m.paths) != len(v1Controllers)+1 {
		t.Fatalf("paths = %v, want every v1 controller and the unified key", m.paths)
	}
	for k, d := range m.paths {
		if got := readAll(t, d)["cgroup.procs"]; got != "1234" {
			t.Errorf("%q cgroup.procs = %q", k, got)
		}
	}
}

func TestApplyThreadOneTaskInV1(t *testing.T) {
	h, _ := fakeHost(t, "hybrid", "/")
	m, err := newManager(h, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyThread(4321); err != nil {
		t.Fatal(err)
	}
	for k, d := range m.paths {
		files := readAll(t, d)
		want, other := "tasks", "cgroup.procs"
		if k == "" {
			want, other = other, want // v2 moves whole processes only
		}
		if files[want] != "4321" || files[other] != "" {
			t.Errorf("%q: %s = %q, %s = %q; want only %s", k, want, files[want], other, files[other], want)
		}
	}
}

func TestSetV2(t *testing.T) {
	tests := []struct {
		name    string
		r       *specs.LinuxResources
		want    map[string]string
		wantErr error
		wantMsg string // runc's words, where its suite matches them
	}{
		{
			name: "memory limit reservation and swap total",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(100 << 20)), Reservation: ptr(int64(50 << 20)), Swap: ptr(int64(300 << 20))}},
			want: map[string]string{"memory.max": "104857600", "memory.low": "52428800", "memory.swap.max": "209715200"},
		},
		{
			name: "unlimited memory makes swap unlimited",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))}},
			want: map[string]string{"memory.max": "max", "memory.swap.max": "max"},
		},
		{
			name: "swap equal to memory disables swap",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 20)), Swap: ptr(int64(1 << 20))}},
			want: map[string]string{"memory.max": "1048576", "memory.swap.max": "0"},
		},
		{
			name:    "swap below memory is refused",
			r:       &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(2 << 20)), Swap: ptr(int64(1 << 20))}},
			wantErr: errSwapBelowMemory,
		},
		{
			name:    "checkBeforeUpdate refuses a limit below usage",
			r:       &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1024)), CheckBeforeUpdate: ptr(true)}},
			wantErr: ErrBelowUsage,
			wantMsg: "rejecting memory limit 1024 <= usage",
		},
		{
			name:    "checkBeforeUpdate refuses a memory+swap limit below usage",
			r:       &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1024)), Swap: ptr(int64(2048)), CheckBeforeUpdate: ptr(true)}},
			wantErr: ErrBelowUsage,
			wantMsg: "rejecting memory+swap limit 2048 <= usage",
		},
		{
			name: "disableOOMKiller and swappiness are ignored on v2",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: ptr(true), Swappiness: ptr(uint64(10))}},
			want: map[string]string{"memory.max": "", "memory.oom.group": ""},
		},
		{
			name: "cpu shares quota period burst",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr(uint64(1024)), Quota: ptr(int64(50000)), Period: ptr(uint64(200000)), Burst: ptr(uint64(1000))}},
			want: map[string]string{"cpu.weight": "100", "cpu.max": "50000 200000", "cpu.max.burst": "1000"},
		},
		{
			name: "quota without period uses the default period",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(-1))}},
			want: map[string]string{"cpu.max": "max 100000"},
		},
		{
			name: "idle skips weight",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptr(int64(1)), Shares: ptr(uint64(512))}},
			want: map[string]string{"cpu.idle": "1", "cpu.weight": ""},
		},
		{
			name:    "realtime is refused",
			r:       &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(1000))}},
			wantErr: ErrNotSupported,
		},
		{
			name: "cpuset",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1", Mems: "0"}},
			want: map[string]string{"cpuset.cpus": "0-1", "cpuset.mems": "0"},
		},
		{name: "pids limit", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(64))}}, want: map[string]string{"pids.max": "64"}},
		{name: "pids -1 is max", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}}, want: map[string]string{"pids.max": "max"}},
		{name: "pids 0 is 1 as runc", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(0))}}, want: map[string]string{"pids.max": "1"}},
		{
			name: "io weight and throttle",
			r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
				Weight:                  ptr(uint16(500)),
				ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 100}},
			}},
			want: map[string]string{"io.weight": "4950", "io.max": "8:0 wiops=100"},
		},
		{
			name: "hugetlb and rdma",
			r: &specs.LinuxResources{
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
				Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr(uint32(3)), HcaObjects: ptr(uint32(9))}},
			},
			want: map[string]string{"hugetlb.2MB.max": "4194304", "rdma.max": "mlx5_0 hca_handle=3 hca_object=9"},
		},
		{name: "unified key", r: &specs.LinuxResources{Unified: map[string]string{"memory.high": "1000000"}}, want: map[string]string{"memory.high": "1000000"}},
		{name: "unified key with a slash is refused", r: &specs.LinuxResources{Unified: map[string]string{"../cgroup.procs": "1"}}, wantErr: ErrInvalidPath},
		{name: "unified dot-dot is refused", r: &specs.LinuxResources{Unified: map[string]string{"..": "1"}}, wantErr: ErrInvalidPath},
		{name: "unified key of a missing controller", r: &specs.LinuxResources{Unified: map[string]string{"misc.max": "x 1"}}, wantErr: ErrNotSupported},
		{
			name:    "net_cls has no v2 equivalent",
			r:       &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr(uint32(1))}},
			wantErr: ErrNotSupported,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := fakeHost(t, "v2", "/")
			m, err := newManager(h, "/ctr", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Create(tc.r); err != nil {
				t.Fatal(err)
			}
			err = m.Set(tc.r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("Set = %v, want %v saying %q", err, tc.wantErr, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, m.paths[""])
			for f, v := range tc.want {
				if got[f] != v {
					t.Errorf("%s = %q, want %q", f, got[f], v)
				}
			}
		})
	}
}

func TestSetV2Devices(t *testing.T) {
	h, calls := fakeHost(t, "v2", "/")
	m, err := newManager(h, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	rules := append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, DefaultDevices()...)
	if err := m.Set(&specs.LinuxResources{Devices: rules}); err != nil {
		t.Fatal(err)
	}
	if len(*calls) != 1 || len((*calls)[0]) != len(rules) {
		t.Fatalf("device program calls = %v, want one with %d rules", *calls, len(rules))
	}
}

func TestSetV1(t *testing.T) {
	type fileWant struct{ ctrl, file, val string }
	tests := []struct {
		name    string
		r       *specs.LinuxResources
		want    []fileWant
		wantErr error
	}{
		{
			name: "memory and swap total, raise order",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(100 << 20)), Swap: ptr(int64(200 << 20)), Reservation: ptr(int64(10 << 20)), Swappiness: ptr(uint64(0)), DisableOOMKiller: ptr(true)}},
			want: []fileWant{
				{"memory", "memory.limit_in_bytes", "104857600"}, {"memory", "memory.memsw.limit_in_bytes", "209715200"},
				{"memory", "memory.soft_limit_in_bytes", "10485760"}, {"memory", "memory.swappiness", "0"}, {"memory", "memory.oom_control", "1"},
			},
		},
		{
			name: "unlimited memory makes memsw unlimited",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))}},
			want: []fileWant{{"memory", "memory.limit_in_bytes", "-1"}, {"memory", "memory.memsw.limit_in_bytes", "-1"}},
		},
		{
			name:    "checkBeforeUpdate",
			r:       &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(100)), CheckBeforeUpdate: ptr(true)}},
			wantErr: ErrBelowUsage,
		},
		{
			name: "cpu",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(20000)), Period: ptr(uint64(100000)), Burst: ptr(uint64(5)), RealtimePeriod: ptr(uint64(1000000)), RealtimeRuntime: ptr(int64(950000)), Idle: ptr(int64(0)), Cpus: "1", Mems: "0"}},
			want: []fileWant{
				{"cpu", "cpu.shares", "512"}, {"cpu", "cpu.cfs_quota_us", "20000"}, {"cpu", "cpu.cfs_period_us", "100000"},
				{"cpu", "cpu.cfs_burst_us", "5"}, {"cpu", "cpu.rt_period_us", "1000000"}, {"cpu", "cpu.rt_runtime_us", "950000"},
				{"cpu", "cpu.idle", "0"}, {"cpuset", "cpuset.cpus", "1"}, {"cpuset", "cpuset.mems", "0"},
			},
		},
		{name: "pids", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}}, want: []fileWant{{"pids", "pids.max", "max"}}},
		{
			name: "blkio",
			r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
				Weight:                ptr(uint16(300)),
				WeightDevice:          []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr(uint16(400))}},
				ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 7, Minor: 1}, Rate: 1 << 20}},
			}},
			want: []fileWant{{"blkio", "blkio.weight", "300"}, {"blkio", "blkio.weight_device", "8:0 400"}, {"blkio", "blkio.throttle.read_bps_device", "7:1 1048576"}},
		},
		{
			name: "hugetlb net rdma",
			r: &specs.LinuxResources{
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}},
				Network:        &specs.LinuxNetwork{ClassID: ptr(uint32(0x100001)), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
				Rdma:           map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptr(uint32(2))}},
			},
			want: []fileWant{
				{"hugetlb", "hugetlb.2MB.limit_in_bytes", "2097152"}, {"net_cls", "net_cls.classid", "1048577"},
				{"net_prio", "net_prio.ifpriomap", "eth0 5"}, {"rdma", "rdma.max", "mlx4_0 hca_handle=2"},
			},
		},
		{
			name: "devices: last write is the last rule",
			r:    &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rw"}}},
			want: []fileWant{{"devices", "devices.deny", "a"}, {"devices", "devices.allow", "c 1:3 rw"}},
		},
		{name: "unified keys need a v2 tree", r: &specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}}, wantErr: ErrV1Unified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := fakeHost(t, "v1", "/")
			m, err := newManager(h, "/ctr", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Create(nil); err != nil {
				t.Fatal(err)
			}
			err = m.Set(tc.r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Set = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if got := readAll(t, m.paths[w.ctrl])[w.file]; got != w.val {
					t.Errorf("%s/%s = %q, want %q", w.ctrl, w.file, got, w.val)
				}
			}
		})
	}
}

func TestSetHybridHugetlbFallsBackToUnified(t *testing.T) {
	h, _ := fakeHost(t, "hybrid", "/")
	delete(h.v1, "hugetlb") // this machine: hugetlb only in the v2 tree
	m, err := newManager(h, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	r := &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}}
	if err := m.Create(r); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h.unified)["cgroup.subtree_control"]; !strings.Contains(got, "+hugetlb") {
		t.Errorf("unified root subtree_control = %q, want hugetlb delegated", got)
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m.paths[""])["hugetlb.2MB.max"]; got != "2097152" {
		t.Errorf("hugetlb.2MB.max = %q", got)
	}
}

func TestFreezeThawFake(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		frozenKey string
	}{
		{name: "v1 freezer", mode: "v1"},
		{name: "v2 cgroup.freeze", mode: "v2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := fakeHost(t, tc.mode, "/")
			m, err := newManager(h, "/ctr", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Create(nil); err != nil {
				t.Fatal(err)
			}
			if tc.mode == "v2" {
				// A plain file does not change on its own: pre-set the state the kernel would report.
				mkFiles(t, m.paths[""], map[string]string{"cgroup.events": "populated 1\nfrozen 1"})
			}
			if err := m.Freeze(); err != nil {
				t.Fatal(err)
			}
			if f, err := m.Frozen(); err != nil || !f {
				t.Fatalf("Frozen = %v, %v after Freeze", f, err)
			}
			if err := m.Thaw(); err != nil {
				t.Fatal(err)
			}
			if f, err := m.Frozen(); err != nil || f {
				t.Fatalf("Frozen = %v, %v after Thaw", f, err)
			}
		})
	}
}

func TestPidsRecursiveAndLoad(t *testing.T) {
	h, _ := fakeHost(t, "v2", "/")
	m, err := newManager(h, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	mkFiles(t, m.paths[""], map[string]string{"cgroup.procs": "10\n11\n"})
	mkFiles(t, filepath.Join(m.paths[""], "sub"), map[string]string{"cgroup.procs": "12\n"})
	got, err := Load(m.Paths()).Pids()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != 10 || got[1] != 11 || got[2] != 12 {
		t.Errorf("Pids = %v, want [10 11 12]", got)
	}
}

func TestDestroyMissingIsNotAnError(t *testing.T) {
	tests := []struct {
		name  string
		paths map[string]string
	}{
		{name: "no paths", paths: nil},
		{name: "gone", paths: map[string]string{"": filepath.Join(t.TempDir(), "gone")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Load(tc.paths).Destroy(); err != nil {
				t.Fatalf("Destroy = %v", err)
			}
		})
	}
}

// TestUnifiedRefusedUnlessV2: unified keys are refused by Create and Set on a v1 or hybrid host, in runc's words,
// and accepted on v2; an empty map is accepted everywhere, as runc accepts it.
func TestUnifiedRefusedUnlessV2(t *testing.T) {
	keys := &specs.LinuxResources{Unified: map[string]string{"hugetlb.2MB.max": "0"}}
	empty := &specs.LinuxResources{Unified: map[string]string{}}
	for _, mode := range []string{"v1", "hybrid", "v2"} {
		t.Run(mode, func(t *testing.T) {
			h, _ := fakeHost(t, mode, "/")
			m, err := newManager(h, "/ctr", "")
			if err != nil {
				t.Fatal(err)
			}
			err = m.Create(keys)
			if mode == "v2" {
				if err != nil {
					t.Fatalf("Create with unified keys on v2 = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrV1Unified) || !strings.Contains(err.Error(), "invalid configuration: cannot use unified on cgroup v1") {
				t.Fatalf("Create with unified keys on %s = %v, want runc's refusal", mode, err)
			}
			if err := m.Create(empty); err != nil {
				t.Fatalf("Create with an empty unified map = %v", err)
			}
			if err := m.Set(keys); !errors.Is(err, ErrV1Unified) {
				t.Fatalf("Set with unified keys on %s = %v, want ErrV1Unified", mode, err)
			}
		})
	}
}
