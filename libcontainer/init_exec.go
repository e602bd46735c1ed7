package libcontainer

// A process joining a running container: `rt init` for `rt exec`, in the namespaces of the container's init. It
// has no rootfs to make and no fifo to wait on; what it does that a container's init does not: its terminal is its
// own (no /dev/console), execCPUAffinity applies, its LSM attributes go through a private procfs of its own, and
// whether setgroups(2) is allowed was read by the parent from the host.

import "os"

// execInit takes the steps every process shares (setupProcess) and execs.
func execInit(cfg *initConfig, sock *os.File) error {
	p := cfg.Spec.Process
	if p.Terminal {
		if err := setupConsole(p, sock, false); err != nil {
			return err
		}
	}
	path, err := setupProcess(cfg.Spec, p, sock, nil, !cfg.SetgroupsDenied, cfg.PreserveFDs)
	if err != nil {
		return err
	}
	return execve(p, path)
}
