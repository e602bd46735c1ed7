package seccomp

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// helperEnv carries a helperRequest to the re-executed test binary.
const helperEnv = "RT_SECCOMP_TEST_HELPER"

// helperRequest is what the helper process does: load Profile, then run the
// probes in order, printing one line each, then exec Exec if set.
type helperRequest struct {
	Profile *specs.LinuxSeccomp
	// KeepNNP leaves no_new_privs unset (needs root); by default the helper
	// sets it, so the tests run unprivileged.
	KeepNNP bool
	// Listener, when set, receives the notify fd through SendNotifyFd.
	Listener string
	Metadata string
	// Getppid lists raw getppid(2) calls: its argument registers are ignored
	// by the kernel but seen by seccomp, so rules on args can be probed.
	Getppid [][maxArgs]uint64
	Mkdir   string // mkdirat(AT_FDCWD, Mkdir, 0o755)
	Getcwd  bool
	Status  bool // print the NoNewPrivs and Seccomp lines of /proc/self/status
	Exec    []string
}

// init keeps a helper's main goroutine on the main thread (runtime.LockOSThread in an init function), where it
// loads the filter and makes its calls: the filter is the calling thread's (no TSYNC), and a notification names
// the thread, which is then the process's pid.
func init() {
	if os.Getenv(helperEnv) != "" {
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if req := os.Getenv(helperEnv); req != "" {
		os.Exit(helperMain(req))
	}
	os.Exit(m.Run())
}

// helperMain runs inside the helper process; 125 means the setup failed.
func helperMain(raw string) int {
	var req helperRequest
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 125
	}
	runtime.LockOSThread()
	// No core dumps from the SIGSYS kills the tests provoke.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if !req.KeepNNP {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "helper: prctl:", err)
			return 125
		}
	}
	fd, err := compileAndLoad(req.Profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: load:", err)
		return 125
	}
	fmt.Printf("notifyfd %t\n", fd >= 0)
	if req.Listener != "" {
		st := &specs.ContainerProcessState{
			Pid:      os.Getpid(),
			Metadata: req.Metadata,
			State:    specs.State{Version: specs.Version, ID: "test", Status: specs.StateCreating, Pid: os.Getpid()},
		}
		if err := SendNotifyFd(req.Listener, fd, st); err != nil {
			fmt.Fprintln(os.Stderr, "helper: send:", err)
			return 125
		}
	}
	for _, a := range req.Getppid {
		_, _, errno := unix.RawSyscall6(unix.SYS_GETPPID, uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5]))
		fmt.Printf("getppid errno=%d\n", errno)
	}
	if req.Mkdir != "" {
		fmt.Printf("mkdir errno=%d\n", errnoOf(unix.Mkdirat(unix.AT_FDCWD, req.Mkdir, 0o755)))
	}
	if req.Getcwd {
		_, err := unix.Getwd()
		fmt.Printf("getcwd errno=%d\n", errnoOf(err))
	}
	if req.Status {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 125
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "NoNewPrivs:") || strings.HasPrefix(l, "Seccomp:") {
				fmt.Println(strings.Join(strings.Fields(l), " "))
			}
		}
	}
	if len(req.Exec) > 0 {
		err := unix.Exec(req.Exec[0], req.Exec, []string{"PATH=/bin:/usr/bin"})
		fmt.Fprintln(os.Stderr, "helper: exec:", err)
		return 125
	}
	return 0
}

func errnoOf(err error) int {
	var e unix.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	if err != nil {
		return -1
	}
	return 0
}

// helperResult is what the test sees of a helper run.
type helperResult struct {
	stdout, stderr string
	exitCode       int            // -1 when killed by a signal
	signal         syscall.Signal // 0 unless killed by a signal
}

// runHelper re-executes the test binary as a helper doing req.
func runHelper(t *testing.T, req helperRequest) helperResult {
	t.Helper()
	raw, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := helperResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
	default:
		t.Fatalf("run helper: %v", err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	res.exitCode = ws.ExitStatus()
	if ws.Signaled() {
		res.signal = ws.Signal()
	}
	if res.exitCode == 125 {
		t.Fatalf("helper setup failed: %s", res.stderr)
	}
	return res
}

// Syscall entry points of x86-64 Linux a profile must cover.
type abi int

const (
	abiNative abi = iota // syscall, AUDIT_ARCH_X86_64
	abiI386              // int 0x80, AUDIT_ARCH_I386 (CONFIG_IA32_EMULATION)
	abiX32               // syscall with __X32_SYSCALL_BIT, AUDIT_ARCH_X86_64
)

// getppid numbers per ABI: arch/x86/entry/syscalls/syscall_{64,32}.tbl.
var getppidNr = map[abi]uint32{abiNative: 110, abiI386: 64, abiX32: 0x40000000 | 110}

// writeGetppidProgram writes a static x86-64 ELF executable that makes one
// getppid call through the given ABI and exits with the result's low byte:
// the parent's pid, or 256-errno when the filter returns an errno. It is
// built here, byte by byte, because no 32-bit toolchain is installed and the
// int 0x80 path must be exercised by a process that never ran Go code.
func writeGetppidProgram(t *testing.T, a abi) string {
	t.Helper()
	return writeSyscallProgram(t, a, getppidNr[a])
}

// writeSyscallProgram is writeGetppidProgram for any syscall number nr (its arguments are whatever the registers
// hold at entry: 0 in a fresh process).
func writeSyscallProgram(t *testing.T, a abi, nr uint32) string {
	t.Helper()
	const vaddr = 0x400000 // below 4 GiB, so int 0x80 could take pointers too
	var code []byte
	code = append(code, 0xb8) // mov eax, imm32
	code = binary.LittleEndian.AppendUint32(code, nr)
	if a == abiI386 {
		code = append(code, 0xcd, 0x80) // int 0x80
	} else {
		code = append(code, 0x0f, 0x05) // syscall
	}
	code = append(code,
		0x89, 0xc7, // mov edi, eax
		0xb8, 60, 0, 0, 0, // mov eax, 60 (exit)
		0x0f, 0x05, // syscall
	)
	const ehsize, phsize = 64, 56
	size := uint64(ehsize + phsize + len(code))
	var b bytes.Buffer
	// Elf64_Ehdr (elf(5)): ELFCLASS64, little endian, ET_EXEC, EM_X86_64.
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le := binary.LittleEndian
	_ = binary.Write(&b, le, struct {
		Type, Machine             uint16
		Version                   uint32
		Entry, Phoff, Shoff       uint64
		Flags                     uint32
		Ehsize, Phentsize, Phnum  uint16
		Shentsize, Shnum, Shstrnd uint16
	}{2, 62, 1, vaddr + ehsize + phsize, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0})
	// Elf64_Phdr: one PT_LOAD, R+X, mapping the whole file at vaddr.
	_ = binary.Write(&b, le, struct {
		Type, Flags                    uint32
		Off, Vaddr, Paddr, Filesz, Mem uint64
		Align                          uint64
	}{1, 5, 0, vaddr, vaddr, size, size, 0x1000})
	b.Write(code)
	p := filepath.Join(t.TempDir(), fmt.Sprintf("syscall%d-%d", a, nr))
	if err := os.WriteFile(p, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// compileAndLoad compiles s and installs it, as `rt init` does in two steps (Compile, then Filter.Load).
func compileAndLoad(s *specs.LinuxSeccomp) (notifyFd int, err error) {
	f, err := Compile(s)
	if err != nil {
		return -1, err
	}
	return f.Load()
}
