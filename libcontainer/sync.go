package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/nsenter"
	"github.com/rt-runtime/rt/rootfs"
)

// The parent <-> child protocol: its one home. README.md and nsenter/nsenter.c link here rather than redraw it.
//
// One socketpair between the parent (`rt create`, `rt exec`) and `rt init`. Every message is a frame: a 4-byte type,
// a 4-byte length and the payload, native endian (nsenter.AppendMsg, nsenter.ReadMsg: the C constructor reads and
// writes the same frames). A message that carries fds is followed by one byte that carries them (SCM_RIGHTS); which
// messages do is fixed by their type (syncFds), so send and recv attach them the same way for every message.
//
//	parent (create.go, exec.go)           bootstrap child (nsenter.c)            container process (`rt init`)
//	---------------------------           ---------------------------            -----------------------------
//	start `rt init` (create: cloned
//	into the v2 cgroup; moved in by
//	pid only for a systemd unit or a
//	refused clone), write its
//	oom_score_adj
//	bootstrap records (clone flags,  -->  read them (create: join each v1
//	  ns paths, time offsets, v1          cgroup as its record comes); open
//	  cgroups' tasks files); close        timens_offsets and every ns path;
//	  the sealed binary
//	                                      setns: the others, the user ns,
//	                                      what is left
//	write uid_map/gid_map            <--  [new user ns] unshare, syncUsermap
//	syncUsermapDone                  -->  setresuid/setresgid 0, unshare the
//	                                      rest, write timens_offsets
//	read the pid; reap the bootstrap <--  clone(CLONE_PARENT) -> syncPid,  --->  setsid; Go `rt init` (init.go)
//	  child                               _exit(0)
//	move linux.netDevices into its netns (create)
//	syncMountFds + detached bind     -------------------------------------------> (create, only with idmapped
//	  mounts (mountsource.go)                                                        mounts, or binds and a user
//	                                                                                 namespace; no reply)
//	syncConfig (initConfig JSON)     ------------------------------------------->  create: init_container.go
//	  or syncExecConfig (execConfig)                                                exec: init_exec.go
//	set the idmapping and flags of   <-------------------------------------------  syncMountRequest + clone of an
//	  the clone (mountsource.go);                                                   idmapped mount's source in the
//	  syncMountFds + that mount      ------------------------------------------->    rootfs, made in its turn
//	run prestart, createRuntime      <-------------------------------------------  syncHooks (create, only with
//	  hooks; syncHooksDone (state)   ------------------------------------------->    such hooks)
//	hand on the pty master           <-------------------------------------------  syncConsole + fd
//	pass the fd to listenerPath      <-------------------------------------------  syncSeccompFd + fd
//	write cgroup limits; save state  <-------------------------------------------  syncReady (create)
//	  (no longer "creating")
//	syncCommitted                    ------------------------------------------->  then waits on exec.fifo
//	move that one thread into the    <-------------------------------------------  syncJoinCgroup (exec: last,
//	  cgroup; syncCgroupJoined       ------------------------------------------->    before execve)
//	return the pid                   <-------------------------------------------  EOF (exec: the socket is
//	                                                                                 close-on-exec)
//
// Any failure in the child is a syncError with its text, and the child exits; only the parent prints it. A new
// container's init waits for syncCommitted before it blocks on the fifo: if its parent dies first, the socket reads
// EOF and the init exits, so no init outlives a create that did not finish (the parent holds the only other end).

// syncType is the type of a message on the init socket.
type syncType uint32

const (
	// The bootstrap child's messages and the parent's reply, defined in nsenter.h.
	syncError       syncType = nsenter.MsgError
	syncUsermap     syncType = nsenter.MsgUsermap
	syncUsermapDone syncType = nsenter.MsgUsermapDone
	syncPid         syncType = nsenter.MsgPid

	// The messages between the parent and the Go side of `rt init`.
	syncConfig    syncType = 110 // parent -> init: initConfig JSON
	syncHooks     syncType = 111 // init -> parent: run the parent's hooks
	syncHooksDone syncType = 112 // parent -> init: the state JSON for the init's createContainer hooks
	syncReady     syncType = 113 // init -> parent: set up, waiting on the exec fifo (create)
	syncSeccompFd syncType = 114 // init -> parent: the seccomp notify fd (one fd)
	syncConsole   syncType = 115 // init -> parent: the pty master (one fd)
	syncMountFds  syncType = 116 // parent -> init: mount indexes (uint32 each), one detached mount fd per index
	syncCommitted syncType = 117 // parent -> init: create has saved the state; the init may wait on the fifo
	// exec: init -> parent: move the thread that will execve into the container's cgroup; parent -> init: done.
	syncJoinCgroup   syncType = 118
	syncCgroupJoined syncType = 119
	// init -> parent: the mount index (uint32) and a detached clone of an idmapped mount's source in the rootfs (one
	// fd); the parent answers syncMountFds with that index and the mount, idmapped and finished.
	syncMountRequest syncType = 120
	syncExecConfig   syncType = 121 // parent -> init: execConfig JSON (exec; in place of syncConfig)
)

