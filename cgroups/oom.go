package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NotifyOOM reports each OOM event of the cgroup as it happens on the returned channel, which is closed once the
// cgroup is gone (v1) or has no process left (v2), as runc's notifiers do: v1 through an eventfd registered on
// memory.oom_control with cgroup.event_control (cgroup-v1/memory.rst "Memory thresholds"/"OOM Control"; the kernel
// also signals the eventfd when the cgroup is removed), v2 through inotify on memory.events, whose oom_kill count
// grows (cgroup-v2.rst: the file's modification is notified), and on cgroup.events for "populated 0".
func (m *Manager) NotifyOOM() (<-chan struct{}, error) {
	if d := m.paths["memory"]; d != "" {
		return notifyOOMV1(d)
	}
	if d := m.paths[""]; d != "" && exists(d, "memory.events") {
		return notifyOOMV2(d)
	}
	return nil, fmt.Errorf("oom notification: no memory controller: %w", ErrNotSupported)
}

func notifyOOMV1(dir string) (<-chan struct{}, error) {
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return nil, fmt.Errorf("oom notification: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("oom notification: %w", os.NewSyscallError("eventfd", err))
	}
	if err := writeFile(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, ctl.Fd())); err != nil {
		ctl.Close()
		_ = unix.Close(efd)
		return nil, fmt.Errorf("oom notification: %w", err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer ctl.Close()
		defer unix.Close(efd)
		var buf [8]byte
		for {
			if _, err := unix.Read(efd, buf[:]); errors.Is(err, unix.EINTR) {
				continue
			} else if err != nil {
				return
			}
			// The same eventfd fires as the cgroup is removed: then there is no OOM, and nothing more to watch.
			if !exists(dir, "cgroup.event_control") {
				return
			}
			ch <- struct{}{}
		}
	}()
	return ch, nil
}

func notifyOOMV2(dir string) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("oom notification: %w", os.NewSyscallError("inotify_init1", err))
	}
	memWd, err := unix.InotifyAddWatch(fd, filepath.Join(dir, "memory.events"), unix.IN_MODIFY)
	if err == nil {
		_, err = unix.InotifyAddWatch(fd, filepath.Join(dir, "cgroup.events"), unix.IN_MODIFY)
	}
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("oom notification: %w", os.NewSyscallError("inotify_add_watch", err))
	}
	kills := func() (uint64, error) {
		ev, err := readKV(dir, "memory.events")
		return ev["oom_kill"], err
	}
	seen, _ := kills()
	// report sends an event for each OOM kill counted since the last look. It is called on memory.events' change
	// and once more at the end: the kernel rate-limits a cgroup file's notifications (one per 20 ms,
	// cgroup_file_notify), so the kill that emptied the cgroup may be counted before its notification arrives.
	report := func(ch chan<- struct{}) error {
		n, err := kills()
		if err != nil {
			return err
		}
		for ; seen < n; seen++ {
			ch <- struct{}{}
		}
		return nil
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer unix.Close(fd)
		defer func() { _ = report(ch) }() // the last kills, if memory.events is still there to read
		var buf [unix.SizeofInotifyEvent + unix.PathMax + 1]byte
		for {
			n, err := unix.Read(fd, buf[:])
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n < unix.SizeofInotifyEvent {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if ev.Mask&unix.IN_IGNORED != 0 {
					return // the watched file went with its cgroup
				}
				if ev.Mask&unix.IN_MODIFY == 0 {
					continue
				}
				if int(ev.Wd) == memWd {
					if report(ch) != nil {
						return
					}
					continue
				}
				cg, err := readKV(dir, "cgroup.events")
				if err != nil || cg["populated"] == 0 {
					return
				}
			}
		}
	}()
	return ch, nil
}
