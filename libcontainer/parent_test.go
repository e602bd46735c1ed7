package libcontainer

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/nsenter"
)

func TestTimeOffsets(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]specs.LinuxTimeOffset
		want string
	}{
		{name: "none", in: nil, want: ""},
		{name: "monotonic", in: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 5, Nanosecs: 7}}, want: "monotonic 5 7\n"},
		{name: "negative", in: map[string]specs.LinuxTimeOffset{"boottime": {Secs: -86400}}, want: "boottime -86400 0\n"},
		// A stable order, whatever the map's iteration order.
		{name: "both", in: map[string]specs.LinuxTimeOffset{"boottime": {Secs: 2}, "monotonic": {Secs: 1}}, want: "monotonic 1 0\nboottime 2 0\n"},
		{name: "unknown clock ignored", in: map[string]specs.LinuxTimeOffset{"realtime": {Secs: 9}}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 10 {
				if got := timeOffsets(tc.in); got != tc.want {
					t.Fatalf("timeOffsets = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestBootstrapFor(t *testing.T) {
	tests := []struct {
		name string
		in   *specs.Linux
		want nsenter.Bootstrap
	}{
		{name: "no linux", in: nil, want: nsenter.Bootstrap{}},
		{name: "no namespaces", in: &specs.Linux{}, want: nsenter.Bootstrap{}},
		{name: "all new", in: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.MountNamespace}, {Type: specs.IPCNamespace},
			{Type: specs.UTSNamespace}, {Type: specs.UserNamespace}, {Type: specs.CgroupNamespace},
		}}, want: nsenter.Bootstrap{CloneFlags: unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWNS | unix.CLONE_NEWIPC |
			unix.CLONE_NEWUTS | unix.CLONE_NEWUSER | unix.CLONE_NEWCGROUP}},
		{name: "joined in order", in: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.NetworkNamespace, Path: "/var/run/netns/x"}, {Type: specs.PIDNamespace},
			{Type: specs.UserNamespace, Path: "/proc/7/ns/user"},
		}}, want: nsenter.Bootstrap{CloneFlags: unix.CLONE_NEWPID, Join: []nsenter.NsPath{
			{Type: unix.CLONE_NEWNET, Path: "/var/run/netns/x"}, {Type: unix.CLONE_NEWUSER, Path: "/proc/7/ns/user"},
		}}},
		{name: "new time namespace with offsets", in: &specs.Linux{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.TimeNamespace}},
			TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 3}},
		}, want: nsenter.Bootstrap{CloneFlags: unix.CLONE_NEWTIME, TimeOffsets: "monotonic 3 0\n"}},
		// time_namespaces(7): offsets can only be set on a fresh namespace, before a process enters it.
		{name: "joined time namespace has no offsets", in: &specs.Linux{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.TimeNamespace, Path: "/proc/9/ns/time"}},
			TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 3}},
		}, want: nsenter.Bootstrap{Join: []nsenter.NsPath{{Type: unix.CLONE_NEWTIME, Path: "/proc/9/ns/time"}}}},
		{name: "offsets without time namespace", in: &specs.Linux{
			TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 3}},
		}, want: nsenter.Bootstrap{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := bootstrapFor(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("bootstrapFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNsTables checks the two namespace tables agree and cover every type the spec defines.
func TestNsTables(t *testing.T) {
	for _, typ := range []specs.LinuxNamespaceType{
		specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace, specs.TimeNamespace,
	} {
		flag, ok := nsFlags[typ]
		if !ok || flag == 0 {
			t.Errorf("nsFlags[%q] missing", typ)
		}
		if _, ok := nsProcName[typ]; !ok {
			t.Errorf("nsProcName[%q] missing", typ)
		}
	}
	if len(nsFlags) != len(nsProcName) {
		t.Errorf("nsFlags has %d types, nsProcName %d", len(nsFlags), len(nsProcName))
	}
}

func TestJoinBootstrap(t *testing.T) {
	t.Run("own process", func(t *testing.T) {
		b, err := joinBootstrap(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		// Every namespace is our own: joining them again is wasted work, and the user one is EINVAL (setns(2)).
		if len(b.Join) != 0 || b.CloneFlags != 0 {
			t.Errorf("joinBootstrap(self) = %+v, want nothing to join", b)
		}
	})
	t.Run("missing process", func(t *testing.T) {
		if _, err := joinBootstrap(1 << 30); err == nil {
			t.Error("joinBootstrap of a missing pid succeeded")
		}
	})
	t.Run("child in new uts and ipc namespaces", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to create namespaces")
		}
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			t.Skip("no sleep binary")
		}
		cmd := exec.Command(sleep, "1000")
		cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		b, err := joinBootstrap(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		want := []nsenter.NsPath{
			{Type: unix.CLONE_NEWIPC, Path: "/proc/" + strconv.Itoa(pid) + "/ns/ipc"},
			{Type: unix.CLONE_NEWUTS, Path: "/proc/" + strconv.Itoa(pid) + "/ns/uts"},
		}
		if !reflect.DeepEqual(b.Join, want) {
			t.Errorf("joinBootstrap = %+v, want %+v", b.Join, want)
		}
	})
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		ws   unix.WaitStatus
		want int
	}{
		{name: "success", ws: 0, want: 0},
		{name: "exit 3", ws: 3 << 8, want: 3},
		{name: "exit 255", ws: 255 << 8, want: 255},
		{name: "killed", ws: unix.WaitStatus(unix.SIGKILL), want: 137},
		{name: "terminated", ws: unix.WaitStatus(unix.SIGTERM), want: 143},
		{name: "killed with core", ws: unix.WaitStatus(unix.SIGSEGV) | 0x80, want: 139},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.ws); got != tc.want {
				t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tc.ws), got, tc.want)
			}
		})
	}
}

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