func (t syncType) String() string {
	switch t {
	case syncError:
		return "error"
	case syncUsermap:
		return "usermap"
	case syncUsermapDone:
		return "usermap-done"
	case syncPid:
		return "pid"
	case syncConfig:
		return "config"
	case syncHooks:
		return "hooks"
	case syncHooksDone:
		return "hooks-done"
	case syncReady:
		return "ready"
	case syncSeccompFd:
		return "seccomp-fd"
	case syncConsole:
		return "console"
	case syncMountFds:
		return "mount-fds"
	case syncCommitted:
		return "committed"
	case syncJoinCgroup:
		return "join-cgroup"
	case syncCgroupJoined:
		return "cgroup-joined"
	case syncMountRequest:
		return "mount-request"
	case syncExecConfig:
		return "exec-config"
	}
	return fmt.Sprintf("message %d", uint32(t))
}

// maxFdsPerMsg is the most fds one SCM_RIGHTS message carries (SCM_MAX_FD, include/net/scm.h).
const maxFdsPerMsg = 253

// syncFds is the number of fds a message of type t with payload carries: one for a pty master or a seccomp fd, one
// per index for mount fds, none otherwise.
func syncFds(t syncType, payload []byte) (int, error) {
	switch t {
	case syncConsole, syncSeccompFd:
		return 1, nil
	case syncMountRequest:
		if len(payload) != 4 {
			return 0, fmt.Errorf("%s: payload of %d bytes: %w", t, len(payload), unix.EPROTO)
		}
		return 1, nil
	case syncMountFds:
		n := len(payload) / 4
		if len(payload)%4 != 0 || n == 0 || n > maxFdsPerMsg {
			return 0, fmt.Errorf("%s: payload of %d bytes: %w", t, len(payload), unix.EPROTO)
		}
		return n, nil
	}
	return 0, nil
}

// syncMsg is one message received: its type, payload and the fds it carried (close-on-exec; the receiver owns them).
type syncMsg struct {
	typ     syncType
	payload []byte
	files   []*os.File
}

// closeFiles closes the fds the message carried that the receiver did not take.
func (m *syncMsg) closeFiles() {
	for _, f := range m.files {
		f.Close()
	}
}

// fdHolder is anything that holds an fd to pass: an *os.File, a pty master, a rawFd.
type fdHolder interface{ Fd() uintptr }

// rawFd is a bare fd number passed as an fdHolder; the caller keeps and closes it.
type rawFd int

// Fd returns the fd number.
func (f rawFd) Fd() uintptr { return uintptr(f) }

// send writes one message of type t with payload and, for a type that carries fds, the byte that carries files.
func send(sock *os.File, t syncType, payload []byte, files ...fdHolder) error {
	n, err := syncFds(t, payload)
	if err != nil {
		return err
	}
	if n != len(files) {
		return fmt.Errorf("send %s: %d fds where %d are due: %w", t, len(files), n, unix.EPROTO)
	}
	if _, err := sock.Write(nsenter.AppendMsg(nil, uint32(t), payload)); err != nil {
		return fmt.Errorf("send %s: %w", t, err)
	}
	if n == 0 {
		return nil
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	if err := unix.Sendmsg(int(sock.Fd()), []byte{0}, unix.UnixRights(fds...), nil, 0); err != nil {
		return fmt.Errorf("send %s: %w", t, os.NewSyscallError("sendmsg", err))
	}
	return nil
}

// recv reads one message and the fds its type carries. A syncError comes back as an error with the child's text;
// the end of the stream as io.EOF or io.ErrUnexpectedEOF.
func recv(sock *os.File) (*syncMsg, error) {
	typ, payload, err := nsenter.ReadMsg(sock)
	if err != nil {
		return nil, err
	}
	m := &syncMsg{typ: syncType(typ), payload: payload}
	n, err := syncFds(m.typ, payload)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		fds, err := recvFds(sock, n)
		if err != nil {
			return nil, fmt.Errorf("receive %s: %w", m.typ, err)
		}
		for _, fd := range fds {
			m.files = append(m.files, os.NewFile(uintptr(fd), m.typ.String()))
		}
	}
	return m, nil
}

// await reads the next message and fails unless it has type want.
func await(sock *os.File, want syncType) (*syncMsg, error) {
	m, err := recv(sock)
	if err != nil {
		return nil, err
	}
	if m.typ != want {
		m.closeFiles()
		return nil, fmt.Errorf("%s where %s was due: %w", m.typ, want, unix.EPROTO)
	}
	return m, nil
}

