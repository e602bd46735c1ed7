package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer/seccomp"
	"github.com/rt-runtime/rt/nsenter"
	"github.com/rt-runtime/rt/rootfs"
)

// Init is `rt init`, the Go side of the process the nsenter constructor has put in the container's namespaces. It
// never returns: it execs the container's process, or reports its error to the parent and exits 1. The caller has
// locked the main goroutine to the main thread: capabilities and the seccomp filter are per thread.
func Init() {
	fd, err := strconv.Atoi(os.Getenv(nsenter.EnvInitSock))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rt init: this command is run by rt itself, not by hand")
		os.Exit(1)
	}
	sock := os.NewFile(uintptr(fd), "init-sock")
	unix.CloseOnExec(fd)
	if err := initProcess(&sock); err != nil {
		// Once the parent has gone (after start), the container's own stderr is the only place left to tell.
		if _, werr := sock.Write(appendMsg(nil, nsenter.MsgError, []byte(err.Error()))); werr != nil {
			fmt.Fprintln(os.Stderr, "rt init: "+err.Error())
		}
		os.Exit(1)
	}
	os.Exit(0) // not reached: initProcess execs
}

// initProcess reads the config and runs the init; *sockp follows the socket when it is moved.
func initProcess(sockp **os.File) error {
	sock := *sockp
	// The idmapped mounts the parent made come first (create only), then the config.
	mountFds := map[int]*os.File{}
	defer closeMountFds(mountFds)
	typ, payload, err := nsenter.ReadMsg(sock)
	for err == nil && typ == msgMountFds {
		if err = recvMountFds(sock, payload, mountFds); err == nil {
			typ, payload, err = nsenter.ReadMsg(sock)
		}
	}
	if err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	if typ != msgConfig {
		return fmt.Errorf("read init config: message %d: %w", typ, unix.EPROTO)
	}
	var cfg initConfig
	if err := json.Unmarshal(payload, &cfg); err != nil {
		return fmt.Errorf("decode init config: %w", err)
	}
	// Move the socket and the fifo above the preserved fds (5...), which go to 3... before the exec.
	sock, err = moveFd(sock, fifoFd+1+cfg.PreserveFDs)
	if err != nil {
		return err
	}
	*sockp = sock
	if cfg.Exec {
		unix.Close(fifoFd) // a second copy of the socket when there is no fifo
		return execProcess(&cfg, sock, nil)
	}
	return containerInit(&cfg, sock, mountFds)
}

// moveFd duplicates f to the lowest free fd at or above min, close-on-exec, and closes f.
func moveFd(f *os.File, min int) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, min)
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	moved := os.NewFile(uintptr(fd), f.Name())
	f.Close()
	return moved, nil
}

