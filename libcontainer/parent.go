package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer/seccomp"
	"github.com/rt-runtime/rt/nsenter"
)

// ProcessIO is the stdio given to the container's process; nil means rt's own.
type ProcessIO struct {
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles are passed as fds 3, 4, ... (--preserve-fds, LISTEN_FDS).
	ExtraFiles []*os.File
	// Console receives the pty master when the process has a terminal; it must be set then.
	Console func(master *os.File) error
}

// parentProcess is the parent's end of one `rt init` child: the steps Create (create.go) and Exec (exec.go) take in
// order, each a wait for the child or a message to it (the protocol: sync.go).
type parentProcess struct {
	boot *bootstrapChild
	sock *os.File
	pid  int // the container process (init or exec'd), from syncPid
	// exe is the sealed copy of rt's binary the child was exec'd from, kept open until the bootstrap records are
	// sent (closeExe).
	exe *os.File
	// inCgroup: the child was cloned into the container's cgroup (startInit's cgroupDir), so it need not be moved.
	inCgroup bool
}

// startInit starts `rt init` with one end of a new socketpair at fd 3 and, for a container's init, the exec fifo at
// fd 4. cgroupDir, on a pure cgroup v2 or a hybrid host, is the container's v2 cgroup: the child is cloned straight
// into it (clone3 CLONE_INTO_CGROUP), with no migration afterwards. A clone the cgroup refuses (a threaded or
// "domain invalid" cgroup, EOPNOTSUPP; one with controllers enabled below it, EBUSY) is tried again without it, as
// runc's exec does (process_linux.go startWithCgroupFD): inCgroup is then false and the caller moves the child
// itself (Apply), whose error names the cgroup, where the fork's would name only the binary.
func startInit(stdio *ProcessIO, fifo *os.File, cgroupDir string) (*parentProcess, error) {
	// The exe handle first: below the socket's fds, it usually sits where the child's fd shuffling never writes
	// (childFdsSafe), with no dup needed, which matters when RLIMIT_NOFILE leaves little room.
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	kept := false
	defer func() {
		if !kept {
			exe.Close()
		}
	}()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	sock := os.NewFile(uintptr(fds[0]), "init-sock-parent")
	child := os.NewFile(uintptr(fds[1]), "init-sock-child")

	// Without a fifo (exec) fd 4 is still taken, by the socket again, so preserved fds always start at 5.
	second := fifo
	if second == nil {
		second = child
	}
	files := append([]*os.File{
		orStd(stdio.Stdin, os.Stdin), orStd(stdio.Stdout, os.Stdout), orStd(stdio.Stderr, os.Stderr), child, second,
	}, stdio.ExtraFiles...)
	low, high, above := childFdsSafe(files)
	if exe, err = placeFd(exe, low, high, above); err != nil {
		sock.Close()
		child.Close()
		return nil, fmt.Errorf("seal rt binary: %w", err)
	}
	attr := &syscall.ProcAttr{
		// glibc's rseq registration off in the init: a thread the Go runtime starts once a profile that denies
		// rseq(2) is loaded would otherwise abort the init ("rseq registration failed", glibc >= 2.35 treats any
		// errno but ENOSYS as fatal). GOMAXPROCS=1: the init's Go runtime starts with one P, so with fewer threads
		// and hand-offs between them. GODEBUG (runtime settings read before its first allocation; go.dev/pkg/runtime):
		// memprofilerate=0, or the first allocation, made before the runtime sees that nothing reads a memory
		// profile, records a sample (a 1.4 MiB hash table mapped, a stack walked); profstackdepth=0, or every thread
		// gets two 1 KiB stack buffers for profiles the init never takes. The workload gets its own environment at
		// execve (TestInitRuntimeEnv).
		Env: []string{
			nsenter.EnvInitSock + "=" + strconv.Itoa(initSockFd), "GLIBC_TUNABLES=glibc.pthread.rseq=0", "GOMAXPROCS=1",
			"GODEBUG=memprofilerate=0,profstackdepth=0",
		},
		Sys: &syscall.SysProcAttr{},
	}
	for _, f := range files {
		// Fd puts a file in blocking mode, as os/exec's start does for the files it passes.
		attr.Files = append(attr.Files, f.Fd())
	}
	inCgroup := false
	if cgroupDir != "" {
		// A raw fd, not an os.File: os.Open would start the Go runtime's poller (an epoll and an eventfd, two more
		// fds while the child is forked, which a low RLIMIT_NOFILE does not have).
		if cg, err := unix.Open(cgroupDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			defer unix.Close(cg)
			attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, cg
			inCgroup = true
		}
	}
	// Nothing rt inherited from its caller reaches `rt init` but what it passes (ExtraFiles are dup'd into place,
	// which clears the flag), as runc marks every fd from 3 before it starts its init (CVE-2024-21626).
	if err := closeExecFrom(3); err != nil {
		sock.Close()
		child.Close()
		return nil, err
	}
	// Resolved in the child before its close-on-exec fds go: the exec happens through the sealed handle. Forked
	// with syscall.ForkExec rather than os/exec, whose first start in a process probes pidfd support with a
	// process of its own: this child is never waited for by anyone else before Create or Exec returns (rt run
	// reaps with wait4(-1) only later), so its pid stays its own until bootstrapChild.wait.
	var pid int
	err = nsenter.WithCallerTimerSlack(func() error {
		path := "/proc/self/fd/" + strconv.Itoa(int(exe.Fd()))
		var err error
		pid, err = syscall.ForkExec(path, []string{"rt", "init"}, attr)
		if err != nil && inCgroup {
			attr.Sys.UseCgroupFD, inCgroup = false, false
			pid, err = syscall.ForkExec(path, []string{"rt", "init"}, attr)
		}
		if err != nil {
			return &os.PathError{Op: "fork/exec", Path: path, Err: err} // os/exec's words
		}
		return nil
	})
	for _, f := range files {
		runtime.KeepAlive(f)
	}
	// Only the child may hold its end: the parent sees EOF when the child exits or execs.
	child.Close()
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}
	kept = true
	return &parentProcess{boot: &bootstrapChild{pid: pid}, sock: sock, exe: exe, inCgroup: inCgroup}, nil
}

