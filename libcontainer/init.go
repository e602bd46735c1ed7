package libcontainer

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer/seccomp"
	"github.com/rt-runtime/rt/nsenter"
)

// Init is `rt init`, the Go side of the process the nsenter constructor has put in the container's namespaces. It
// never returns: it execs the container's process, or reports its error to the parent and exits 1. The caller has
// locked the main goroutine to the main thread: capabilities and the seccomp filter are per thread.
//
// The roles: a container's init (init_container.go) and a process joining a running container (init_exec.go); the
// steps they share are here (setupProcess, execve) and take what they need as arguments.
func Init() {
	fd, err := strconv.Atoi(os.Getenv(nsenter.EnvInitSock))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rt init: this command is run by rt itself, not by hand")
		os.Exit(1)
	}
	sock := os.NewFile(uintptr(fd), "init-sock")
	unix.CloseOnExec(fd)
	if err := runInit(&sock); err != nil {
		// Once the parent has gone (after start), the container's own stderr is the only place left to tell: the
		// error alone, as runc prints it there ("exec /run.sh: no such file or directory"), since it is the
		// workload's own failure as its user sees it.
		if werr := send(sock, syncError, []byte(err.Error())); werr != nil {
			fmt.Fprintln(os.Stderr, err.Error())
		}
		os.Exit(1)
	}
	os.Exit(0) // not reached: the roles exec
}

// runInit reads the config and runs the role it names; *sockp follows the socket when it is moved.
func runInit(sockp **os.File) error {
	sock := *sockp
	// This thread forks the hooks and execs the process: they get rt's caller's timer slack.
	if err := nsenter.RestoreCallerTimerSlack(); err != nil {
		return err
	}
	// The bind mounts the parent made come first (create only), then the config.
	mountFds := map[int]*os.File{}
	defer closeMountFds(mountFds)
	m, err := recv(sock)
	for err == nil && m.typ == syncMountFds {
		addMountFds(m, mountFds)
		m, err = recv(sock)
	}
	if err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	// Each role has its own config (execConfig: what it costs to decode initConfig).
	if m.typ == syncExecConfig {
		var cfg execConfig
		if err := json.Unmarshal(m.payload, &cfg); err != nil {
			return fmt.Errorf("decode init config: %w", err)
		}
		startPoller(cfg.PreserveFDs)
		// The socket above the preserved fds (5...), which go to 3... before the exec.
		if sock, err = moveFd(sock, fifoFd+1+cfg.PreserveFDs); err != nil {
			return err
		}
		*sockp = sock
		unix.Close(fifoFd) // a second copy of the socket when there is no fifo
		return execInit(&cfg, sock)
	}
	if m.typ != syncConfig {
		m.closeFiles()
		return fmt.Errorf("read init config: %s: %w", m.typ, unix.EPROTO)
	}
	var cfg initConfig
	if err := json.Unmarshal(m.payload, &cfg); err != nil {
		return fmt.Errorf("decode init config: %w", err)
	}
	startPoller(cfg.PreserveFDs)
	// Move the socket and the fifo above the preserved fds (5...), which go to 3... before the exec.
	sock, err = moveFd(sock, fifoFd+1+cfg.PreserveFDs)
	if err != nil {
		return err
	}
	*sockp = sock
	return containerInit(&cfg, sock, mountFds)
}

