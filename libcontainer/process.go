package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer/seccomp"
	"github.com/rt-runtime/rt/nsenter"
)

// The parent <-> child protocol. One socketpair, framed messages (4-byte type, 4-byte length, payload):
//
//	parent                                  child (nsenter constructor, then Go `rt init`)
//	start `rt init`; add it to the cgroup
//	bootstrap records                   --> nsenter: namespaces, clone init (see nsenter.c)
//	uid/gid maps on MsgUsermap          <-> nsenter
//	init pid                            <-- MsgPid
//	msgMountFds + fds (SCM_RIGHTS)      -->  (create, only when the config has idmapped mounts; no reply)
//	msgConfig (JSON)                    --> init: mounts (the idmapped ones from the fds, by move_mount)
//	run createRuntime, prestart hooks   <-- msgHooks        (only when the config has parent hooks)
//	msgHooksDone(state JSON)            -->  createContainer hooks, pivot_root, the rest of the setup
//	save state, return                  <-- msgReady        (create: then the init waits on exec.fifo)
//	move its thread into the cgroup     <-- msgJoinCgroup   (exec: the last step before execve)
//	msgCgroupJoined                     -->
//	                                    <-- EOF             (exec: the socket is close-on-exec)
//
// Any failure in the child is a MsgError with its text, and the child exits.
const (
	msgConfig    = 110
	msgHooks     = 111
	msgHooksDone = 112
	msgReady     = 113
	msgSeccompFd = 114 // followed by one byte carrying the fd (SCM_RIGHTS)
	msgConsole   = 115 // the pty master, sent the same way
	msgMountFds  = 116 // mount indexes (uint32 each), then one byte carrying their detached mounts (idmapmount.go)
	// msgJoinCgroup (exec) asks the parent to move the thread that will execve into the container's cgroup, and
	// msgCgroupJoined answers once it is there.
	msgJoinCgroup   = 117
	msgCgroupJoined = 118
)

// initConfig is the JSON the parent sends the Go side of `rt init`.
type initConfig struct {
	Exec         bool              `json:"exec,omitempty"` // join a running container rather than create one
	ID           string            `json:"id"`
	Bundle       string            `json:"bundle"`
	Spec         *specs.Spec       `json:"spec"` // the container's config; Process is the one to run
	Rootfs       string            `json:"rootfs"`
	NoPivot      bool              `json:"no_pivot,omitempty"`
	NoNewKeyring bool              `json:"no_new_keyring,omitempty"`
	CgroupPaths  map[string]string `json:"cgroup_paths,omitempty"`
	ParentHooks  bool              `json:"parent_hooks,omitempty"`
	NewNetNS     bool              `json:"new_netns,omitempty"`
	OwnMountNS   bool              `json:"own_mountns,omitempty"`
	NewUserNS    bool              `json:"new_userns,omitempty"`
	// SetgroupsDenied (exec) says the joined user namespace has setgroups denied, as read from the host.
	SetgroupsDenied bool `json:"setgroups_denied,omitempty"`
	PreserveFDs     int  `json:"preserve_fds,omitempty"`
}

// Child fds of `rt init`: 0-2 stdio, then these, then the preserved ones are moved in place by the init.
const (
	initSockFd = 3
	fifoFd     = 4
)

// ProcessIO is the stdio given to the container's process; nil means rt's own.
type ProcessIO struct {
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles are passed as fds 3, 4, ... (--preserve-fds, LISTEN_FDS).
	ExtraFiles []*os.File
	// Console receives the pty master when the process has a terminal; it must be set then.
	Console func(master *os.File) error
}

// parentProcess drives one `rt init` child through the protocol above.
type parentProcess struct {
	cmd    *exec.Cmd
	sock   *os.File
	pid    int // the container process (init or exec'd), from MsgPid
	config *initConfig
	boot   nsenter.Bootstrap
	// hooks runs the parent's hooks when the child asks; it returns the state JSON for the child's own hooks.
	hooks func(pid int) ([]byte, error)
	// placed is called with the bootstrap child's pid before it is told anything: cgroup placement (create).
	placed func(pid int) error
	// join is called (exec) when the process is about to execve, with its pid (the thread that execs): it moves
	// that thread alone into the container's cgroup, so that the new process counts as one task against
	// pids.max and rt's own threads and its bootstrap clone never do (runc also joins after the bootstrap).
	join func(pid int) error
	// spawned is called with the container process's pid once its namespaces exist, before it gets its config:
	// work the parent does in the container's namespaces from outside (network devices). The container process is
	// rt's own child (CLONE_PARENT) and not reaped before start returns, so /proc/<pid> cannot name another process.
	spawned func(pid int) error
	// ready is called when the init reports it is ready (create only): the cgroup limits.
	ready func() error
	// console takes the pty master of a process with a terminal.
	console func(master *os.File) error
	// cgroupDir, on a pure cgroup v2 host, is the container's cgroup: the child is cloned straight into it
	// (clone3 CLONE_INTO_CGROUP), with no migration afterwards.
	cgroupDir string
}