// closeExe closes the sealed binary once the child no longer waits on the parent. Closing a detached mount (roExe)
// waits for an expedited RCU grace period (namespace_unlock -> synchronize_rcu_expedited, after it has let go of
// namespace_sem), 0.05-0.4 ms here: done as startInit returned, the child waited that long for its bootstrap
// records; done once they are sent, it overlaps with the child's namespace work.
func (p *parentProcess) closeExe() {
	if p.exe != nil {
		p.exe.Close()
		p.exe = nil
	}
}

// bootstrapChild is the `rt init` process startInit forked, until it has been waited for.
type bootstrapChild struct {
	pid    int
	ws     syscall.WaitStatus
	waited bool
}

// wait reaps the child once; later calls return what the first found. A child that did not exit 0 is an error with
// os/exec's words for its end ("exit status 1", "signal: killed").
func (b *bootstrapChild) wait() error {
	for !b.waited {
		_, err := syscall.Wait4(b.pid, &b.ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("wait4", err)
		}
		b.waited = true
	}
	if b.ws.Exited() && b.ws.ExitStatus() == 0 {
		return nil
	}
	return errors.New(b.state())
}

// state is os.ProcessState's String for the child's wait status.
func (b *bootstrapChild) state() string {
	s := ""
	switch {
	case b.ws.Exited():
		s = "exit status " + strconv.Itoa(b.ws.ExitStatus())
	case b.ws.Signaled():
		s = "signal: " + b.ws.Signal().String()
	}
	if b.ws.CoreDump() {
		s += " (core dumped)"
	}
	return s
}

// kill sends the child SIGKILL unless it has been reaped (then its pid may be another process's).
func (b *bootstrapChild) kill() {
	if !b.waited {
		_ = syscall.Kill(b.pid, syscall.SIGKILL)
	}
}

// abort kills what there is of the child after a failure: the container process, if it has been cloned, and the
// bootstrap child. They are killed before the socket closes, so that the child never sees the EOF and reports an
// error of its own: the error is the parent's, one line.
func (p *parentProcess) abort() {
	p.closeExe()
	if p.pid > 0 {
		_ = unix.Kill(p.pid, unix.SIGKILL)
	}
	p.boot.kill()
	p.sock.Close()
	if p.pid > 0 {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(p.pid, &ws, 0, nil)
	}
	_ = p.boot.wait()
}