// startPoller starts Go's poller (an epoll fd and an eventfd, made on first use) when there are preserved fds: it
// must never sit on 3..3+n-1, where they are moved before the exec ("netpoll failed" once one is written over).
// Called before the init frees any fd (the socket's and the fifo's moves), while every fd up to the last one passed
// is taken, it lands above them all; a pipe registers with the poller. Without preserved fds nothing is moved, and
// the init does not need the poller: the socket is a blocking fd, read without it (os.NewFile), and the fourteen
// syscalls of a pipe and the poller's start are saved; whatever starts the poller later (a hook's pipes) may put it
// anywhere.
func startPoller(n int) {
	if n == 0 {
		return
	}
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
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

// setupProcess takes the steps a container's init and an exec'd process share, up to the exec: limits, the user,
// capabilities, fds and seccomp. Privileged steps come first; the order follows runc's init. l is the container's
// linux, of which only seccomp, personality and memoryPolicy are read: they are all an exec'd process gets of it
// (execConfig), so a field read here must be added there. p is the process to run (the config's, adjusted by the
// role); sock is the init socket, for a seccomp notify fd; proc is a trusted procfs handle for the LSM attributes,
// or nil to mount a private one when they are set; setgroups says whether setgroups(2) may be called in the
// process's user namespace; join, when not nil, is the process's last step before the last seccomp load (exec:
// joinCgroup). It returns the path to exec.
func setupProcess(l *specs.Linux, p *specs.Process, sock, proc *os.File, setgroups bool, preserveFDs int,
	join func() error,
) (string, error) {
	// Compiled before the rlimits, which could leave too little address space for it (seccomp.Filter).
	filter, err := seccomp.Compile(l.Seccomp)
	if err != nil {
		return "", fmt.Errorf("linux.seccomp: %w", err)
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return "", err
	}
	// A process with a scheduler joins first, as runc's exec does: the kernel refuses SCHED_DEADLINE on a narrowed
	// cpuset only for a thread that is already in it (setScheduler).
	if join != nil && p.Scheduler != nil {
		if err := join(); err != nil {
			return "", err
		}
		join = nil
	}
	if err := applyThreadAttrs(p, false); err != nil {
		return "", err
	}
	if err := applyPersonality(l.Personality); err != nil {
		return "", err
	}
	if err := applyMemoryPolicy(l.MemoryPolicy); err != nil {
		return "", err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return "", fmt.Errorf("process.noNewPrivileges: %w", os.NewSyscallError("prctl", err))
		}
	}
	if err := setProcessLSM(proc, p); err != nil {
		return "", err
	}
	// Read as root and inside the container's root, before the user changes (runc's order). Set in its order, so
	// that os.Environ is the same list.
	env, err := processEnv(p.Env, p.User.UID, passwdFile)
	if err != nil {
		return "", err
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return "", fmt.Errorf("process.env %q: %w", kv, err)
		}
	}
	path, err := exec.LookPath(p.Args[0])
	if err != nil {
		return "", fmt.Errorf("process.args[0]: %w", err)
	}
	// The cwd is entered before the switch to process.user and, only where that is refused, again after, as runc
	// does: a cwd that only root may enter (0700) works for a non-root user, and so does one that only the user may
	// enter (a volume chowned to it). CVE-2024-21626: a cwd reached through a leaked host fd (/proc/self/fd/N) lies
	// outside the container, and getcwd(2) then fails with ENOENT or returns "(unreachable)..."; checked here,
	// before a seccomp filter could deny getcwd.
	entered, err := verifyCwd(p.Cwd, true)
	if err != nil {
		return "", err
	}
	if filter != nil && !p.NoNewPrivileges {
		// Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: before the capabilities go (runc's order).
		if err := loadSeccomp(filter, sock); err != nil {
			return "", err
		}
		filter = nil
	}
	if err := setupUser(p, setgroups); err != nil {
		return "", err
	}
	if !entered {
		if _, err := verifyCwd(p.Cwd, false); err != nil {
			return "", err
		}
	}
	if err := applyCaps(caps(p)); err != nil {
		return "", err
	}
	if err := movePreservedFds(preserveFDs); err != nil {
		return "", err
	}
	if join != nil {
		if err := join(); err != nil {
			return "", err
		}
	}
	// As late as possible, while the socket is still there to pass a notify fd on: few syscalls of rt's own are
	// left for the profile to allow.
	if filter != nil {
		if err := loadSeccomp(filter, sock); err != nil {
			return "", err
		}
	}
	return path, nil
}