// start runs `rt init` and the protocol up to msgReady (create) or the exec (exec).
func (p *parentProcess) start(stdio *ProcessIO, fifo *os.File) (retErr error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socketpair", err)
	}
	p.sock = os.NewFile(uintptr(fds[0]), "init-sock-parent")
	child := os.NewFile(uintptr(fds[1]), "init-sock-child")

	cmd := &exec.Cmd{
		Args: []string{"rt", "init"},
		// glibc's rseq registration off in the init: a thread the Go runtime starts once a profile that denies
		// rseq(2) is loaded would otherwise abort the init ("rseq registration failed", glibc >= 2.35 treats any
		// errno but ENOSYS as fatal). The workload gets its own environment at execve.
		Env:    []string{nsenter.EnvInitSock + "=" + strconv.Itoa(initSockFd), "GLIBC_TUNABLES=glibc.pthread.rseq=0"},
		Stdin:  orStd(stdio.Stdin, os.Stdin),
		Stdout: orStd(stdio.Stdout, os.Stdout),
		Stderr: orStd(stdio.Stderr, os.Stderr),
	}
	// Without a fifo (exec) fd 4 is still taken, by the socket again, so preserved fds always start at 5.
	second := fifo
	if second == nil {
		second = child
	}
	cmd.ExtraFiles = append([]*os.File{child, second}, stdio.ExtraFiles...)
	exe, err := sealedExe(childFdsEnd(cmd))
	if err != nil {
		p.sock.Close()
		child.Close()
		return err
	}
	defer exe.Close()
	// Resolved in the child before its close-on-exec fds go: the exec happens through the sealed handle.
	cmd.Path = "/proc/self/fd/" + strconv.Itoa(int(exe.Fd()))
	if p.cgroupDir != "" {
		if cg, err := os.Open(p.cgroupDir); err == nil {
			defer cg.Close()
			cmd.SysProcAttr = &unix.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
		}
	}
	err = cmd.Start()
	// Only the child may hold its end: the parent sees EOF when the child exits or execs.
	child.Close()
	if err != nil {
		p.sock.Close()
		return fmt.Errorf("start init: %w", err)
	}
	p.cmd = cmd
	defer func() {
		if retErr != nil {
			// Killed before the socket closes, so that the child never sees the EOF and reports an error of its
			// own: the error is the parent's, one line.
			if p.pid > 0 {
				_ = unix.Kill(p.pid, unix.SIGKILL)
			}
			_ = cmd.Process.Kill()
			p.sock.Close()
			if p.pid > 0 {
				var ws unix.WaitStatus
				_, _ = unix.Wait4(p.pid, &ws, 0, nil)
			}
			_ = cmd.Wait()
		}
	}()
	if p.placed != nil {
		if err := p.placed(cmd.Process.Pid); err != nil {
			return err
		}
	}

	if _, err := p.sock.Write(p.boot.Encode(nil)); err != nil {
		return fmt.Errorf("send bootstrap: %w", p.childError(err))
	}
	return p.sync()
}

