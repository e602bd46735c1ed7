package cgroups

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	sd "github.com/coreos/go-systemd/v22/dbus"
	dbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSystemdPath(t *testing.T) {
	for _, tc := range []struct {
		name, path, id string
		user           bool
		want           SystemdUnit
		bad            bool
	}{
		{name: "containerd", path: "system.slice:cri-containerd:abc", want: SystemdUnit{Name: "cri-containerd-abc.scope", Slice: "system.slice"}},
		{name: "podman", path: "machine.slice:libpod:abc", want: SystemdUnit{Name: "libpod-abc.scope", Slice: "machine.slice"}},
		{name: "empty slice is system.slice", path: ":p:n", want: SystemdUnit{Name: "p-n.scope", Slice: "system.slice"}},
		{name: "empty slice is user.slice for the user's systemd", path: ":p:n", user: true, want: SystemdUnit{Name: "p-n.scope", Slice: "user.slice", User: true}},
		{name: "empty path is rt-ID.scope", id: "ctr1", want: SystemdUnit{Name: "rt-ctr1.scope", Slice: "system.slice"}},
		{name: "empty prefix, as runc", path: "system.slice::n", want: SystemdUnit{Name: "-n.scope", Slice: "system.slice"}},
		{name: "a name ending in .slice makes a slice", path: "kubepods.slice:x:kubepods-burstable.slice", want: SystemdUnit{Name: "kubepods-burstable.slice", Slice: "kubepods.slice"}},
		{name: "nested slice", path: "kubepods-burstable-pod1.slice:cri:c", want: SystemdUnit{Name: "cri-c.scope", Slice: "kubepods-burstable-pod1.slice"}},
		{name: "root slice", path: "-.slice:p:n", want: SystemdUnit{Name: "p-n.scope", Slice: "-.slice"}},
		{name: "two fields", path: "system.slice:n", bad: true},
		{name: "four fields", path: "a.slice:b:c:d", bad: true},
		{name: "a path, not a triple", path: "/a/b", bad: true},
		{name: "slice with slash", path: "a/b.slice:p:n", bad: true},
		{name: "slice with dotdot", path: "a..b.slice:p:n", bad: true},
		{name: "slice without suffix", path: "system:p:n", bad: true},
		{name: "empty dash component", path: "a--b.slice:p:n", bad: true},
		{name: "leading dash", path: "-a.slice:p:n", bad: true},
		{name: "name with slash", path: "system.slice:p:a/b", bad: true},
		{name: "name dotdot", path: "system.slice:p:..", bad: true},
		{name: "empty name", path: "system.slice:p:", bad: true},
		{name: "prefix with space", path: "system.slice:a b:n", bad: true},
		{name: "bad slice name as unit", path: "system.slice:p:a--b.slice", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSystemdPath(tc.path, tc.id, tc.user)
			if tc.bad {
				if !errors.Is(err, ErrSystemdPath) {
					t.Fatalf("parseSystemdPath(%q) = %+v, %v; want ErrSystemdPath", tc.path, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseSystemdPath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.want)
			}
		})
	}
}

