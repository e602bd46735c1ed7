package cgroups

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// The five bpf(2) commands the device filter needs, called directly. cilium/ebpf still assembles the program
// (package asm); its loader (package ebpf) and package link are not imported, because every rt process pays for
// what the binary imports, device filter or not: package link pulls in package features (144 allocations at start),
// and the two with their dependencies (btf, kconfig, tracefs, kallsyms) are ~0.9 MB of the binary. Measured without
// them: ~10 fewer page faults and ~0.5 MB less RSS per rt process. The attribute layouts below are the leading
// fields of union bpf_attr for each command (include/uapi/linux/bpf.h); the kernel reads the fields past the size
// passed as zero. opencontainers/cgroups made the same split (its devices package: "drop cilium/ebpf{,link} deps").
//
// The __aligned_u64 fields that carry a user address are unsafe.Pointer, never uint64(uintptr(...)): the buffers
// they point to may live on the goroutine's stack (the license does not escape), and a stack that grows in a call
// between filling attr and the syscall is copied elsewhere. The copier updates pointers, not integers, so a uint64
// would still hold the old stack's address and the kernel would read from, or write into, freed memory. An unsafe.Pointer fills an __aligned_u64 only on a 64-bit host; the array below does not
// compile elsewhere (rt builds only for 64-bit hosts).
var _ [unsafe.Sizeof(unsafe.Pointer(nil)) - 8]byte

// bpfProgLoadAttr is bpf_attr for BPF_PROG_LOAD, up to expected_attach_type.
type bpfProgLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              unsafe.Pointer
	license            unsafe.Pointer
	logLevel           uint32
	logSize            uint32
	logBuf             unsafe.Pointer
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// bpfProgAttachAttr is bpf_attr for BPF_PROG_ATTACH and BPF_PROG_DETACH, up to replace_bpf_fd.
type bpfProgAttachAttr struct {
	targetFd     uint32
	attachBpfFd  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFd uint32
}

// bpfProgQueryAttr is bpf_attr for BPF_PROG_QUERY, up to prog_cnt and its padding.
type bpfProgQueryAttr struct {
	targetFd    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     unsafe.Pointer
	progCnt     uint32
	_           uint32
}

// bpfGetFdByIDAttr is bpf_attr for BPF_PROG_GET_FD_BY_ID.
type bpfGetFdByIDAttr struct {
	id        uint32
	nextID    uint32
	openFlags uint32
}

// bpfCgroupMaxProgs is BPF_CGROUP_MAX_PROGS (kernel/bpf/cgroup.c): at most this many programs are attached to one
// cgroup for one attach type, so one query with this many slots always gets them all.
const bpfCgroupMaxProgs = 64

// bpf calls bpf(2) with cmd and attr, and returns the syscall's value. The addresses in attr must be unsafe.Pointer
// fields (see above), which also keep their buffers alive across the call.
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// loadDeviceProgram loads insns as a BPF_PROG_TYPE_CGROUP_DEVICE program and returns its fd (close-on-exec, as
// every bpf fd). When the kernel refuses it, the load is repeated with the verifier's log, and the error carries
// its reason.
func loadDeviceProgram(insns asm.Instructions, license string) (int, error) {
	var code bytes.Buffer
	if err := insns.Marshal(&code, hostByteOrder()); err != nil {
		return -1, err
	}
	raw := code.Bytes()
	lic := append([]byte(license), 0)
	attr := bpfProgLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(raw) / asm.InstructionSize),
		insns:    unsafe.Pointer(&raw[0]),
		license:  unsafe.Pointer(&lic[0]),
	}
	fd, err := bpfProgLoad(&attr)
	if err == nil || !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EACCES) {
		return fd, err
	}
	return loadWithLog(&attr, err)
}