// childFdsEnd is a fd number that os/exec's shuffling of the child's fds never reaches: it moves each fd to above
// the highest one it passes, one after another, so the sealed exe handle must sit above that whole range.
func childFdsEnd(cmd *exec.Cmd) int {
	files := append([]*os.File{cmd.Stdin.(*os.File), cmd.Stdout.(*os.File), cmd.Stderr.(*os.File)}, cmd.ExtraFiles...)
	top := 0
	for _, f := range files {
		top = max(top, int(f.Fd()))
	}
	return top + len(files) + 1
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

// appendMsg frames one message as nsenter.ReadMsg reads it.
func appendMsg(buf []byte, typ uint32, payload []byte) []byte {
	buf = binary.NativeEndian.AppendUint32(buf, typ)
	buf = binary.NativeEndian.AppendUint32(buf, uint32(len(payload)))
	return append(buf, payload...)
}

// sync answers the child until it is ready (create) or has exec'd (exec, EOF).
func (p *parentProcess) sync() error {
	for {
		typ, payload, err := nsenter.ReadMsg(p.sock)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if p.config.Exec && p.pid > 0 {
				return p.reapBootstrap()
			}
			return p.childError(errors.New("container init exited before it was ready"))
		}
		if err != nil {
			return err
		}
		switch typ {
		case nsenter.MsgUsermap:
			if err := writeIDMaps(p.cmd.Process.Pid, p.config.Spec.Linux); err != nil {
				return err
			}
			if err := nsenter.WriteMsg(p.sock, nsenter.MsgUsermapDone); err != nil {
				return fmt.Errorf("sync with init: %w", err)
			}
		case nsenter.MsgPid:
			if len(payload) != 4 {
				return fmt.Errorf("sync with init: pid message of %d bytes: %w", len(payload), unix.EPROTO)
			}
			p.pid = int(binary.NativeEndian.Uint32(payload))
			if err := p.reapBootstrap(); err != nil {
				return err
			}
			if p.spawned != nil {
				if err := p.spawned(p.pid); err != nil {
					return err
				}
			}
			if err := p.sendIdmapMounts(); err != nil {
				return err
			}
			// The config goes once the namespaces are done: a large one cannot fill the socket while the
			// bootstrap child waits for its uid maps.
			cfg, err := json.Marshal(p.config)
			if err != nil {
				return fmt.Errorf("encode init config: %w", err)
			}
			if _, err := p.sock.Write(appendMsg(nil, msgConfig, cfg)); err != nil {
				return fmt.Errorf("send init config: %w", err)
			}
		case msgHooks:
			var state []byte
			if p.hooks != nil {
				if state, err = p.hooks(p.pid); err != nil {
					return err
				}
			}
			if _, err := p.sock.Write(appendMsg(nil, msgHooksDone, state)); err != nil {
				return fmt.Errorf("sync with init: %w", err)
			}
		case msgConsole:
			master, err := recvFd(p.sock)
			if err != nil {
				return err
			}
			if p.console == nil {
				master.Close()
				return fmt.Errorf("process.terminal: nothing to hand the terminal to: %w", unix.EPROTO)
			}
			if err := p.console(master); err != nil {
				return err
			}
		case msgSeccompFd:
			if err := p.forwardSeccompFd(); err != nil {
				return err
			}
		case msgJoinCgroup:
			if p.join == nil {
				return fmt.Errorf("sync with init: unexpected cgroup join: %w", unix.EPROTO)
			}
			if err := p.join(p.pid); err != nil {
				return err
			}
			if _, err := p.sock.Write(appendMsg(nil, msgCgroupJoined, nil)); err != nil {
				return fmt.Errorf("sync with init: %w", err)
			}
		case msgReady:
			if p.ready != nil {
				return p.ready()
			}
			return nil
		default:
			return fmt.Errorf("sync with init: unexpected message %d: %w", typ, unix.EPROTO)
		}
	}
}

// sendIdmapMounts makes the config's idmapped mounts in rt's own namespaces and sends them to a new container's
// init, ahead of its config (see idmapmount.go). Nothing is sent when there are none.
func (p *parentProcess) sendIdmapMounts() error {
	if p.config.Exec {
		return nil
	}
	fds, err := openIdmapMounts(p.config.Spec, p.config.Bundle, p.pid)
	if err != nil {
		return err
	}
	defer closeMountFds(fds)
	return sendMountFds(p.sock, fds)
}

// forwardSeccompFd receives the init's seccomp notify fd and sends it, with the container's state, to the
// listener at linux.seccomp.listenerPath (runtime-spec config-linux.md "seccomp", runtime.md "state").
func (p *parentProcess) forwardSeccompFd() error {
	f, err := recvFd(p.sock)
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	defer f.Close()
	s := p.config.Spec.Linux.Seccomp
	state := &specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      p.pid,
		Metadata: s.ListenerMetadata,
		State: specs.State{
			Version: specs.Version, ID: p.config.ID, Status: specs.StateCreating, Pid: p.pid,
			Bundle: p.config.Bundle, Annotations: p.config.Spec.Annotations,
		},
	}
	if p.config.Exec {
		state.State.Status = specs.StateRunning
	}
	if err := seccomp.SendNotifyFd(s.ListenerPath, int(f.Fd()), state); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: %w", err)
	}
	return nil
}

