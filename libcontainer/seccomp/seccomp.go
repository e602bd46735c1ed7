// Package seccomp compiles the runtime-spec linux.seccomp object into a
// libseccomp filter and installs it on the calling thread.
//
// The parent calls Check at create time so a bad profile fails early with an
// error naming the field; the container's init calls Load as its last step
// before execve, after everything rt itself needs (config-linux.md "seccomp").
//
// Deliberately not done here:
//   - no_new_privs: the caller sets it from process.noNewPrivileges; the filter
//     is built with libseccomp's NNP attribute off so loading never sets it
//     implicitly (needs CAP_SYS_ADMIN when no_new_privs is unset, seccomp(2)).
//
// This package needs cgo: libseccomp-golang links libseccomp (statically in
// the release build).
package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// ErrInvalid is wrapped by errors for a profile that breaks the runtime-spec
// or that libseccomp rejects.
var ErrInvalid = errors.New("invalid seccomp profile")

// ErrUnsupported is wrapped by errors for a profile that asks for something
// the linked libseccomp or the running kernel cannot do.
var ErrUnsupported = errors.New("not supported by libseccomp or the kernel")

// fieldError names the offending config field, e.g.
// `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
type fieldError struct {
	field string
	msg   string
	kind  error // ErrInvalid or ErrUnsupported
	err   error // the cause, or nil
}

func (e *fieldError) Error() string {
	if e.err != nil {
		return e.field + ": " + e.msg + ": " + e.err.Error()
	}
	return e.field + ": " + e.msg
}

func (e *fieldError) Unwrap() []error {
	if e.err != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.kind}
}

func invalid(field, format string, a ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, a...), kind: ErrInvalid}
}

const (
	base = "linux.seccomp"
	// flagTsync is accepted by runc but not defined in runtime-spec v1.3.0's Go types.
	flagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"
	// maxArgs is the number of syscall arguments seccomp_data carries (seccomp(2)).
	maxArgs = 6
	// notifyAPI is the libseccomp API level with working SCMP_ACT_NOTIFY together
	// with TSYNC (seccomp_api_get(3)).
	notifyAPI = 6
)

var actions = table.Table[specs.LinuxSeccompAction, libseccomp.ScmpAction]{
	// SCMP_ACT_KILL is libseccomp's old name for KILL_THREAD (seccomp_init(3)).
	{Key: specs.ActKill, Val: libseccomp.ActKillThread},
	{Key: specs.ActKillThread, Val: libseccomp.ActKillThread},
	{Key: specs.ActKillProcess, Val: libseccomp.ActKillProcess},
	{Key: specs.ActTrap, Val: libseccomp.ActTrap},
	{Key: specs.ActErrno, Val: libseccomp.ActErrno},
	{Key: specs.ActTrace, Val: libseccomp.ActTrace},
	{Key: specs.ActAllow, Val: libseccomp.ActAllow},
	{Key: specs.ActLog, Val: libseccomp.ActLog},
	{Key: specs.ActNotify, Val: libseccomp.ActNotify},
}

var operators = table.Table[specs.LinuxSeccompOperator, libseccomp.ScmpCompareOp]{
	{Key: specs.OpNotEqual, Val: libseccomp.CompareNotEqual},
	{Key: specs.OpLessThan, Val: libseccomp.CompareLess},
	{Key: specs.OpLessEqual, Val: libseccomp.CompareLessOrEqual},
	{Key: specs.OpEqualTo, Val: libseccomp.CompareEqual},
	{Key: specs.OpGreaterEqual, Val: libseccomp.CompareGreaterEqual},
	{Key: specs.OpGreaterThan, Val: libseccomp.CompareGreater},
	{Key: specs.OpMaskedEqual, Val: libseccomp.CompareMaskedEqual},
}

