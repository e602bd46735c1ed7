// Package nsenter holds the C constructor that creates and joins namespaces in `rt init` before the Go runtime
// starts, the Go side of the bootstrap records the parent sends it, and the frame both sides use. The protocol
// (message types, fds, the diagram) lives in libcontainer/sync.go.
package nsenter

// #cgo CFLAGS: -Wall -Wextra -Werror
// #define _GNU_SOURCE
// #include "nsenter.h"
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// EnvInitSock names the environment variable that carries the init socket's fd number to `rt init`.
const EnvInitSock = C.ENV_INITSOCK

// Message types the bootstrap child sends the parent.
const (
	MsgError       = C.MSG_ERROR
	MsgUsermap     = C.MSG_USERMAP
	MsgUsermapDone = C.MSG_USERMAP_DONE
	MsgPid         = C.MSG_PID
)

// Record types parent -> constructor, from nsenter.h.
const (
	recEnd         = C.REC_END
	recCloneFlags  = C.REC_CLONE_FLAGS
	recNsPath      = C.REC_NS_PATH
	recTimeOffsets = C.REC_TIME_OFFSETS
	recNonDumpable = C.REC_NONDUMPABLE
	recCgroupTasks = C.REC_CGROUP_TASKS
)

// nsName is the constructor's name for the namespace of clone flag flag (nsenter.h ns_name), "unknown" for
// another flag.
func nsName(flag uint32) string { return C.GoString(C.ns_name(C.uint32_t(flag))) }

// NsPath is a namespace to join: its CLONE_NEW* type and the path of its nsfs file.
type NsPath struct {
	Type uint32
	Path string
}

// Bootstrap is what the constructor needs: the namespaces to create (CLONE_NEW* flags), the ones to join, the
// time namespace offsets ("monotonic 5 0\nboottime ..." as /proc/PID/timens_offsets takes them), and whether
// the process is to be non-dumpable.
type Bootstrap struct {
	CloneFlags  uint32
	Join        []NsPath
	TimeOffsets string
	// NonDumpable keeps the process out of reach of ptrace and /proc until it execs: an exec'd process always, a
	// container's init when rt runs as root (see initBootstrap).
	NonDumpable bool
	// CgroupTasks are the `tasks` files of the cgroup v1 cgroups the child moves itself into, first, by writing "0"
	// (nsenter.c join_cgroup): no RCU grace period to wait for, unlike the parent's write of its pid.
	CgroupTasks []string
}

// Encode appends the bootstrap records, ending with the end record, to buf.
func (b *Bootstrap) Encode(buf []byte) []byte {
	flags := binary.NativeEndian.AppendUint32(nil, b.CloneFlags)
	buf = AppendMsg(buf, recCloneFlags, flags)
	for _, j := range b.Join {
		p := binary.NativeEndian.AppendUint32(nil, j.Type)
		buf = AppendMsg(buf, recNsPath, append(p, j.Path...))
	}
	if b.TimeOffsets != "" {
		buf = AppendMsg(buf, recTimeOffsets, []byte(b.TimeOffsets))
	}
	if b.NonDumpable {
		buf = AppendMsg(buf, recNonDumpable, nil)
	}
	for _, t := range b.CgroupTasks {
		buf = AppendMsg(buf, recCgroupTasks, []byte(t))
	}
	return AppendMsg(buf, recEnd, nil)
}

// AppendMsg appends one frame to buf: a 4-byte type, a 4-byte length and the payload, native endian, as nsenter.c
// reads records and writes messages, and as ReadMsg reads them back. It is the only encoder of the frame.
func AppendMsg(buf []byte, typ uint32, payload []byte) []byte {
	buf = binary.NativeEndian.AppendUint32(buf, typ)
	buf = binary.NativeEndian.AppendUint32(buf, uint32(len(payload)))
	return append(buf, payload...)
}

// maxMsg bounds a message's length, so that a corrupt header cannot make the reader allocate gigabytes.
const maxMsg = 64 << 20

// ReadMsg reads one message from the bootstrap child. A MsgError message comes back as an error with its text.
func ReadMsg(r io.Reader) (typ uint32, payload []byte, err error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	typ = binary.NativeEndian.Uint32(hdr[:4])
	n := binary.NativeEndian.Uint32(hdr[4:])
	// A sanity bound, not a limit on configs: the init config carries the whole spec (large seccomp profiles).
	if n > maxMsg {
		return 0, nil, fmt.Errorf("nsenter message %d: length %d: %w", typ, n, unix.EPROTO)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if typ == MsgError {
		return typ, nil, errors.New(string(payload))
	}
	return typ, payload, nil
}
