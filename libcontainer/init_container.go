package libcontainer

// A container's init: `rt init` for `rt create`, in the container's new namespaces. What it does that a process
// joining a running container (init_exec.go) does not: the rootfs, the parent's hooks, pivot_root, /dev/console,
// hostname and sysctls, and the wait on the exec fifo.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/rootfs"
)

// containerInit is a container's init: it sets up the new container from inside its namespaces (rootfs, hooks,
// pivot_root, terminal, hostname, sysctls), takes the steps every process shares (setupProcess), reports ready,
// waits on the exec fifo for `rt start`, runs the startContainer hooks and execs.
// mountFds are the bind mounts the parent made, by mount index.
func containerInit(cfg *initConfig, sock *os.File, mountFds map[int]*os.File) error {
	spec := cfg.Spec
	fifoFile, err := moveFd(os.NewFile(fifoFd, "exec-fifo"), fifoFd+1+cfg.PreserveFDs)
	if err != nil {
		return err
	}
	if cfg.NewNetNS {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if !cfg.NoNewKeyring {
		if err := joinSessionKeyring(cfg.ID); err != nil {
			return err
		}
	}
	// A procfs handle the container cannot redirect, for the exec fifo, the sysctls and the LSM attributes.
	proc, err := trustedProcfs()
	if err != nil {
		return err
	}
	if proc, err = moveFd(proc, fifoFd+1+cfg.PreserveFDs); err != nil {
		return err
	}
	opts := &rootfs.Options{CgroupPaths: cfg.CgroupPaths, CgroupMounts: cfg.CgroupMounts, BundleDir: cfg.Bundle,
		Mounts: mountFds, Idmap: askIdmap(sock), HostMountNS: !cfg.OwnMountNS}
	if err := rootfs.Prepare(spec, cfg.Rootfs, opts); err != nil {
		return err
	}
	closeMountFds(mountFds) // attached now: the handles have no further use, and must not reach the container
	if spec.Process != nil && spec.Process.Cwd != "" {
		// The cwd is created if missing, as root and inside the rootfs, as runc does.
		if err := rootfs.MkdirAll(cfg.Rootfs, spec.Process.Cwd); err != nil {
			return fmt.Errorf("process.cwd %s: %w", spec.Process.Cwd, err)
		}
	}
	if cfg.ParentHooks {
		state, err := awaitHooks(sock)
		if err != nil {
			return err
		}
		if h := spec.Hooks; h != nil {
			// In the rootfs, before pivot_root, as runc runs them: hooks written for runc use paths such as ./lib.
			if err := runHooksIn("createContainer", h.CreateContainer, state, hookEnv{dir: cfg.Rootfs}); err != nil {
				return err
			}
		}
	}
	if err := enterRoot(cfg); err != nil {
		return err
	}
	if p := spec.Process; p != nil && p.Terminal {
		if err := setupConsole(p, sock, true); err != nil {
			return err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("hostname %q: %w", spec.Hostname, os.NewSyscallError("sethostname", err))
		}
	}
	if spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			return fmt.Errorf("domainname %q: %w", spec.Domainname, os.NewSyscallError("setdomainname", err))
		}
	}
	for key, value := range spec.Linux.Sysctl {
		if err := writeSysctl(proc, key, value); err != nil {
			return err
		}
	}
	// Masked and read-only paths and the read-only root are mounts: without a mount namespace of its own they
	// would change the caller's (runc skips them too).
	if cfg.OwnMountNS {
		if err := rootfs.Finalize(spec); err != nil {
			return err
		}
	}
	p := spec.Process
	if p == nil {
		// Created without a process: the container can be inspected and deleted, never started.
		if err := awaitCommit(sock); err != nil {
			return err
		}
		for {
			_ = unix.Pause()
		}
	}
	// runtime-spec config.md: execCPUAffinity is for processes exec'd into the container, not its init.
	procCopy := *p
	procCopy.ExecCPUAffinity = nil
	p = &procCopy
	path, err := setupProcess(spec.Linux, p, sock, proc, !cfg.NewUserNS || !procfs.SelfSetgroupsDenied(proc), cfg.PreserveFDs, nil)
	if err != nil {
		return err
	}
	if err := awaitCommit(sock); err != nil {
		return err
	}
	fifo := &execFifo{proc: proc, file: fifoFile}
	if err := fifo.wait(); err != nil {
		return err
	}
	if h := spec.Hooks; h != nil && len(h.StartContainer) > 0 {
		// With the config's annotations, as runc's state for these hooks has them.
		state := &specs.State{Version: specs.Version, ID: cfg.ID, Status: specs.StateRunning, Pid: os.Getpid(),
			Bundle: cfg.Bundle, Annotations: spec.Annotations}
		// A hook without env of its own gets the process's (runc's SetDefaultEnv).
		if err := runHooksIn("startContainer", h.StartContainer, state, hookEnv{env: os.Environ()}); err != nil {
			return err
		}
	}
	return execve(p, path)
}