// archs maps the spec's names (config-linux.md "architectures") to libseccomp's.
var archs = table.Table[specs.Arch, libseccomp.ScmpArch]{
	{Key: specs.ArchX86, Val: libseccomp.ArchX86},
	{Key: specs.ArchX86_64, Val: libseccomp.ArchAMD64},
	{Key: specs.ArchX32, Val: libseccomp.ArchX32},
	{Key: specs.ArchARM, Val: libseccomp.ArchARM},
	{Key: specs.ArchAARCH64, Val: libseccomp.ArchARM64},
	{Key: specs.ArchMIPS, Val: libseccomp.ArchMIPS},
	{Key: specs.ArchMIPS64, Val: libseccomp.ArchMIPS64},
	{Key: specs.ArchMIPS64N32, Val: libseccomp.ArchMIPS64N32},
	{Key: specs.ArchMIPSEL, Val: libseccomp.ArchMIPSEL},
	{Key: specs.ArchMIPSEL64, Val: libseccomp.ArchMIPSEL64},
	{Key: specs.ArchMIPSEL64N32, Val: libseccomp.ArchMIPSEL64N32},
	{Key: specs.ArchPPC, Val: libseccomp.ArchPPC},
	{Key: specs.ArchPPC64, Val: libseccomp.ArchPPC64},
	{Key: specs.ArchPPC64LE, Val: libseccomp.ArchPPC64LE},
	{Key: specs.ArchS390, Val: libseccomp.ArchS390},
	{Key: specs.ArchS390X, Val: libseccomp.ArchS390X},
	{Key: specs.ArchPARISC, Val: libseccomp.ArchPARISC},
	{Key: specs.ArchPARISC64, Val: libseccomp.ArchPARISC64},
	{Key: specs.ArchRISCV64, Val: libseccomp.ArchRISCV64},
	{Key: specs.ArchLOONGARCH64, Val: libseccomp.ArchLOONGARCH64},
	{Key: specs.ArchM68K, Val: libseccomp.ArchM68K},
	{Key: specs.ArchSH, Val: libseccomp.ArchSH},
	{Key: specs.ArchSHEB, Val: libseccomp.ArchSHEB},
}

// knownFlags are the filter flags rt recognises, in the order `rt features` lists them.
var knownFlags = []specs.LinuxSeccompFlag{
	flagTsync,
	specs.LinuxSeccompFlagSpecAllow,
	specs.LinuxSeccompFlagLog,
	specs.LinuxSeccompFlagWaitKillableRecv,
}

// disabled reports a profile that turns seccomp off: no defaultAction and no
// syscalls, as runc's specconv treats it.
func disabled(s *specs.LinuxSeccomp) bool {
	return s == nil || (s.DefaultAction == "" && len(s.Syscalls) == 0)
}

// Check validates s without loading anything, so that create fails early
// with an error naming the field. Errors wrap ErrInvalid or ErrUnsupported.
// A nil or empty s (seccomp disabled) is valid.
//
// It checks everything but the libseccomp rule insertion itself, which costs
// about 20ms for a Docker-sized profile (libseccomp 2.5.4) and which Load
// does anyway; libseccomp refusing a rule that passed Check is still
// reported by Load, naming the field.
func Check(s *specs.LinuxSeccomp) error {
	if disabled(s) {
		return nil
	}
	f, _, err := build(s, false)
	if err != nil {
		return err
	}
	f.Release()
	return nil
}

// Filter is a compiled profile waiting to be installed: the BPF program libseccomp generated and the seccomp(2)
// flags its attributes ask for. Generating it allocates (libseccomp's rule database, then the program), so the init
// compiles before it applies process.rlimits: a small RLIMIT_AS would make those allocations fail — libseccomp
// 2.5.4 even aborts in seccomp_load then — as the Go init already maps over 1 GiB of address space. Installing the
// program is one syscall with no allocation. runc loads a libseccomp-generated program itself the same way
// (its patchbpf package).
type Filter struct {
	prog   []unix.SockFilter
	flags  uintptr
	notify bool
}

