package libcontainer

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
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