// trustedProcfs is the init's procfs handle: a private procfs instance of the container's pid namespace
// (procfs.Private), which no mount can cover and which shows only the container's processes, so that the fd
// leads nowhere outside even where a container process can reach it (a rootless init is dumpable); or, where that
// cannot be mounted (no pid namespace of its own in a user namespace, kernels before 5.2), the /proc of the mount
// namespace rt started in, taken before pivot_root hides it.
func trustedProcfs() (*os.File, error) {
	if proc, err := procfs.Private(); err == nil {
		return proc, nil
	}
	return os.OpenFile("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// enterRoot makes the rootfs the process's root: pivot_root in its own mount namespace, and a plain chroot without
// one, where pivot_root or MS_MOVE would move the caller's root too (runc does the same).
func enterRoot(cfg *initConfig) error {
	if cfg.OwnMountNS {
		return rootfs.Pivot(cfg.Rootfs, cfg.NoPivot)
	}
	if err := unix.Chroot(cfg.Rootfs); err != nil {
		return &os.PathError{Op: "chroot", Path: cfg.Rootfs, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// execFifo is the init's end of <state>/exec.fifo (an O_PATH fd), reopened for writing through procfs.
type execFifo struct {
	proc *os.File
	file *os.File
}

// wait blocks until `rt start` opens the fifo for reading, then tells it the init is going on. The write end stays
// open, close-on-exec, so that `start` sees the fifo close only when the process has exec'd (awaitFifo).
func (f *execFifo) wait() error {
	path := "self/fd/" + strconv.Itoa(int(f.file.Fd()))
	fd, err := unix.Openat(int(f.proc.Fd()), path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "exec fifo", Err: err}
	}
	if _, err := unix.Write(fd, []byte("0")); err != nil {
		return &os.PathError{Op: "write", Path: "exec fifo", Err: err}
	}
	f.file.Close()
	f.proc.Close()
	return nil
}

// awaitCommit tells the parent the init is ready and waits until the parent has saved the container's state
// (syncCommitted), then closes the socket. If the parent dies first, the socket reads EOF (the parent holds its
// only other end) and the init gives up: no init is left waiting on the fifo of a container no state records. The
// error goes nowhere then (the parent is gone); the init's exit is what matters.
func awaitCommit(sock *os.File) error {
	defer sock.Close()
	if err := send(sock, syncReady, nil); err != nil {
		return fmt.Errorf("sync with parent: %w", err)
	}
	if _, err := await(sock, syncCommitted); err != nil {
		return fmt.Errorf("sync with parent: create did not commit: %w", err)
	}
	return nil
}

// awaitHooks asks the parent to run its hooks and returns the state it sends back for the createContainer hooks.
func awaitHooks(sock *os.File) (*specs.State, error) {
	if err := send(sock, syncHooks, nil); err != nil {
		return nil, fmt.Errorf("sync with parent: %w", err)
	}
	m, err := await(sock, syncHooksDone)
	if err != nil {
		return nil, fmt.Errorf("sync with parent: %w", err)
	}
	var state specs.State
	if err := json.Unmarshal(m.payload, &state); err != nil {
		return nil, fmt.Errorf("sync with parent: %w", err)
	}
	return &state, nil
}

// loopbackUp brings up lo in a new network namespace, as runc does. One SIOCSIFFLAGS, no SIOCGIFFLAGS first: lo
// is fresh (cfg.NewNetNS; never for a joined namespace), with IFF_LOOPBACK alone, and of the flags a set writes the
// kernel takes IFF_UP and the administrative ones (debug, noarp, multicast...; __dev_change_flags), none of which a
// new lo has, so setting IFF_UP|IFF_LOOPBACK leaves it as a read-modify-write would. crun does the same.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: %w", os.NewSyscallError("socket", err))
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	ifr.SetUint16(unix.IFF_UP | unix.IFF_LOOPBACK)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", os.NewSyscallError("ioctl SIOCSIFFLAGS", err))
	}
	return nil
}

// joinSessionKeyring gives the container a session keyring of its own, named after it as runc does. Kernels or
// user namespaces without keyrings are tolerated.
func joinSessionKeyring(id string) error {
	_, err := unix.KeyctlJoinSessionKeyring("_ses." + id)
	if err != nil && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("join session keyring: %w", os.NewSyscallError("keyctl", err))
	}
	return nil
}

// writeSysctl writes one linux.sysctl entry through proc, the init's trusted procfs handle (trustedProcfs), not
// through a /proc the container's rootfs provides (CVE-2025-52881: a redirected /proc/sys write lands on the
// host). /proc/sys entries belong to the namespaces of the process that opens them, the container's here. The path
// may not climb out of sys/ or follow a symlink.
func writeSysctl(proc *os.File, key, value string) error {
	path := "sys/" + strings.ReplaceAll(key, ".", "/")
	if err := procfs.Write(proc, path, value, unix.RESOLVE_NO_SYMLINKS); err != nil {
		return fmt.Errorf("linux.sysctl %s: %w", key, err)
	}
	return nil
}