// Compile validates s and generates its program for Load. A nil or empty s gives a nil *Filter, which loads
// nothing.
func Compile(s *specs.LinuxSeccomp) (*Filter, error) {
	if disabled(s) {
		return nil, nil
	}
	f, notify, err := build(s, true)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	prog, err := exportBPF(f)
	if err != nil {
		return nil, err
	}
	stub, err := enosysStub(s)
	if err != nil {
		return nil, err
	}
	prog = append(stub, prog...)
	// The flags of these attributes, without TSYNC, which libseccomp-golang always sets: as runc, the filter is
	// loaded on the calling thread only, the one that runs the startContainer hooks and execs the process; the
	// init's other threads end at execve.
	var flags uintptr
	if on, err := f.GetLogBit(); err == nil && on {
		flags |= unix.SECCOMP_FILTER_FLAG_LOG
	}
	if on, err := f.GetSSB(); err == nil && on {
		flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
	}
	if on, err := f.GetWaitKill(); err == nil && on {
		flags |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	if notify {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	return &Filter{prog: prog, flags: flags, notify: notify}, nil
}

// exportBPF is the program libseccomp generates for f (seccomp_export_bpf(3), through a memfd: libseccomp 2.5
// has no in-memory export).
func exportBPF(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("rt-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	mem := os.NewFile(uintptr(fd), "rt-seccomp")
	defer mem.Close()
	if err := f.ExportBPF(mem); err != nil {
		return nil, fmt.Errorf("generate seccomp program: %w", err)
	}
	// Read back through the fd itself: after pivot_root, /proc is whatever the container mounted there, if anything.
	if _, err := mem.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("generate seccomp program: %w", err)
	}
	raw, err := io.ReadAll(mem)
	if err != nil {
		return nil, fmt.Errorf("generate seccomp program: %w", err)
	}
	const insn = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(raw) == 0 || len(raw)%insn != 0 {
		return nil, fmt.Errorf("generate seccomp program: %d bytes: %w", len(raw), unix.EINVAL)
	}
	prog := make([]unix.SockFilter, len(raw)/insn)
	for i := range prog {
		b := raw[i*insn:]
		prog[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	return prog, nil
}

// Load installs the filter on the calling thread and returns the SCMP_ACT_NOTIFY
// listener fd, or -1 when no rule uses SCMP_ACT_NOTIFY. The fd is close-on-exec and owned by the caller.
//
// Call it with the OS thread locked, as late as possible: every syscall after it is filtered, so what init does
// between Load and execve must be allowed by the profile. Load does not set no_new_privs; without it the caller
// needs CAP_SYS_ADMIN (seccomp(2)), so, as runc does, call it just before execve when no_new_privs is set, and
// before dropping capabilities when it is not.
func (f *Filter) Load() (notifyFd int, err error) {
	if f == nil {
		return -1, nil
	}
	fprog := unix.SockFprog{Len: uint16(len(f.prog)), Filter: &f.prog[0]} //nolint:gosec // BPF_MAXINSNS is 4096
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(f)
	if errno != 0 {
		return -1, fmt.Errorf("load seccomp filter: %w", os.NewSyscallError("seccomp", errno))
	}
	if !f.notify {
		return -1, nil
	}
	// With NEW_LISTENER the result is the listener fd, close-on-exec (seccomp(2)).
	return int(r), nil
}

// build validates s and compiles it into a filter the caller must Release;
// without withRules it validates the rules but leaves them out of the filter.
// notify reports whether any rule uses SCMP_ACT_NOTIFY.
func build(s *specs.LinuxSeccomp, withRules bool) (_ *libseccomp.ScmpFilter, notify bool, retErr error) {
	if s.DefaultAction == "" {
		return nil, false, invalid(base+".defaultAction", "required when syscalls are listed")
	}
	defAct, err := action(s.DefaultAction, s.DefaultErrnoRet, base+".defaultAction", base+".defaultErrnoRet")
	if err != nil {
		return nil, false, err
	}
	if defAct == libseccomp.ActNotify {
		// As runc, in its words: init must write the notify fd to the parent after loading.
		return nil, false, invalid(base+".defaultAction", "%s cannot be used as default action", specs.ActNotify)
	}
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		return nil, false, invalid(base+".listenerMetadata", "set without listenerPath") // config-linux.md
	}

	f, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, false, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer func() {
		if retErr != nil {
			f.Release()
		}
	}()
	if err := setAttrs(f); err != nil {
		return nil, false, err
	}
	for i, a := range s.Architectures {
		field := fmt.Sprintf("%s.architectures[%d]", base, i)
		arch, ok := archs.Get(a)
		if !ok {
			return nil, false, invalid(field, "unknown architecture %q", a)
		}
		if err := f.AddArch(arch); err != nil {
			return nil, false, &fieldError{field: field, msg: fmt.Sprintf("add architecture %q", a), kind: ErrUnsupported, err: err}
		}
	}
	if err := setFlags(f, s.Flags); err != nil {
		return nil, false, err
	}

	nrules := 0
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("%s.syscalls[%d]", base, i)
		n, isNotify, err := addRules(f, field, &sc, defAct, withRules)
		if err != nil {
			return nil, false, err
		}
		nrules += n
		notify = notify || isNotify
	}
	if notify && s.ListenerPath == "" {
		// runc fails the same way, later, when init hands over the fd.
		return nil, false, invalid(base+".listenerPath", "required when %s is used", specs.ActNotify)
	}
	// As runc: a binary tree for long profiles; libseccomp <= 2.5.4 misbehaves
	// with it and no rules, and builds 4 syscalls per node, hence 32. Older
	// libseccomp lacks the attribute, which only costs speed.
	if withRules && nrules > 32 {
		_ = f.SetOptimize(2)
	}
	return f, notify, nil
}

// setAttrs sets the filter attributes rt always wants.
func setAttrs(f *libseccomp.ScmpFilter) error {
	// no_new_privs is the caller's decision (process.noNewPrivileges), as in runc.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return fmt.Errorf("clear seccomp no_new_privs attribute: %w", err)
	}
	// Syscalls of an architecture the filter does not list kill the thread.
	// This is libseccomp's default, made explicit: it is what stops 32-bit
	// (int 0x80) and x32 syscalls from bypassing an amd64-only profile.
	if err := f.SetBadArchAction(libseccomp.ActKillThread); err != nil {
		return fmt.Errorf("set seccomp bad-arch action: %w", err)
	}
	// Report the kernel's errno from seccomp(2), not libseccomp's ECANCELED.
	// Older libseccomp lacks the attribute; the error is then just vaguer.
	_ = f.SetRawRC(true)
	return nil
}

// SetDefaultFlags fills in absent linux.seccomp.flags (nil, not empty) with SPEC_ALLOW where libseccomp and the
// kernel support it, as runc does since 1.1. Create calls it on the config before anything else reads it: the
// config travels to the init and to state.json as JSON, where an empty list and an absent one are the same
// (`omitempty`), so the init applies exactly the flags it finds and `flags: []` loads with none.
func SetDefaultFlags(s *specs.LinuxSeccomp) {
	if disabled(s) || s.Flags != nil {
		return
	}
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return
	}
	defer f.Release()
	if setFlag(f, specs.LinuxSeccompFlagSpecAllow) == nil {
		s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow}
	}
}

