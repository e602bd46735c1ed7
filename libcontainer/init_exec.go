package libcontainer

// A process joining a running container: `rt init` for `rt exec`, in the namespaces of the container's init. It
// has no rootfs to make and no fifo to wait on; what it does that a container's init does not: its terminal is its
// own (no /dev/console), execCPUAffinity applies, its LSM attributes go through a private procfs of its own, and
// whether setgroups(2) is allowed was read by the parent from the host; and it joins the container's cgroup last
// (joinCgroup).

import (
	"fmt"
	"os"
)

// execInit takes the steps every process shares (setupProcess) and execs.
func execInit(cfg *initConfig, sock *os.File) error {
	p := cfg.Spec.Process
	if p.Terminal {
		if err := setupConsole(p, sock, false); err != nil {
			return err
		}
	}
	join := func() error { return joinCgroup(sock) }
	path, err := setupProcess(cfg.Spec, p, sock, nil, !cfg.SetgroupsDenied, cfg.PreserveFDs, join)
	if err != nil {
		return err
	}
	return execve(p, path)
}

// joinCgroup has the parent move this thread, the one that execs (Init locks it), into the container's cgroup,
// and waits until it is there. From here to execve nothing starts a thread: a new Go thread is made by the runtime's
// template thread (this one is locked), which stays outside, and execve ends every other thread.
func joinCgroup(sock *os.File) error {
	if err := send(sock, syncJoinCgroup, nil); err != nil {
		return fmt.Errorf("sync with parent: %w", err)
	}
	if _, err := await(sock, syncCgroupJoined); err != nil {
		return fmt.Errorf("sync with parent: %w", err)
	}
	return nil
}
