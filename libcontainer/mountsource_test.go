package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/rootfs"
)

// TestMountFdsRoundTrip: the fds sendMountFds sends arrive under their mount indexes, close-on-exec, in batches
// of at most maxFdsPerMsg, and the message after them is read intact.
func TestMountFdsRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		indexes []int
	}{
		{name: "one", indexes: []int{7}},
		{name: "sparse", indexes: []int{0, 3, 12}},
		{name: "more than one message", indexes: seq(maxFdsPerMsg + 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			parent, child := os.NewFile(uintptr(pair[0]), "parent"), os.NewFile(uintptr(pair[1]), "child")
			defer parent.Close()
			defer child.Close()
			sent := map[int]*os.File{}
			inodes := map[int]uint64{}
			dir := t.TempDir()
			for _, i := range tt.indexes {
				f, err := os.CreateTemp(dir, "fd")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				var st unix.Stat_t
				if err := unix.Fstat(int(f.Fd()), &st); err != nil {
					t.Fatal(err)
				}
				sent[i], inodes[i] = f, st.Ino
			}
			done := make(chan error, 1)
			go func() {
				err := sendMountFds(parent, sent)
				if err == nil {
					err = send(parent, syncConfig, []byte("{}"))
				}
				done <- err
			}()
			got := map[int]*os.File{}
			defer closeMountFds(got)
			for {
				m, err := recv(child)
				if err != nil {
					t.Fatal(err)
				}
				if m.typ == syncConfig {
					if string(m.payload) != "{}" {
						t.Errorf("config after the fds: %q", m.payload)
					}
					break
				}
				if m.typ != syncMountFds {
					t.Fatalf("%s, want mount-fds", m.typ)
				}
				if n := len(m.files); n > maxFdsPerMsg {
					t.Errorf("one message carries %d fds, more than %d", n, maxFdsPerMsg)
				}
				addMountFds(m, got)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if len(got) != len(sent) {
				t.Fatalf("received %d fds, sent %d", len(got), len(sent))
			}
			for i, f := range got {
				var st unix.Stat_t
				if err := unix.Fstat(int(f.Fd()), &st); err != nil {
					t.Fatal(err)
				}
				if st.Ino != inodes[i] {
					t.Errorf("mounts[%d]: inode %d, want %d", i, st.Ino, inodes[i])
				}
				if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
					t.Errorf("mounts[%d]: fd flags %#x (%v), want close-on-exec", i, fl, err)
				}
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestParentMount: which mounts the parent makes: every idmapped one; with a user namespace (hostBinds), every
// bind mount as well, but one from the rootfs; never a filesystem. A config with none opens nothing (openMountSources returns nil without a
// syscall: nothing is paid for what is not asked).
func TestParentMount(t *testing.T) {
	ids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	tests := []struct {
		name          string
		m             specs.Mount
		plain, userns bool
	}{
		{name: "bind type", m: specs.Mount{Type: "bind", Source: "/x"}, userns: true},
		{name: "rbind option", m: specs.Mount{Type: "none", Options: []string{"rbind", "ro"}}, userns: true},
		{name: "bind option, no type", m: specs.Mount{Options: []string{"bind"}}, userns: true},
		{name: "idmapped", m: specs.Mount{Type: "bind", Options: []string{"idmap"}}, plain: true, userns: true},
		{name: "mappings", m: specs.Mount{Type: "bind", UIDMappings: ids, GIDMappings: ids}, plain: true, userns: true},
		{name: "tmpfs", m: specs.Mount{Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}}},
		{name: "proc", m: specs.Mount{Type: "proc", Source: "proc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parentMount(&tt.m, false, "/b", "/b/rootfs"); got != tt.plain {
				t.Errorf("without a user namespace: %v, want %v", got, tt.plain)
			}
			if got := parentMount(&tt.m, true, "/b", "/b/rootfs"); got != tt.userns {
				t.Errorf("with a user namespace: %v, want %v", got, tt.userns)
			}
		})
	}
	spec := &specs.Spec{Linux: &specs.Linux{}, Mounts: []specs.Mount{{Type: "bind", Source: "/nonexistent"}}}
	if fds, err := openMountSources(spec, "/", "/rootfs", -1); fds != nil || err != nil {
		t.Errorf("openMountSources without a user namespace or idmapped mount: %v, %v; want nothing", fds, err)
	}
}

// TestOpenIdmappedRefused: what openIdmapped refuses before touching the system, as ErrIdmap.
func TestOpenIdmappedRefused(t *testing.T) {
	ids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	src := t.TempDir()
	tests := []struct {
		name string
		m    specs.Mount
	}{
		{name: "not a bind mount", m: specs.Mount{Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}}},
		{name: "no mappings and no user namespace", m: specs.Mount{Type: "bind", Source: src, Options: []string{"idmap"}}},
		{name: "uid mappings without gid mappings", m: specs.Mount{Type: "bind", Source: src, UIDMappings: ids}},
		{name: "gid mappings without uid mappings", m: specs.Mount{Type: "bind", Source: src, GIDMappings: ids}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := openIdmapped(&tt.m, "", nil)
			if !errors.Is(err, rootfs.ErrIdmap) {
				t.Errorf("openIdmapped: %v, want ErrIdmap", err)
			}
			if f != nil {
				f.Close()
				t.Errorf("openIdmapped returned a mount with its error")
			}
		})
	}
}