func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"system.slice":                  "/system.slice",
		"-.slice":                       "/",
		"user-1000.slice":               "/user.slice/user-1000.slice",
		"kubepods-burstable-pod1.slice": "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
	} {
		if got, err := expandSlice(in); err != nil || got != want {
			t.Errorf("expandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".slice", "a", "a.scope", "a/b.slice", "../a.slice", "a-.slice", "-a.slice", "a--b.slice", "a..slice"} {
		if got, err := expandSlice(in); err == nil {
			t.Errorf("expandSlice(%q) = %q, want an error", in, got)
		}
	}
}

func TestAnnotationProps(t *testing.T) {
	got, err := annotationProps(map[string]string{
		"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
		"org.systemd.property.CollectMode":     "'inactive-or-failed'",
		"org.systemd.property.TimeoutStopSec":  "uint32 5", // ...Sec is sent as ...USec, in microseconds
		"org.systemd.property.RuntimeMaxSec":   "2.5",
		"org.systemd.property.Delegate":        "true",
		"com.example.other":                    "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []sd.Property{
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
		{Name: "Delegate", Value: dbus.MakeVariant(true)},
		{Name: "RuntimeMaxUSec", Value: dbus.MakeVariant(uint64(2_500_000))},
		{Name: "TimeoutStopUSec", Value: dbus.MakeVariant(uint64(5_000_000))},
		{Name: "TimeoutStopUSec", Value: dbus.MakeVariant(uint64(123456789))},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("annotationProps = %v\nwant %v", got, want)
	}

	for name, ann := range map[string]map[string]string{
		"unknown type":        {"org.systemd.property.TimeoutStopUSec": "uint99 5"},
		"not gvariant":        {"org.systemd.property.Description": "two words"},
		"short name":          {"org.systemd.property.AB": "true"},
		"digit in name":       {"org.systemd.property.Abc1": "true"},
		"Sec with a string":   {"org.systemd.property.TimeoutStopSec": "'five'"},
		"negative Sec":        {"org.systemd.property.TimeoutStopSec": "int32 -5"},
		"empty property name": {"org.systemd.property.": "true"},
	} {
		if props, err := annotationProps(ann); err == nil {
			t.Errorf("%s: annotationProps(%v) = %v, want an error", name, ann, props)
		}
	}
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func propMap(props []sd.Property) map[string]any {
	m := map[string]any{}
	for _, p := range props {
		m[p.Name] = p.Value.Value()
	}
	return m
}

func TestResourceProps(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: i64(12345), Period: u64(100000), Cpus: "0-2,9", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(0)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500)},
	}
	props, files, err := resourceProps(r, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"MemoryMax":          uint64(64 << 20),
		"MemoryLow":          uint64(32 << 20),
		"MemorySwapMax":      uint64(32 << 20), // swap = memory+swap - memory, as memory.swap.max
		"CPUWeight":          uint64(100),      // runc#4785: 1024 shares -> 100
		"CPUQuotaPeriodUSec": uint64(100000),
		"CPUQuotaPerSecUSec": uint64(130000),     // 123450 µs/s rounded up to whole percent
		"AllowedCPUs":        []byte{0x07, 0x02}, // cpus 0,1,2 and 9
		"AllowedMemoryNodes": []byte{0x01},
		"TasksMax":           uint64(1), // 0 is not expressible: 1, as pids.max
		"IOWeight":           uint64(4950),
	}
	if got := propMap(props); !reflect.DeepEqual(got, want) {
		t.Errorf("resourceProps = %v\nwant %v", got, want)
	}
	if q := *files.CPU.Quota; q != 13000 {
		t.Errorf("cpu quota for cpu.max = %d, want 13000 (the rounded-up quota systemd sets)", q)
	}
	if *r.CPU.Quota != 12345 {
		t.Errorf("the caller's resources were modified: quota %d", *r.CPU.Quota)
	}

	// -1 is "infinity"; no quota with a period is USEC_INFINITY.
	props, _, err = resourceProps(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)},
		CPU:    &specs.LinuxCPU{Period: u64(50000)},
		Pids:   &specs.LinuxPids{Limit: i64(-1)},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{
		"MemoryMax": uint64(math.MaxUint64), "MemorySwapMax": uint64(math.MaxUint64),
		"CPUQuotaPeriodUSec": uint64(50000), "CPUQuotaPerSecUSec": uint64(math.MaxUint64),
		"TasksMax": uint64(math.MaxUint64),
	}
	if got := propMap(props); !reflect.DeepEqual(got, want) {
		t.Errorf("unlimited: resourceProps = %v\nwant %v", got, want)
	}

	for name, r := range map[string]*specs.LinuxResources{
		"swap below memory": {Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(50)}},
		"bad cpus":          {CPU: &specs.LinuxCPU{Cpus: "3-1"}},
		"bad mems":          {CPU: &specs.LinuxCPU{Mems: "x"}},
	} {
		if _, _, err := resourceProps(r, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDeviceProps(t *testing.T) {
	rules := append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, DefaultDevices()...)
	rules = append(rules,
		specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(7), Minor: i64(0), Access: "r"},
		specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}, // left to rt's program
	)
	got := propMap(deviceProps(rules))
	if got["DevicePolicy"] != "strict" {
		t.Errorf("DevicePolicy = %v, want strict", got["DevicePolicy"])
	}
	allow, _ := got["DeviceAllow"].([]deviceAllow)
	has := func(p, perms string) bool {
		for _, a := range allow {
			if a.Path == p && a.Perms == perms {
				return true
			}
		}
		return false
	}
	for _, w := range []deviceAllow{{"/dev/char/1:3", "rwm"}, {"/dev/block/7:0", "r"}, {"char-136", "rwm"}, {"char-*", "m"}, {"block-*", "m"}} {
		if !has(w.Path, w.Perms) {
			t.Errorf("DeviceAllow %v lacks %v", allow, w)
		}
	}

	got = propMap(deviceProps([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Access: "rwm"}}))
	if got["DevicePolicy"] != "auto" || len(got["DeviceAllow"].([]deviceAllow)) != 0 {
		t.Errorf("allow-all: %v, want DevicePolicy=auto and no DeviceAllow", got)
	}
}

func TestSystemdHost(t *testing.T) {
	if err := systemdHost(true, "v2"); err != nil {
		t.Errorf("v2 host booted by systemd: %v", err)
	}
	if err := systemdHost(false, "v2"); !errors.Is(err, errNoSystemd) {
		t.Errorf("not booted by systemd: %v, want runc's %q", err, errNoSystemd)
	}
	for _, mode := range []string{"hybrid", "v1"} {
		err := systemdHost(true, mode)
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "--systemd-cgroup") || !strings.Contains(err.Error(), mode) {
			t.Errorf("%s host: %v, want a refusal naming the flag and the mode", mode, err)
		}
	}
}

func TestUnitDir(t *testing.T) {
	for _, tc := range []struct {
		base string
		u    SystemdUnit
		want string
	}{
		{"/", SystemdUnit{Name: "cri-containerd-a.scope", Slice: "system.slice"}, "/sys/fs/cgroup/system.slice/cri-containerd-a.scope"},
		{"/", SystemdUnit{Name: "cri-a.scope", Slice: "kubepods-besteffort-pod1.slice"},
			"/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-a.scope"},
		{"/", SystemdUnit{Name: "p-n.scope", Slice: "-.slice"}, "/sys/fs/cgroup/p-n.scope"},
		{"/user.slice/user-1000.slice/user@1000.service", SystemdUnit{Name: "rt-a.scope", Slice: "user.slice", User: true},
			"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/user.slice/rt-a.scope"},
		{"/", SystemdUnit{Name: "kubepods-burstable.slice", Slice: "kubepods.slice"}, "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice"},
	} {
		if got := unitDir("/sys/fs/cgroup", tc.base, tc.u); got != tc.want {
			t.Errorf("unitDir(%q, %+v) = %q, want %q", tc.base, tc.u, got, tc.want)
		}
	}
}