// execve execs the process at path, after the attributes that apply at the last moment (execCPUAffinity.final).
func execve(p *specs.Process, path string) error {
	if err := applyThreadAttrs(p, true); err != nil {
		return err
	}
	if err := unix.Exec(path, p.Args, os.Environ()); err != nil {
		// runc's words ("exec /entrypoint.sh: no such file or directory" when the interpreter is missing).
		return &os.PathError{Op: "exec", Path: path, Err: err}
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
	if err := send(sock, syncSeccompFd, nil, rawFd(fd)); err != nil {
		return fmt.Errorf("send fd to parent: %w", err)
	}
	return nil
}

// setupUser switches to process.user: supplementary groups, gid, uid, umask. Capabilities survive the uid change
// (PR_SET_KEEPCAPS) and are set to the config's sets right after. Bounding-set drops need CAP_SETPCAP, so they come
// first.
func setupUser(p *specs.Process, setgroups bool) error {
	if err := dropBounding(caps(p)); err != nil {
		return err
	}
	u := p.User
	// In a user namespace created without privilege, setgroups is denied (user_namespaces(7)): the role says.
	if setgroups {
		groups := make([]int, len(u.AdditionalGids))
		for i, g := range u.AdditionalGids {
			groups[i] = int(g)
		}
		if err := unix.Setgroups(groups); err != nil {
			return fmt.Errorf("process.user.additionalGids: %w", os.NewSyscallError("setgroups", err))
		}
	}
	if err := setUserIDs(int(u.UID), int(u.GID)); err != nil {
		return err
	}
	umask := uint32(0o022) // runc's default
	if u.Umask != nil {
		umask = *u.Umask
	}
	unix.Umask(int(umask))
	return nil
}

// setresgid and setresuid are unix's, apart from tests (setUserIDs).
var (
	setresgid = unix.Setresgid
	setresuid = unix.Setresuid
)

// setUserIDs sets the real, effective and saved gid, then uid, to gid and uid; capabilities survive the uid change
// (PR_SET_KEEPCAPS) for setupProcess to set them to the config's sets right after.
//
// An id the thread already has as all three is left alone: setresuid(2) and setresgid(2) to the ids in place change
// nothing, not the capabilities either (credentials(7), capabilities(7) "Effect of user ID changes on
// capabilities": only a change from or to 0 does), while Go's syscall.Setresuid and Setresgid, which unix's call,
// apply the change to every thread of the process: in rt, a cgo binary, through glibc's setxid broadcast (a signal
// to each thread, whose handler makes the call, and a wait for all of them; syscall.AllThreadsSyscall's
// stop-the-world without cgo). A container running as the user rt runs as (root, the default) skips both.
//
// getresuid(2) reports an id not mapped in the caller's user namespace as the overflow id (65534, the usual
// "nobody"), which would then read as already set while the kernel's is another; the ids compared here are mapped:
// in a user namespace, created or joined, nsenter has made the thread its root (setresuid 0) before Go starts.
func setUserIDs(uid, gid int) error {
	if r, e, s := unix.Getresgid(); r != gid || e != gid || s != gid {
		if err := setresgid(gid, gid, gid); err != nil {
			return fmt.Errorf("process.user.gid %d: %w", gid, os.NewSyscallError("setresgid", err))
		}
	}
	if r, e, s := unix.Getresuid(); r == uid && e == uid && s == uid {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl", err)
	}
	if err := setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("process.user.uid %d: %w", uid, os.NewSyscallError("setresuid", err))
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl", err)
	}
	return nil
}

// verifyCwd changes to cwd and checks that it is inside the process's root. With retry, a permission error is not
// one: it returns false, for the caller to try again as the process's user.
func verifyCwd(cwd string, retry bool) (bool, error) {
	if err := unix.Chdir(cwd); err != nil {
		if retry && (err == unix.EACCES || err == unix.EPERM) {
			return false, nil
		}
		return false, fmt.Errorf("process.cwd: %w", &os.PathError{Op: "chdir", Path: cwd, Err: err})
	}
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return false, fmt.Errorf("process.cwd %s: working directory is outside the container", cwd)
	}
	return true, nil
}

// caps is the process's capabilities; none at all when the config gives none, as with runc.
func caps(p *specs.Process) *specs.LinuxCapabilities {
	if p.Capabilities == nil {
		return &specs.LinuxCapabilities{}
	}
	return p.Capabilities
}

// movePreservedFds puts the fds passed after the init's own (from fd 5) at 3, 4, ... and marks every other fd
// close-on-exec, so nothing of rt or its caller reaches the container (CVE-2024-21626).
func movePreservedFds(n int) error {
	for i := 0; i < n; i++ {
		if err := unix.Dup3(fifoFd+1+i, 3+i, 0); err != nil {
			return fmt.Errorf("preserve fd %d: %w", 3+i, os.NewSyscallError("dup3", err))
		}
	}
	return closeExecFrom(3 + n)
}

// closeExecFrom marks every fd from min up close-on-exec.
func closeExecFrom(min int) error {
	if err := unix.CloseRange(uint(min), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	// close_range is new (Linux 5.11) and older seccomp profiles deny it: mark each open fd instead.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open fds: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= min {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// applyThreadAttrs applies the per-thread attributes of the process: ioPriority (iopriority.go) and scheduler
// (scheduler.go) just before the user switch, while the process still has its capabilities; with final=true, a
// second call right before execve, execCPUAffinity.final (cpuaffinity.go). The OS thread is locked
// (runtime.LockOSThread).
//
// Each attribute is set on the calling thread only, which is the one that execs; the kernel keeps them across
// execve (sched(7), ioprio_set(2), sched_setaffinity(2)).
func applyThreadAttrs(p *specs.Process, final bool) error {
	if p == nil {
		return nil
	}
	if final {
		if a := p.ExecCPUAffinity; a != nil && a.Final != "" {
			return setAffinity(0, a.Final, "process.execCPUAffinity.final")
		}
		return nil
	}
	// execCPUAffinity.initial is the parent's to set, on the whole bootstrap (place, parent.go).
	if io := p.IOPriority; io != nil {
		if err := setIOPriority(io); err != nil {
			return err
		}
	}
	// The scheduler last: a SCHED_IDLE or a low-priority policy slows down everything that follows it.
	if s := p.Scheduler; s != nil {
		if err := setScheduler(s); err != nil {
			return err
		}
	}
	return nil
}
