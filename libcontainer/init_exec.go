package libcontainer

// A process joining a running container: `rt init` for `rt exec`, in the namespaces of the container's init. It
// has no rootfs to make and no fifo to wait on; what it does that a container's init does not: its terminal is its
// own (no /dev/console), execCPUAffinity applies, its LSM attributes go through a private procfs of its own, and
// whether setgroups(2) is allowed was read by the parent from the host; and it joins the container's cgroup last
// (joinCgroup).

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execInit takes the steps every process shares (setupProcess) and execs.
func execInit(cfg *execConfig, sock *os.File) error {
	p := cfg.Process
	if p == nil {
		return fmt.Errorf("decode init config: no process: %w", unix.EPROTO)
	}
	linux, err := cfg.linux()
	if err != nil {
		return err
	}
	if p.Terminal {
		if err := setupConsole(p, sock, false); err != nil {
			return err
		}
	}
	join := func() error { return joinCgroup(sock) }
	path, err := setupProcess(linux, p, sock, nil, !cfg.SetgroupsDenied, cfg.PreserveFDs, join)
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

// linux decodes the parts of linux the config carries, as the container's config has them (execView); the others
// stay unset.
func (cfg *execConfig) linux() (*specs.Linux, error) {
	l := &specs.Linux{}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		into any
	}{
		{"linux.seccomp", cfg.Seccomp, &l.Seccomp},
		{"linux.personality", cfg.Personality, &l.Personality},
		{"linux.memoryPolicy", cfg.MemoryPolicy, &l.MemoryPolicy},
	} {
		if len(f.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(f.raw, f.into); err != nil {
			return nil, fmt.Errorf("decode init config: %s: %w", f.name, err)
		}
	}
	return l, nil
}
