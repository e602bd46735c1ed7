package libcontainer

import (
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

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