// setFlags applies linux.seccomp.flags; absent flags are none (SetDefaultFlags).
func setFlags(f *libseccomp.ScmpFilter, flags []specs.LinuxSeccompFlag) error {
	for i, fl := range flags {
		if err := setFlag(f, fl); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				fe.field = fmt.Sprintf("%s.flags[%d]", base, i)
			}
			return err
		}
	}
	return nil
}

// setFlag sets one filter flag; its error is a *fieldError without a field.
func setFlag(f *libseccomp.ScmpFilter, fl specs.LinuxSeccompFlag) error {
	var err error
	var what string // runc's name of the flag in its error ("error adding WaitKill flag to seccomp filter: ..."),
	// which runc's seccomp-notify.bats matches to skip where libseccomp lacks the flag
	switch fl {
	case flagTsync:
		// Accepted and ignored, as runc's: the filter is loaded on the calling
		// thread only, whatever the flags (Compile drops the TSYNC that
		// libseccomp-golang's NewFilter always sets).
		return nil
	case specs.LinuxSeccompFlagLog:
		what, err = "log", f.SetLogBit(true)
	case specs.LinuxSeccompFlagSpecAllow:
		what, err = "SSB", f.SetSSB(true)
	case specs.LinuxSeccompFlagWaitKillableRecv:
		what, err = "WaitKill", f.SetWaitKill(true) // libseccomp >= 2.6.0, Linux >= 5.19
	default:
		return &fieldError{msg: fmt.Sprintf("unknown flag %q", fl), kind: ErrInvalid}
	}
	if err != nil {
		return &fieldError{msg: fmt.Sprintf("error adding %s flag to seccomp filter", what), kind: ErrUnsupported, err: err}
	}
	return nil
}