// place puts the bootstrap child in the cgroup with apply, where the caller has the parent do it (nil where the child
// joins by itself: cgroups.Manager.SelfJoin, startInit's clone into the cgroup), sets its CPU affinity (affinity,
// an exec'd process's execCPUAffinity.initial, or else all CPUs of its cpuset) and writes oomScoreAdj to it, from
// which the container process inherits both through clone(2). Done from the host and before the child is told
// anything, while it is single-threaded and its /proc files still belong to the caller: inside a user namespace the
// process could not lower the score (proc(5)), and once it is non-dumpable an unprivileged caller could not write it.
func (p *parentProcess) place(apply func(pid int) error, affinity string, oomScoreAdj *int) error {
	pid := p.boot.pid
	if apply != nil {
		if err := apply(pid); err != nil {
			return err
		}
	}
	if affinity == "" {
		resetAffinity(pid)
	} else if err := setAffinity(pid, affinity, "process.execCPUAffinity.initial"); err != nil {
		return err
	}
	if oomScoreAdj == nil {
		return nil
	}
	path := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(*oomScoreAdj)), 0); err != nil {
		return fmt.Errorf("process.oomScoreAdj: %w", err)
	}
	return nil
}

// sendBootstrap sends the nsenter constructor its records, then closes the sealed binary (closeExe).
func (p *parentProcess) sendBootstrap(boot *nsenter.Bootstrap) error {
	_, err := p.sock.Write(boot.Encode(nil))
	p.closeExe()
	if err != nil {
		return fmt.Errorf("send bootstrap: %w", p.childError(err))
	}
	return nil
}

// awaitPid answers the bootstrap child's request for uid/gid maps (a new user namespace, from l; nil for exec,
// which makes none) and returns the container process's pid once it is cloned, with the bootstrap child reaped.
// The container process is rt's own child (CLONE_PARENT) and not reaped before Create or Exec returns, so
// /proc/<pid> cannot name another process.
func (p *parentProcess) awaitPid(l *specs.Linux) (int, error) {
	m, err := recv(p.sock)
	if err == nil && m.typ == syncUsermap && l != nil {
		if err := writeIDMaps(p.boot.pid, l); err != nil {
			return 0, err
		}
		if err := send(p.sock, syncUsermapDone, nil); err != nil {
			return 0, fmt.Errorf("sync with init: %w", err)
		}
		m, err = recv(p.sock)
	}
	if isEOF(err) {
		return 0, p.exited()
	}
	if err != nil {
		return 0, err
	}
	if m.typ != syncPid {
		return 0, fmt.Errorf("sync with init: unexpected %s: %w", m.typ, unix.EPROTO)
	}
	if p.pid, err = decodePid(m.payload); err != nil {
		return 0, err
	}
	if err := p.boot.wait(); err != nil {
		return 0, fmt.Errorf("container init bootstrap: %w", err)
	}
	return p.pid, nil
}

// sendConfig sends a new container's init its config. It goes once the namespaces are done: a large one cannot
// fill the socket while the bootstrap child waits for its uid maps.
func (p *parentProcess) sendConfig(cfg *initConfig) error { return p.sendJSON(syncConfig, cfg) }

// sendExecConfig sends a process joining the container its config, as sendConfig.
func (p *parentProcess) sendExecConfig(cfg *execConfig) error { return p.sendJSON(syncExecConfig, cfg) }

func (p *parentProcess) sendJSON(t syncType, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode init config: %w", err)
	}
	if err := send(p.sock, t, data); err != nil {
		return fmt.Errorf("send init config: %w", err)
	}
	return nil
}

// initRequests is what the parent does for the requests the child may make between its config and its end.
type initRequests struct {
	// hooks runs the parent's hooks (syncHooks, create only) and returns the state JSON for the child's own.
	hooks func() ([]byte, error)
	// console takes the pty master of a process with a terminal (syncConsole).
	console func(master *os.File) error
	// seccomp passes the seccomp notify fd on (syncSeccompFd).
	seccomp func(fd *os.File) error
	// join moves the thread that will execve alone into the container's cgroup (syncJoinCgroup, exec only), so
	// that the new process counts as one task against pids.max and rt's bootstrap clone and Go threads never do
	// (runc, too, joins after the bootstrap).
	join func() error
	// idmap finishes the clone of an idmapped mount's source the init made (syncMountRequest, create only), which
	// goes back to it (syncMountFds).
	idmap func(index int, clone *os.File) error
}