// isEOF reports whether err is the end of the stream: the other side exited, or exec'd (the socket is close-on-exec).
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// recvFds reads the one-byte message that carries exactly n fds (SCM_RIGHTS), close-on-exec. Whatever arrives in
// a message that is not exactly that is closed, so an error leaves no fd behind.
func recvFds(sock *os.File, n int) ([]int, error) {
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4*n))
	_, oobn, flags, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("recvmsg", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("control message: %w", unix.EPROTO)
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	if flags&unix.MSG_CTRUNC != 0 || len(fds) != n {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("%d fds where %d were due: %w", len(fds), n, unix.EPROTO)
	}
	return fds, nil
}

// initConfig is the payload of syncConfig: what the Go side of a new container's `rt init` needs.
type initConfig struct {
	ID           string            `json:"id"`
	Bundle       string            `json:"bundle"`
	Spec         *specs.Spec       `json:"spec"` // the container's config; Process is the one to run
	Rootfs       string            `json:"rootfs"`
	NoPivot      bool              `json:"no_pivot,omitempty"`
	NoNewKeyring bool              `json:"no_new_keyring,omitempty"`
	CgroupPaths  map[string]string `json:"cgroup_paths,omitempty"`
	// CgroupMounts are the host's cgroup mounts, for a "cgroup" mount on a v1 or hybrid host (rootfs.Options).
	CgroupMounts []rootfs.CgroupMount `json:"cgroup_mounts,omitempty"`
	ParentHooks  bool                 `json:"parent_hooks,omitempty"`
	NewNetNS     bool                 `json:"new_netns,omitempty"`
	OwnMountNS   bool                 `json:"own_mountns,omitempty"`
	NewUserNS    bool                 `json:"new_userns,omitempty"`
	PreserveFDs  int                  `json:"preserve_fds,omitempty"`
}

// execConfig is the payload of syncExecConfig: what a process joining a running container needs (init_exec.go).
// Not initConfig: encoding/json builds the codec of every type a struct reaches when it first meets it, data or no
// data, and initConfig reaches every runtime-spec type through specs.Spec; that was ~2 ms of the parent's CPU and
// ~1.4 ms of the init's for each exec here. The parts of linux the process applies go as the container's config
// has them: the parent neither decodes nor encodes them (execView).
type execConfig struct {
	Process      *specs.Process  `json:"process"`
	Seccomp      json.RawMessage `json:"seccomp,omitempty"`       // linux.seccomp
	Personality  json.RawMessage `json:"personality,omitempty"`   // linux.personality
	MemoryPolicy json.RawMessage `json:"memory_policy,omitempty"` // linux.memoryPolicy
	// SetgroupsDenied says the joined user namespace has setgroups denied, as read from the host.
	SetgroupsDenied bool `json:"setgroups_denied,omitempty"`
	PreserveFDs     int  `json:"preserve_fds,omitempty"`
}

// initSpec is spec as the init gets it (initConfig.Spec): without what only the parent reads, the hooks it runs
// itself (prestart, createRuntime, poststart, poststop), linux.resources, linux.cgroupsPath, linux.intelRdt and
// linux.netDevices, so that the init's JSON decoding does not walk them. The runtime-spec types stay; spec is not
// changed. Sending config.json's bytes instead, with the init skipping those parts unread (jsonv2's
// UnmarshalFromFunc and SkipValue), cost the init ~8 page faults more than decoding this encoding: the options and
// a second decoding pass cost more than the parts they skip, and the parent saves no encoding work (saveLocked).
func initSpec(spec *specs.Spec) *specs.Spec {
	s := *spec
	s.Hooks = nil
	if h := spec.Hooks; h != nil && (len(h.CreateContainer) > 0 || len(h.StartContainer) > 0) {
		s.Hooks = &specs.Hooks{CreateContainer: h.CreateContainer, StartContainer: h.StartContainer}
	}
	if spec.Linux != nil {
		l := *spec.Linux
		l.Resources, l.CgroupsPath, l.IntelRdt, l.NetDevices = nil, "", nil, nil
		s.Linux = &l
	}
	return &s
}

// Child fds of `rt init`: 0-2 stdio, then these, then the preserved ones, which the init moves in place.
const (
	initSockFd = 3
	fifoFd     = 4 // the exec fifo (create); a second copy of the socket (exec), so preserved fds start at 5
)

// decodePid reads syncPid's payload: the container process's pid, a 4-byte native-endian integer (nsenter.c).
func decodePid(payload []byte) (int, error) {
	if len(payload) != 4 {
		return 0, fmt.Errorf("sync with init: pid message of %d bytes: %w", len(payload), unix.EPROTO)
	}
	return int(binary.NativeEndian.Uint32(payload)), nil
}