// action converts a spec action and its optional errno. For ERRNO and TRACE
// the errno defaults to EPERM (config-linux.md; runc does the same for
// TRACE); any other action with an errno is an error, as the spec requires.
func action(a specs.LinuxSeccompAction, errnoRet *uint, field, errnoField string) (libseccomp.ScmpAction, error) {
	act, ok := actions.Get(a)
	if !ok {
		return libseccomp.ActInvalid, invalid(field, "unknown action %q", a)
	}
	if act == libseccomp.ActNotify {
		if api, _ := libseccomp.GetAPI(); api < notifyAPI {
			return libseccomp.ActInvalid, &fieldError{field: field,
				msg: fmt.Sprintf("%s needs libseccomp API level %d, have %d", a, notifyAPI, api), kind: ErrUnsupported}
		}
	}
	if act != libseccomp.ActErrno && act != libseccomp.ActTrace {
		if errnoRet != nil {
			return libseccomp.ActInvalid, invalid(errnoField, "not allowed with action %s", a)
		}
		return act, nil
	}
	code := uint(unix.EPERM)
	if errnoRet != nil {
		code = *errnoRet
	}
	// SECCOMP_RET_DATA is 16 bits wide (linux/seccomp.h); more would be truncated.
	if code > 0xffff {
		return libseccomp.ActInvalid, invalid(errnoField, "%d out of range (max 65535)", code)
	}
	return act.SetReturnCode(int16(code)), nil
}

// conditions converts a rule's args into the condition sets to add, one rule
// each. As runc: all args are ANDed in one rule, unless two args test the same
// argument index; then each arg becomes a rule of its own (so they OR).
func conditions(args []specs.LinuxSeccompArg, field string) ([][]libseccomp.ScmpCondition, error) {
	if len(args) == 0 {
		return [][]libseccomp.ScmpCondition{nil}, nil
	}
	var conds []libseccomp.ScmpCondition
	var seen [maxArgs]bool
	repeated := false
	for i, a := range args {
		af := fmt.Sprintf("%s.args[%d]", field, i)
		if a.Index >= maxArgs {
			return nil, invalid(af+".index", "%d out of range (max %d)", a.Index, maxArgs-1)
		}
		op, ok := operators.Get(a.Op)
		if !ok {
			return nil, invalid(af+".op", "unknown operator %q", a.Op)
		}
		// For SCMP_CMP_MASKED_EQ value is the mask and valueTwo the datum,
		// libseccomp's operand order (seccomp_rule_add(3)).
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return nil, &fieldError{field: af, msg: "make condition", kind: ErrInvalid, err: err}
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{conds}, nil
	}
	sets := make([][]libseccomp.ScmpCondition, len(conds))
	for i, c := range conds {
		sets[i] = []libseccomp.ScmpCondition{c}
	}
	return sets, nil
}

// addRules validates one linux.seccomp.syscalls entry and, if add, adds its
// rules to f. It returns how many syscall names it covered and whether it
// uses SCMP_ACT_NOTIFY.
func addRules(f *libseccomp.ScmpFilter, field string, sc *specs.LinuxSyscall, defAct libseccomp.ScmpAction, add bool) (int, bool, error) {
	if len(sc.Names) == 0 {
		return 0, false, invalid(field+".names", "must list at least one syscall") // config-linux.md
	}
	act, err := action(sc.Action, sc.ErrnoRet, field+".action", field+".errnoRet")
	if err != nil {
		return 0, false, err
	}
	notify := act == libseccomp.ActNotify
	sets, err := conditions(sc.Args, field)
	if err != nil {
		return 0, false, err
	}
	n := 0
	for j, name := range sc.Names {
		nf := fmt.Sprintf("%s.names[%d]", field, j)
		if name == "" {
			return 0, false, invalid(nf, "empty syscall name")
		}
		if notify && name == "write" {
			// As runc, in its words: init writes the notify fd to the parent after loading.
			return 0, false, invalid(nf, "%s cannot be used for the write syscall", specs.ActNotify)
		}
		if act == defAct {
			continue // as runc: redundant, and libseccomp would refuse it
		}
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue // as runc: unknown to libseccomp, so likely not in this kernel either
		}
		n++
		if !add {
			continue
		}
		for _, conds := range sets {
			if err := f.AddRuleConditional(nr, act, conds); err != nil {
				return 0, false, &fieldError{field: nf, msg: fmt.Sprintf("add rule for %q", name), kind: ErrInvalid, err: err}
			}
		}
	}
	return n, notify, nil
}