// serve answers the child's requests until it reports syncReady (ready true: a container's init, waiting on the
// exec fifo) or closes the socket by exec'ing (ready false: an exec'd process). A child that dies before either is
// an error: "container init exited before it was ready" with its exit status.
func (p *parentProcess) serve(r initRequests) (ready bool, _ error) {
	for {
		m, err := recv(p.sock)
		if isEOF(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		switch m.typ {
		case syncHooks:
			var state []byte
			if r.hooks != nil {
				if state, err = r.hooks(); err != nil {
					return false, err
				}
			}
			if err := send(p.sock, syncHooksDone, state); err != nil {
				return false, fmt.Errorf("sync with init: %w", err)
			}
		case syncConsole:
			if r.console == nil {
				m.closeFiles()
				return false, fmt.Errorf("process.terminal: nothing to hand the terminal to: %w", unix.EPROTO)
			}
			if err := r.console(m.files[0]); err != nil {
				return false, err
			}
		case syncSeccompFd:
			err := r.seccomp(m.files[0])
			m.closeFiles()
			if err != nil {
				return false, err
			}
		case syncJoinCgroup:
			if r.join == nil {
				return false, fmt.Errorf("sync with init: unexpected %s: %w", m.typ, unix.EPROTO)
			}
			if err := r.join(); err != nil {
				return false, err
			}
			if err := send(p.sock, syncCgroupJoined, nil); err != nil {
				return false, fmt.Errorf("sync with init: %w", err)
			}
		case syncMountRequest:
			if err := p.finishIdmap(r.idmap, m); err != nil {
				return false, err
			}
		case syncReady:
			return true, nil
		default:
			m.closeFiles()
			return false, fmt.Errorf("sync with init: unexpected %s: %w", m.typ, unix.EPROTO)
		}
	}
}

// forwardSeccomp returns an initRequests.seccomp that sends the init's seccomp notify fd, with the container's
// state, to the listener at linux.seccomp.listenerPath (runtime-spec config-linux.md "seccomp", runtime.md "state").
func forwardSeccomp(cfg *initConfig, pid int) func(*os.File) error {
	return func(f *os.File) error {
		return sendSeccompFd(f, cfg.Spec.Linux.Seccomp, pid, specs.State{
			Version: specs.Version, ID: cfg.ID, Status: specs.StateCreating, Pid: pid,
			Bundle: cfg.Bundle, Annotations: cfg.Spec.Annotations,
		})
	}
}

// sendSeccompFd sends the seccomp notify fd f of process pid, with the container's state, to the listener at
// s.listenerPath.
func sendSeccompFd(f *os.File, s *specs.LinuxSeccomp, pid int, state specs.State) error {
	msg := &specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      pid,
		Metadata: s.ListenerMetadata,
		State:    state,
	}
	if err := seccomp.SendNotifyFd(s.ListenerPath, int(f.Fd()), msg); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: %w", err)
	}
	return nil
}

// commit sends a new container's init the message it waits for before it blocks on the exec fifo, once the parent
// has saved the state, and closes the parent's end of the socket.
func (p *parentProcess) commit() error {
	defer p.sock.Close()
	if err := send(p.sock, syncCommitted, nil); err != nil {
		return fmt.Errorf("sync with init: %w", p.childError(err))
	}
	return nil
}

// exited returns the error for a child that closed the socket before it was ready.
func (p *parentProcess) exited() error {
	return p.childError(errors.New("container init exited before it was ready"))
}

// childFdsSafe says where the sealed exe handle may sit so that the fork's shuffling of the child's fds before the
// exec (syscall.forkAndExecInChild1) never overwrites it: the shuffle writes fds 0..n-1 for the n files it passes,
// and, from one above the highest of their fds, at most n more (its error pipe and the files it moves up, one after
// another). So any fd from n up to below that highest one is safe (low, high), and so is any fd from above on. The
// gap is tried first: with a low RLIMIT_NOFILE there may be no room above (runc runs at 16).
func childFdsSafe(files []*os.File) (low, high, above int) {
	top := 0
	for _, f := range files {
		top = max(top, int(f.Fd()))
	}
	return len(files), top, top + len(files) + 1
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

// childError turns a broken pipe into the reason the child died, when it has reported none.
func (p *parentProcess) childError(err error) error {
	if werr := p.boot.wait(); werr != nil && p.boot.waited {
		return fmt.Errorf("%w (%s)", err, p.boot.state())
	}
	return err
}

// ExitCode turns a wait status into a shell-style exit code: 128+signal when killed, as runc reports it.
func ExitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// finishIdmap answers a syncMountRequest with the mount the init sent, once idmap has finished it.
func (p *parentProcess) finishIdmap(idmap func(int, *os.File) error, m *syncMsg) error {
	defer m.closeFiles()
	if idmap == nil {
		return fmt.Errorf("sync with init: unexpected %s: %w", m.typ, unix.EPROTO)
	}
	if err := idmap(int(binary.NativeEndian.Uint32(m.payload)), m.files[0]); err != nil {
		return err
	}
	if err := send(p.sock, syncMountFds, m.payload, m.files[0]); err != nil {
		return fmt.Errorf("sync with init: %w", err)
	}
	return nil
}