// loadWithLog loads attr again with a verifier log, after the kernel refused it with err: the verifier gives its
// reasons only into a log buffer. It is a function of its own so that the 64 KiB buffer costs only a refused load:
// declared in loadDeviceProgram, it did not escape and was part of that frame, and every load grew the goroutine's
// stack to 128 KiB to hold it (~4 page faults); here it is stored through attr and so allocated when needed.
func loadWithLog(attr *bpfProgLoadAttr, err error) (int, error) {
	log := make([]byte, 64<<10)
	attr.logLevel, attr.logSize = 1, uint32(len(log))
	attr.logBuf = unsafe.Pointer(&log[0])
	if fd, err := bpfProgLoad(attr); err == nil {
		return fd, nil
	}
	if s := verifierReason(log); s != "" {
		err = &verifierError{err: err, log: s}
	}
	return -1, err
}

// bpfProgLoad is BPF_PROG_LOAD, tried again (a few times) when the kernel answers EAGAIN: the verifier gives up
// with EAGAIN when a signal arrives during verification (kernel/bpf/verifier.c), and Go's runtime signals threads.
func bpfProgLoad(attr *bpfProgLoadAttr) (int, error) {
	for range 4 {
		fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
		if !errors.Is(err, unix.EAGAIN) {
			return fd, os.NewSyscallError("bpf BPF_PROG_LOAD", err)
		}
	}
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return fd, os.NewSyscallError("bpf BPF_PROG_LOAD", err)
}

// verifierError is a refused program load with the verifier's reason.
type verifierError struct {
	err error
	log string
}

func (e *verifierError) Error() string { return e.err.Error() + ": verifier: " + e.log }
func (e *verifierError) Unwrap() error { return e.err }

// verifierReason is the line of a NUL-terminated verifier log that says why a program was refused: the last
// one, or the one before it when the last is the "processed N insns ..." summary the verifier always ends with.
func verifierReason(log []byte) string {
	if i := bytes.IndexByte(log, 0); i >= 0 {
		log = log[:i]
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if n := len(lines); n > 1 && strings.HasPrefix(lines[n-1], "processed ") {
		return lines[n-2]
	}
	return lines[len(lines)-1]
}

// attachProgram is BPF_PROG_ATTACH of the program progFd to the cgroup dirFd.
func attachProgram(dirFd, progFd int, typ, flags uint32) error {
	attr := bpfProgAttachAttr{targetFd: uint32(dirFd), attachBpfFd: uint32(progFd), attachType: typ, attachFlags: flags}
	_, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return os.NewSyscallError("bpf BPF_PROG_ATTACH", err)
}

// detachProgram is BPF_PROG_DETACH of the program progFd from the cgroup dirFd.
func detachProgram(dirFd, progFd int, typ uint32) error {
	attr := bpfProgAttachAttr{targetFd: uint32(dirFd), attachBpfFd: uint32(progFd), attachType: typ}
	_, err := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return os.NewSyscallError("bpf BPF_PROG_DETACH", err)
}

// queryPrograms is BPF_PROG_QUERY: the ids of the programs of type typ attached to the cgroup dirFd itself.
func queryPrograms(dirFd int, typ uint32) ([]uint32, error) {
	ids := make([]uint32, bpfCgroupMaxProgs)
	attr := bpfProgQueryAttr{
		targetFd:   uint32(dirFd),
		attachType: typ,
		progIDs:    unsafe.Pointer(&ids[0]),
		progCnt:    uint32(len(ids)),
	}
	_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return nil, os.NewSyscallError("bpf BPF_PROG_QUERY", err)
	}
	return ids[:min(attr.progCnt, uint32(len(ids)))], nil
}

// programByID is BPF_PROG_GET_FD_BY_ID: an fd for the loaded program id. A program that is gone is an error that
// matches os.ErrNotExist (ENOENT).
func programByID(id uint32) (int, error) {
	attr := bpfGetFdByIDAttr{id: id}
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return -1, os.NewSyscallError("bpf BPF_PROG_GET_FD_BY_ID", err)
	}
	return fd, nil
}

// hostByteOrder is the byte order of the running kernel's BPF instructions: the host's. asm.Instruction.Marshal
// accepts only binary.LittleEndian or binary.BigEndian (not binary.NativeEndian), so pick the one that matches.
func hostByteOrder() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}
