package cgroups

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotifyOOMV2KillSeenAsCgroupEmpties: the kernel rate-limits a cgroup file's change notifications (one per
// 20 ms, cgroup_file_notify), so memory.events' oom_kill may grow without its notification having arrived when
// cgroup.events says "populated 0": the OOM that emptied the cgroup must still be reported. The change to
// memory.events is made through a shared mapping, which inotify does not see, as the late notification.
func TestNotifyOOMV2KillSeenAsCgroupEmpties(t *testing.T) {
	dir := t.TempDir()
	mkFiles(t, dir, map[string]string{"memory.events": "oom 0\noom_kill 0\n", "cgroup.events": "populated 1\nfrozen 0\n"})
	ch, err := notifyOOMV2(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "memory.events"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, len("oom 0\noom_kill 0\n"), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	copy(mem, "oom 1\noom_kill 1\n")
	if err := unix.Munmap(mem); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 0\nfrozen 0\n"), 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				if n != 1 {
					t.Errorf("%d OOM events before the cgroup emptied, want 1", n)
				}
				return
			}
			n++
		case <-time.After(time.Minute): // a failsafe only: the channel closes as soon as cgroup.events is read
			t.Fatalf("no end of notifications after the cgroup emptied (%d events)", n)
		}
	}
}