// containerInit sets up a new container from inside its namespaces, then waits on the exec fifo and execs.
// mountFds are the idmapped mounts the parent made, by mount index.
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
	opts := &rootfs.Options{CgroupPaths: cfg.CgroupPaths, BundleDir: cfg.Bundle, IdmapMounts: mountFds}
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
		state, err := syncHooks(sock)
		if err != nil {
			return err
		}
		if h := spec.Hooks; h != nil {
			if err := runHooks("createContainer", h.CreateContainer, state); err != nil {
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
	fifo := &execFifo{proc: proc, file: fifoFile}
	return execProcess(cfg, sock, fifo)
}

// trustedProcfs is the init's procfs handle: a private procfs instance of the container's pid namespace
// (rootfs.PrivateProcfs), which no mount can cover and which shows only the container's processes, so that the fd
// leads nowhere outside even where a container process can reach it (a rootless init is dumpable); or, where that
// cannot be mounted (no pid namespace of its own in a user namespace, kernels before 5.2), the /proc of the mount
// namespace rt started in, taken before pivot_root hides it.
func trustedProcfs() (*os.File, error) {
	if proc, err := rootfs.PrivateProcfs(); err == nil {
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

// syncHooks asks the parent to run its hooks and returns the state it sends back for the createContainer hooks.
func syncHooks(sock *os.File) (*specs.State, error) {
	if _, err := sock.Write(appendMsg(nil, msgHooks, nil)); err != nil {
		return nil, fmt.Errorf("sync with parent: %w", err)
	}
	typ, payload, err := nsenter.ReadMsg(sock)
	if err != nil {
		return nil, fmt.Errorf("sync with parent: %w", err)
	}
	if typ != msgHooksDone {
		return nil, fmt.Errorf("sync with parent: message %d: %w", typ, unix.EPROTO)
	}
	var state specs.State
	if err := json.Unmarshal(payload, &state); err != nil {
		return nil, fmt.Errorf("sync with parent: %w", err)
	}
	return &state, nil
}

// execProcess does what is common to a container's init and an exec'd process: limits, user, capabilities, the
// fifo wait (init only), then execve. Privileged steps come first; the order follows runc's init.
func execProcess(cfg *initConfig, sock *os.File, fifo *execFifo) error {
	p := cfg.Spec.Process
	if p == nil {
		// Created without a process: the container can be inspected and deleted, never started.
		if _, err := sock.Write(appendMsg(nil, msgReady, nil)); err != nil {
			return err
		}
		sock.Close()
		for {
			_ = unix.Pause()
		}
	}
	if cfg.Exec && p.Terminal {
		if err := setupConsole(p, sock, false); err != nil {
			return err
		}
	}
	// Compiled before the rlimits, which could leave too little address space for it (seccomp.Filter).
	filter, err := seccomp.Compile(cfg.Spec.Linux.Seccomp)
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return err
	}
	if !cfg.Exec {
		// runtime-spec config.md: execCPUAffinity is for processes exec'd into the container, not its init.
		procCopy := *p
		procCopy.ExecCPUAffinity = nil
		p = &procCopy
	}
	if err := applyExtras(p, false); err != nil {
		return err
	}
	if err := applyPersonality(cfg.Spec.Linux.Personality); err != nil {
		return err
	}
	if err := applyMemoryPolicy(cfg.Spec.Linux.MemoryPolicy); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("process.noNewPrivileges: %w", os.NewSyscallError("prctl", err))
		}
	}
	if err := setProcessLSM(fifo, p); err != nil {
		return err
	}
	// Read as root and inside the container's root, before the user changes (runc's order). Set in its order, so
	// that os.Environ is the same list.
	env, err := processEnv(p.Env, p.User.UID, passwdFile)
	if err != nil {
		return err
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("process.env %q: %w", kv, err)
		}
	}
	path, err := exec.LookPath(p.Args[0])
	if err != nil {
		return fmt.Errorf("process.args[0]: %w", err)
	}
	// CVE-2024-21626: a cwd reached through a leaked host fd (/proc/self/fd/N) lies outside the container, and
	// getcwd(2) then fails with ENOENT or returns "(unreachable)...". Checked here, before a seccomp filter could
	// deny getcwd; the chdir as the process's user below resolves the same path through the same fds.
	if err := verifyCwd(p.Cwd); err != nil {
		return err
	}
	if filter != nil && !p.NoNewPrivileges {
		// Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: before the capabilities go (runc's order).
		if err := loadSeccomp(filter, sock); err != nil {
			return err
		}
		filter = nil
	}
	if err := setupUser(p, cfg); err != nil {
		return err
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("process.cwd: %w", &os.PathError{Op: "chdir", Path: p.Cwd, Err: err})
	}
	if err := applyCaps(caps(p)); err != nil {
		return err
	}
	if err := movePreservedFds(cfg.PreserveFDs); err != nil {
		return err
	}
	if cfg.Exec {
		if err := joinCgroup(sock); err != nil {
			return err
		}
	}
	// As late as possible, while the socket is still there to pass a notify fd on: few syscalls of rt's own are
	// left for the profile to allow.
	if filter != nil {
		if err := loadSeccomp(filter, sock); err != nil {
			return err
		}
	}
	if fifo != nil {
		if _, err := sock.Write(appendMsg(nil, msgReady, nil)); err != nil {
			return fmt.Errorf("sync with parent: %w", err)
		}
		sock.Close()
		if err := fifo.wait(); err != nil {
			return err
		}
		if h := cfg.Spec.Hooks; h != nil && len(h.StartContainer) > 0 {
			state := &specs.State{Version: specs.Version, ID: cfg.ID, Status: specs.StateRunning, Pid: os.Getpid(), Bundle: cfg.Bundle}
			if err := runHooks("startContainer", h.StartContainer, state); err != nil {
				return err
			}
		}
	}
	if err := applyExtras(p, true); err != nil {
		return err
	}
	if err := unix.Exec(path, p.Args, os.Environ()); err != nil {
		return fmt.Errorf("process.args[0] %s: %w", path, os.NewSyscallError("execve", err))
	}
	return nil
}

// joinCgroup has the parent move this thread, the one that execs (Init locks it), into the container's cgroup,
// and waits until it is there. From here to execve nothing starts a thread: a new Go thread is made by the runtime's
// template thread (this one is locked), which stays outside, and execve ends every other thread.
func joinCgroup(sock *os.File) error {
	if _, err := sock.Write(appendMsg(nil, msgJoinCgroup, nil)); err != nil {
		return fmt.Errorf("sync with parent: %w", err)
	}
	typ, _, err := nsenter.ReadMsg(sock)
	if err != nil {
		return fmt.Errorf("sync with parent: %w", err)
	}
	if typ != msgCgroupJoined {
		return fmt.Errorf("sync with parent: message %d: %w", typ, unix.EPROTO)
	}
	return nil
}

