package libcontainer

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/cgroups"
)

func TestEffectiveResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	allowFuse := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(10), Minor: i64(229), Access: "rw"}
	pids := &specs.LinuxPids{Limit: i64(10)}
	withDevices := func() *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{denyAll, allowFuse}, Pids: pids},
			Devices: []specs.LinuxDevice{
				{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0}, {Path: "/dev/tun", Type: "c", Major: 10, Minor: 200},
			},
		}}
	}
	tests := []struct {
		name     string
		spec     *specs.Spec
		root     []specs.LinuxDeviceCgroup // the device rules as root
		wantPids *specs.LinuxPids
	}{
		{name: "no linux", spec: &specs.Spec{}, root: cgroups.DefaultDevices()},
		{name: "no resources", spec: &specs.Spec{Linux: &specs.Linux{}}, root: cgroups.DefaultDevices()},
		// runc's order (specconv): the config's rules, then the default allow list; later rules win. linux.devices
		// nodes add no rule of their own (create.go: as with runc, the config's resources must allow them).
		{name: "config rules first", spec: withDevices(), root: concat(
			[]specs.LinuxDeviceCgroup{denyAll, allowFuse}, cgroups.DefaultDevices(),
		), wantPids: pids},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before []specs.LinuxDeviceCgroup
			if tc.spec.Linux != nil && tc.spec.Linux.Resources != nil {
				before = append(before, tc.spec.Linux.Resources.Devices...)
			}
			r := effectiveResources(tc.spec)
			if r == nil {
				t.Fatal("effectiveResources = nil")
			}
			want := tc.root
			if os.Geteuid() != 0 {
				want = nil // an unprivileged user cannot restrict devices; the user namespace does
			}
			if !reflect.DeepEqual(r.Devices, want) {
				t.Errorf("devices:\n got %s\nwant %s", devString(r.Devices), devString(want))
			}
			if r.Pids != tc.wantPids {
				t.Errorf("other resources not carried over: pids %v, want %v", r.Pids, tc.wantPids)
			}
			// The saved config must keep the user's rules only: state.json is written from it.
			if tc.spec.Linux != nil && tc.spec.Linux.Resources != nil && !reflect.DeepEqual(tc.spec.Linux.Resources.Devices, before) {
				t.Errorf("config's device rules changed to %s", devString(tc.spec.Linux.Resources.Devices))
			}
		})
	}
}

func concat(lists ...[]specs.LinuxDeviceCgroup) []specs.LinuxDeviceCgroup {
	var out []specs.LinuxDeviceCgroup
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func devString(devs []specs.LinuxDeviceCgroup) string {
	var b bytes.Buffer
	for _, d := range devs {
		num := func(p *int64) string {
			if p == nil {
				return "*"
			}
			return strconv.Itoa(int(*p))
		}
		allow := "deny"
		if d.Allow {
			allow = "allow"
		}
		b.WriteString("[" + allow + " " + d.Type + " " + num(d.Major) + ":" + num(d.Minor) + " " + d.Access + "] ")
	}
	return b.String()
}

// TestCgroupMounts: the init gets the parent's cgroup mounts only for a "cgroup" mount in a mount table that is a
// copy of the parent's; with a mount namespace joined by path it reads its own.
func TestCgroupMounts(t *testing.T) {
	if cgroups.Mode() == "v2" {
		t.Skip("on a v2 host the init needs no hierarchy list")
	}
	if ms, err := cgroups.Mounts(); err != nil || len(ms) == 0 {
		t.Skip("no cgroup mounts here")
	}
	cgroupMount := []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"}}
	tests := []struct {
		name   string
		mounts []specs.Mount
		ns     []specs.LinuxNamespace
		want   bool
	}{
		{"new mount namespace", cgroupMount, []specs.LinuxNamespace{{Type: specs.MountNamespace}}, true},
		{"no mount namespace", cgroupMount, nil, true},
		{"mount namespace joined by path", cgroupMount, []specs.LinuxNamespace{{Type: specs.MountNamespace, Path: "/proc/1/ns/mnt"}}, false},
		{"no cgroup mount", []specs.Mount{{Destination: "/proc", Type: "proc"}}, []specs.LinuxNamespace{{Type: specs.MountNamespace}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Mounts: tc.mounts, Linux: &specs.Linux{Namespaces: tc.ns}}
			if got := cgroupMounts(spec) != nil; got != tc.want {
				t.Errorf("cgroup mounts sent: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCgroupJoin: the bootstrap child joins each v1 cgroup once through its tasks file (co-mounted controllers share
// a directory), in a stable order, and is cloned into the v2 one; with the systemd driver the unit's start places it.
func TestCgroupJoin(t *testing.T) {
	tests := []struct {
		name      string
		state     State
		wantTasks []string
		wantInto  string
		wantJoins bool
	}{
		{name: "no cgroup", wantJoins: true},
		{name: "v2", state: State{CgroupPaths: map[string]string{"": "/sys/fs/cgroup/c"}},
			wantInto: "/sys/fs/cgroup/c", wantJoins: true},
		{name: "hybrid", state: State{CgroupPaths: map[string]string{
			"pids": "/sys/fs/cgroup/pids/c", "cpu": "/sys/fs/cgroup/cpu,cpuacct/c", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct/c",
			"": "/sys/fs/cgroup/unified/c",
		}}, wantTasks: []string{"/sys/fs/cgroup/cpu,cpuacct/c/tasks", "/sys/fs/cgroup/pids/c/tasks"},
			wantInto: "/sys/fs/cgroup/unified/c", wantJoins: true},
		{name: "systemd", state: State{
			CgroupPaths: map[string]string{"pids": "/sys/fs/cgroup/pids/u.scope"}, CgroupUnit: &cgroups.SystemdUnit{Name: "u.scope"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Container{state: tc.state}
			tasks, into, joins := c.cgroup().SelfJoin()
			if !reflect.DeepEqual(tasks, tc.wantTasks) || into != tc.wantInto || joins != tc.wantJoins {
				t.Errorf("SelfJoin = %q, %q, %v; want %q, %q, %v", tasks, into, joins, tc.wantTasks, tc.wantInto, tc.wantJoins)
			}
		})
	}
}
