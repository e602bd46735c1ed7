package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// socketPair is a connected pair of stream sockets, as the parent and `rt init` hold.
func socketPair(t *testing.T) (parent, child *os.File) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child = os.NewFile(uintptr(pair[0]), "parent"), os.NewFile(uintptr(pair[1]), "child")
	t.Cleanup(func() { parent.Close(); child.Close() })
	return parent, child
}

// TestSendRecv: every message comes back with its type and payload, and a message whose type carries fds comes
// back with that many, close-on-exec, naming the same files.
func TestSendRecv(t *testing.T) {
	tmp, err := os.CreateTemp(t.TempDir(), "fd")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	var want unix.Stat_t
	if err := unix.Fstat(int(tmp.Fd()), &want); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		typ     syncType
		payload []byte
		files   []fdHolder
	}{
		{name: "empty", typ: syncReady},
		{name: "config", typ: syncConfig, payload: []byte(`{"id":"c"}`)},
		{name: "binary", typ: syncHooksDone, payload: []byte{0, 1, 2, 255}},
		{name: "console", typ: syncConsole, files: []fdHolder{tmp}},
		{name: "seccomp", typ: syncSeccompFd, files: []fdHolder{rawFd(tmp.Fd())}},
		{name: "mounts", typ: syncMountFds, payload: []byte{7, 0, 0, 0, 9, 0, 0, 0}, files: []fdHolder{tmp, tmp}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, child := socketPair(t)
			if err := send(parent, tc.typ, tc.payload, tc.files...); err != nil {
				t.Fatal(err)
			}
			// A second message right behind: the fds' byte must not be read as part of the next frame.
			if err := send(parent, syncHooks, nil); err != nil {
				t.Fatal(err)
			}
			m, err := recv(child)
			if err != nil {
				t.Fatal(err)
			}
			defer m.closeFiles()
			if m.typ != tc.typ || !bytes.Equal(m.payload, tc.payload) {
				t.Errorf("recv = %s %q, want %s %q", m.typ, m.payload, tc.typ, tc.payload)
			}
			if len(m.files) != len(tc.files) {
				t.Fatalf("recv: %d fds, want %d", len(m.files), len(tc.files))
			}
			for _, f := range m.files {
				var st unix.Stat_t
				if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Ino != want.Ino || st.Dev != want.Dev {
					t.Errorf("fd %d: inode %d (%v), want %d", f.Fd(), st.Ino, err, want.Ino)
				}
				if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
					t.Errorf("fd %d: flags %#x (%v), want close-on-exec", f.Fd(), fl, err)
				}
			}
			if _, err := await(child, syncHooks); err != nil {
				t.Errorf("next message: %v", err)
			}
		})
	}
}

// TestSendFdCount: a message is sent only with the fds its type carries.
func TestSendFdCount(t *testing.T) {
	parent, _ := socketPair(t)
	for _, tc := range []struct {
		name  string
		typ   syncType
		files []fdHolder
	}{
		{name: "console without its fd", typ: syncConsole},
		{name: "config with an fd", typ: syncConfig, files: []fdHolder{rawFd(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := send(parent, tc.typ, nil, tc.files...); !errors.Is(err, unix.EPROTO) {
				t.Errorf("send = %v, want EPROTO", err)
			}
		})
	}
}

// TestRecvError: the child reports its failure as syncError; the parent gets it back as an error with its text.
func TestRecvError(t *testing.T) {
	parent, child := socketPair(t)
	if err := send(child, syncError, []byte("mount /proc: permission denied")); err != nil {
		t.Fatal(err)
	}
	if _, err := recv(parent); err == nil || err.Error() != "mount /proc: permission denied" {
		t.Errorf("syncError read as %v", err)
	}
	child.Close()
	if _, err := recv(parent); !isEOF(err) {
		t.Errorf("recv after close = %v, want EOF", err)
	}
}

// TestAwaitUnexpected: a message other than the one due is a protocol error naming both.
func TestAwaitUnexpected(t *testing.T) {
	parent, child := socketPair(t)
	if err := send(parent, syncReady, nil); err != nil {
		t.Fatal(err)
	}
	_, err := await(child, syncHooksDone)
	if !errors.Is(err, unix.EPROTO) || err.Error() != "ready where hooks-done was due: protocol error" {
		t.Errorf("await = %v", err)
	}
}

// TestSyncFdsBadPayload: a mount-fds payload that is not a whole, bounded list of indexes is a protocol error.
func TestSyncFdsBadPayload(t *testing.T) {
	for name, payload := range map[string][]byte{
		"empty":      nil,
		"odd length": {1, 2, 3},
		"too many":   make([]byte, 4*(maxFdsPerMsg+1)),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := syncFds(syncMountFds, payload); !errors.Is(err, unix.EPROTO) {
				t.Errorf("payload of %d bytes: %v, want EPROTO", len(payload), err)
			}
		})
	}
}