// loadSeccomp installs linux.seccomp and, when a rule notifies, hands the listener fd to the parent (one message,
// then the fd with SCM_RIGHTS on a byte of its own), which passes it on to linux.seccomp.listenerPath.
func loadSeccomp(filter *seccomp.Filter, sock *os.File) error {
	fd, err := filter.Load()
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if fd < 0 {
		return nil
	}
	defer unix.Close(fd)
	return sendFd(sock, msgSeccompFd, fd)
}

// setupUser switches to process.user: supplementary groups, gid, uid, umask. Capabilities survive the uid change
// (PR_SET_KEEPCAPS) and are set to the config's sets right after. Bounding-set drops need CAP_SETPCAP, so they come
// first.
func setupUser(p *specs.Process, cfg *initConfig) error {
	if err := dropBounding(caps(p)); err != nil {
		return err
	}
	u := p.User
	// In a user namespace created without privilege, setgroups is denied (user_namespaces(7)); for a process
	// joining one, the parent has read that from the host's /proc (SetgroupsDenied).
	if !cfg.SetgroupsDenied && (!cfg.NewUserNS || setgroupsAllowed()) {
		groups := make([]int, len(u.AdditionalGids))
		for i, g := range u.AdditionalGids {
			groups[i] = int(g)
		}
		if err := unix.Setgroups(groups); err != nil {
			return fmt.Errorf("process.user.additionalGids: %w", os.NewSyscallError("setgroups", err))
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl", err)
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("process.user.gid %d: %w", u.GID, os.NewSyscallError("setresgid", err))
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("process.user.uid %d: %w", u.UID, os.NewSyscallError("setresuid", err))
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl", err)
	}
	umask := uint32(0o022) // runc's default
	if u.Umask != nil {
		umask = *u.Umask
	}
	unix.Umask(int(umask))
	return nil
}

// verifyCwd changes to cwd and checks that it is inside the process's root.
func verifyCwd(cwd string) error {
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("process.cwd: %w", &os.PathError{Op: "chdir", Path: cwd, Err: err})
	}
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd %s: working directory is outside the container", cwd)
	}
	return nil
}

// caps is the process's capabilities; none at all when the config gives none, as with runc.
func caps(p *specs.Process) *specs.LinuxCapabilities {
	if p.Capabilities == nil {
		return &specs.LinuxCapabilities{}
	}
	return p.Capabilities
}

func setgroupsAllowed() bool {
	data, err := os.ReadFile("/proc/self/setgroups")
	return err != nil || strings.TrimSpace(string(data)) == "allow"
}

// movePreservedFds puts the fds passed after the init's own (from fd 5) at 3, 4, ... and marks every other fd
// close-on-exec, so nothing of rt or its caller reaches the container (CVE-2024-21626).
func movePreservedFds(n int) error {
	for i := 0; i < n; i++ {
		if err := unix.Dup3(fifoFd+1+i, 3+i, 0); err != nil {
			return fmt.Errorf("preserve fd %d: %w", 3+i, os.NewSyscallError("dup3", err))
		}
	}
	if err := unix.CloseRange(uint(3+n), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	// close_range is new (Linux 5.11) and older seccomp profiles deny it: mark each open fd instead.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open fds: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3+n {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// loopbackUp brings up lo in a new network namespace, as runc does.
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
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", os.NewSyscallError("ioctl SIOCGIFFLAGS", err))
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
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
	if err := writeProcFile(proc, path, value, unix.RESOLVE_NO_SYMLINKS); err != nil {
		return fmt.Errorf("linux.sysctl %s: %w", key, err)
	}
	return nil
}

// writeProcFile writes value to path under proc, a trusted procfs handle: RESOLVE_BENEATH keeps the walk inside it
// and RESOLVE_NO_MAGICLINKS refuses a way out through a magic link; resolve adds to those (procfs's self and
// thread-self are plain symlinks, so only sysctls can also refuse every symlink).
func writeProcFile(proc *os.File, path, value string, resolve uint64) error {
	fd, err := unix.Openat2(int(proc.Fd()), path, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | resolve,
	})
	if err != nil {
		return &os.PathError{Op: "open", Path: "/proc/" + path, Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return &os.PathError{Op: "write", Path: "/proc/" + path, Err: err}
	}
	return nil
}