// spareThreadHelperEnv makes the test binary run spareThreadHelper instead of the tests (TestOnSpareThread).
const spareThreadHelperEnv = "RT_TEST_SPARE_THREAD"

func init() {
	if os.Getenv(spareThreadHelperEnv) != "" {
		// Package init runs on the main thread; locked, the main goroutine is still there in TestMain.
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(spareThreadHelperEnv) != "" {
		if err := spareThreadHelper(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(ttyHelperEnv) != "" {
		if err := ttyHelper(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv(pollerHelperEnv); path != "" {
		os.Exit(pollerHelper(path))
	}
	if os.Getenv(boundingHelperEnv) != "" {
		if err := boundingHelper(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// spareThreadHelper calls onSpareThread from the main goroutine on the main thread, with one P: the goroutine
// onSpareThread starts is run next on the main thread once the caller blocks, the case it must step out of. f
// leaves its thread's cwd changed (as joinMountNS leaves its mount namespace); that thread must be gone after, and
// the main thread's cwd untouched.
func spareThreadHelper() error {
	if unix.Gettid() != unix.Getpid() {
		return errors.New("helper: not on the main thread")
	}
	runtime.GOMAXPROCS(1)
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	runtime.UnlockOSThread()
	tid := 0
	err = onSpareThread(func() error {
		tid = unix.Gettid()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return err
		}
		return unix.Chdir("/")
	})
	if err != nil {
		return err
	}
	if tid == unix.Getpid() {
		return errors.New("f ran on the main thread")
	}
	if main, err := os.Readlink("/proc/self/cwd"); err != nil || main != cwd {
		return fmt.Errorf("main thread's cwd = %q, %v; want %q", main, err, cwd)
	}
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thread %d, which f left in another cwd, still exists", tid)
		}
		runtime.Gosched()
	}
}

// TestOnSpareThread: f never runs on the main thread, even when the main thread is the one free to run it, and
// the thread it dirtied ends with it.
func TestOnSpareThread(t *testing.T) {
	for i := 0; i < 5; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), spareThreadHelperEnv+"=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v: %s", i, err, out)
		}
	}
}

// TestIdmapRequestRefused: the parent answers a syncMountRequest only for an idmapped mount whose source is in the
// rootfs (the others it made itself), and once, refusing before it touches the clone.
func TestIdmapRequestRefused(t *testing.T) {
	ids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/a", Type: "bind", Source: "/host/src", Options: []string{"rbind", "idmap"}},
		{Destination: "/b", Type: "bind", Source: "/bundle/rootfs/src", Options: []string{"rbind"}, UIDMappings: ids},
		{Destination: "/c", Type: "bind", Source: "/bundle/rootfs/src", Options: []string{"rbind"}},
	}}
	req := idmapRequest(spec, "/bundle", "/bundle/rootfs", 1)
	for _, index := range []int{-1, 0, 2, 3} {
		if err := req(index, nil); !errors.Is(err, unix.EPROTO) {
			t.Errorf("request for mounts[%d]: %v, want EPROTO", index, err)
		}
	}
	// The first request for mounts[1] is served (and fails: its gidMappings are missing); a second is refused.
	if err := req(1, nil); !errors.Is(err, rootfs.ErrIdmap) {
		t.Errorf("first request for mounts[1]: %v, want ErrIdmap", err)
	}
	if err := req(1, nil); !errors.Is(err, unix.EPROTO) {
		t.Errorf("second request for mounts[1]: %v, want EPROTO", err)
	}
}