// TestInitConfigFraming: the init reads its whole config (the container's spec) as one message, so that must take
// a config as large as real ones get: a full seccomp profile, many env vars and annotations easily pass 64 KiB.
// (`rt run` of a 76 KB config.json once failed with "read init config: nsenter message 110: length 76290: protocol
// error".)
func TestInitConfigFraming(t *testing.T) {
	tests := []struct {
		name string
		envs int
	}{
		{name: "small", envs: 10},
		{name: "100 KB", envs: 1000},
		{name: "1 MB", envs: 10000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := validSpec()
			for i := range tc.envs {
				spec.Process.Env = append(spec.Process.Env, "V"+strconv.Itoa(i)+"="+string(bytes.Repeat([]byte("x"), 90)))
			}
			cfg, err := json.Marshal(&initConfig{ID: "c", Spec: spec})
			if err != nil {
				t.Fatal(err)
			}
			parent, child := socketPair(t)
			done := make(chan error, 1)
			go func() { done <- send(parent, syncConfig, cfg) }()
			m, err := await(child, syncConfig)
			if err != nil {
				t.Fatalf("recv of a %d-byte config: %v", len(cfg), err)
			}
			if !bytes.Equal(m.payload, cfg) {
				t.Errorf("config did not round-trip: %d bytes of %d", len(m.payload), len(cfg))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSyncTypeNames: every message type has a name of its own, for the protocol errors.
func TestSyncTypeNames(t *testing.T) {
	seen := map[string]syncType{}
	for _, typ := range []syncType{
		syncError, syncUsermap, syncUsermapDone, syncPid, syncConfig, syncHooks, syncHooksDone, syncReady,
		syncSeccompFd, syncConsole, syncMountFds, syncCommitted, syncJoinCgroup, syncCgroupJoined, syncMountRequest,
		syncExecConfig,
	} {
		name := typ.String()
		if other, ok := seen[name]; ok {
			t.Errorf("%d and %d are both %q", typ, other, name)
		}
		seen[name] = typ
		if name == "message "+strconv.Itoa(int(typ)) {
			t.Errorf("%d has no name", typ)
		}
	}
}

// TestInitSpec: the init's config leaves out the parent's parts (the hooks it runs itself, linux.resources,
// cgroupsPath, intelRdt, netDevices), which the init must never need: its JSON decoding is a first-use cost of every
// container, per struct type it meets. The rest reaches it as it is, and the parent's spec is not changed.
func TestInitSpec(t *testing.T) {
	hook := []specs.Hook{{Path: "/bin/true"}}
	spec := validSpec()
	spec.Annotations = map[string]string{"a": "b"}
	//nolint:staticcheck // Prestart is deprecated but still part of the spec.
	spec.Hooks = &specs.Hooks{Prestart: hook, CreateRuntime: hook, CreateContainer: hook, StartContainer: hook,
		Poststart: hook, Poststop: hook}
	spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}
	spec.Linux.CgroupsPath = "/c"
	spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c"}
	spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "eth0"}}
	spec.Linux.MaskedPaths = []string{"/proc/kcore"}
	before, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}

	got := initSpec(spec)

	want := *spec
	want.Hooks = &specs.Hooks{CreateContainer: hook, StartContainer: hook}
	linux := *spec.Linux
	linux.Resources, linux.CgroupsPath, linux.IntelRdt, linux.NetDevices = nil, "", nil, nil
	want.Linux = &linux
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("initSpec = %+v, want %+v", got, &want)
	}
	if after, _ := json.Marshal(spec); !bytes.Equal(after, before) {
		t.Errorf("initSpec changed its argument:\n%s\nwas\n%s", after, before)
	}
	// Without hooks of the init's own there are none at all.
	spec.Hooks = &specs.Hooks{Poststop: hook}
	if h := initSpec(spec).Hooks; h != nil {
		t.Errorf("initSpec with only poststop hooks: hooks %+v, want nil", h)
	}
}