// reapBootstrap waits for the bootstrap child, which exits right after it has cloned the container process.
func (p *parentProcess) reapBootstrap() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("container init bootstrap: %w", err)
	}
	return nil
}

// childError turns a broken pipe into the reason the child died, when it has reported none.
func (p *parentProcess) childError(err error) error {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Wait()
	}
	if ps := p.cmd.ProcessState; ps != nil && !ps.Success() {
		return fmt.Errorf("%w (%s)", err, ps)
	}
	return err
}

// nsFlags maps the spec's namespace types to clone flags.
var nsFlags = map[specs.LinuxNamespaceType]uint32{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// nsProcName maps the spec's namespace types to their /proc/PID/ns names.
var nsProcName = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

// bootstrapFor builds the nsenter records for a new container from its namespaces.
func bootstrapFor(l *specs.Linux) nsenter.Bootstrap {
	var b nsenter.Bootstrap
	if l == nil {
		return b
	}
	for _, ns := range l.Namespaces {
		if ns.Path != "" {
			b.Join = append(b.Join, nsenter.NsPath{Type: nsFlags[ns.Type], Path: ns.Path})
			continue
		}
		b.CloneFlags |= nsFlags[ns.Type]
		if ns.Type == specs.TimeNamespace {
			b.TimeOffsets = timeOffsets(l.TimeOffsets)
		}
	}
	return b
}

// placeAndScore returns a parentProcess.placed for a process with the given oomScoreAdj: the cgroup placement
// (none when place is nil), then the score written to the bootstrap child, from which the container process
// inherits it through clone(2). Written from the host and before the child is told anything, while its /proc files still belong to the caller:
// inside a user namespace the process could not lower it (proc(5)), and once it is non-dumpable an unprivileged
// caller could not write it.
func placeAndScore(place func(pid int) error, oomScoreAdj *int) func(pid int) error {
	return func(pid int) error {
		if place != nil {
			if err := place(pid); err != nil {
				return err
			}
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
}

// initBootstrap is bootstrapFor a new container's init, which is kept non-dumpable until it execs the
// workload, as runc's init is: while it waits on the exec fifo it holds the fifo and a procfs handle, which a
// process exec'd into the created container could otherwise reach through /proc/1/fd (same uid, no CAP_SYS_PTRACE
// needed). An unprivileged caller keeps it dumpable: it could not even stat the init's /proc/<pid>/ns files then,
// so `rt exec` into a created rootless container would fail; its procfs handle is a private instance of the
// container's own pid namespace (trustedProcfs), which leads nowhere outside.
func initBootstrap(l *specs.Linux) nsenter.Bootstrap {
	b := bootstrapFor(l)
	b.NonDumpable = os.Geteuid() == 0
	return b
}

// timeOffsets renders linux.timeOffsets as /proc/PID/timens_offsets takes them (time_namespaces(7)).
func timeOffsets(offs map[string]specs.LinuxTimeOffset) string {
	var b strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if o, ok := offs[clock]; ok {
			fmt.Fprintf(&b, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
		}
	}
	return b.String()
}

// joinBootstrap builds the nsenter records to enter every namespace of a running process that differs from rt's own.
// Entering one's own user namespace is EINVAL (setns(2)), and entering the others again is wasted work.
func joinBootstrap(pid int) (nsenter.Bootstrap, error) {
	var b nsenter.Bootstrap
	for _, t := range []specs.LinuxNamespaceType{
		specs.UserNamespace, specs.MountNamespace, specs.PIDNamespace, specs.NetworkNamespace,
		specs.IPCNamespace, specs.UTSNamespace, specs.CgroupNamespace, specs.TimeNamespace,
	} {
		path := "/proc/" + strconv.Itoa(pid) + "/ns/" + nsProcName[t]
		var theirs, ours unix.Stat_t
		if err := unix.Stat(path, &theirs); err != nil {
			if err == unix.ENOENT && t == specs.TimeNamespace {
				continue // kernel without time namespaces
			}
			return b, &os.PathError{Op: "stat", Path: path, Err: err}
		}
		if err := unix.Stat("/proc/self/ns/"+nsProcName[t], &ours); err == nil && ours.Ino == theirs.Ino && ours.Dev == theirs.Dev {
			continue
		}
		b.Join = append(b.Join, nsenter.NsPath{Type: nsFlags[t], Path: path})
	}
	return b, nil
}

// ExitCode turns a wait status into a shell-style exit code: 128+signal when killed, as runc reports it.
func ExitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
