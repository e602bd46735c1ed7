package integration

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// denyProfile allows everything but the named syscalls, which fail with EPERM.
func denyProfile(names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: names, Action: specs.ActErrno}},
	}
}

// rarelyUsed are syscalls neither rt's init nor busybox makes, to give a profile the size of a real one.
var rarelyUsed = []string{
	"acct", "add_key", "adjtimex", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"finit_module", "fanotify_init", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
	"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "migrate_pages", "move_pages",
	"name_to_handle_at", "nfsservctl", "open_by_handle_at", "perf_event_open", "personality", "process_vm_readv",
	"process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key", "set_mempolicy",
	"setdomainname", "sethostname", "settimeofday", "swapoff", "swapon", "sysfs", "_sysctl", "syslog", "umount2",
	"unshare", "uselib", "userfaultfd", "ustat", "vhangup", "vm86", "vm86old", "mount", "pivot_root", "chroot",
	"setns", "fsopen", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr", "pidfd_getfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "lsm_get_self_attr", "lsm_set_self_attr",
}

// TestSeccompUnderAddressSpaceLimit: a small RLIMIT_AS does not keep the seccomp profile from being installed. The
// Go init maps more than 1 GiB of address space, so a runtime that applies the rlimits before generating the
// filter cannot allocate it (runtime-tools' process_rlimits sets exactly this). The limit and the profile are both
// seen from inside.
func TestSeccompUnderAddressSpaceLimit(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc 1.5's init segfaults in libseccomp (cgo) under the limit: a runc bug")
	const limit = 1 << 30
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_AS", Soft: limit, Hard: limit})
		s.Linux.Seccomp = denyProfile(append([]string{"mkdir", "mkdirat"}, rarelyUsed...)...)
		s.Process.Args = []string{"sh", "-c", `ulimit -v; mkdir /tmp/denied 2>/dev/null; echo mkdir=$?`}
	})
	r := mustRT(t, "run", "--bundle", b, newID(t))
	want := strconv.Itoa(limit/1024) + "\nmkdir=1\n"
	if r.Stdout != want {
		t.Errorf("inside: %q, want %q (ulimit -v in KiB, then mkdir denied)", r.Stdout, want)
	}
}

// TestStartWaitsForExec: `start` returns only once the container's process runs, so a signal sent right after it
// reaches the workload. A slow startContainer hook holds the init between the fifo and execve; a SIGUSR1 sent then
// would reach the Go init, which drops it. busybox sleep dies of SIGUSR1 (default action), so the container stops.
// No pid namespace: a namespace's init ignores signals it has no handler for.
func TestStartWaitsForExec(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc's start returns when the init leaves the fifo, before startContainer hooks and execve")
	b := bundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100000"}
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.PIDNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "0.3"}}}}
	})
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	mustRT(t, "start", id)
	mustRT(t, "kill", id, "USR1")
	waitStatus(t, id, "stopped")
}

// TestInitRseqOff: the init runs with glibc's rseq registration off, so a thread the Go runtime starts after a
// profile that denies rseq(2) is loaded cannot abort it ("rseq registration failed": glibc treats any errno but
// ENOSYS as fatal). A created container's init is still `rt init`: its environment shows the tunable, and the
// workload, which gets its own environment at execve, does not have it.
func TestInitRseqOff(t *testing.T) {
	t.Parallel()
	rtOnly(t, "runc's init is a Go program with the same exposure; it does not set the tunable")
	b := bundle(t, func(s *specs.Spec) {
		s.Linux.Seccomp = denyProfile("rseq")
		s.Process.Args = []string{"sh", "-c", "cat /proc/self/environ; echo; sleep 100000"}
	})
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(state(t, id).Pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\x00"+string(environ)+"\x00", "\x00GLIBC_TUNABLES=glibc.pthread.rseq=0\x00") {
		t.Errorf("created init's environment %q lacks GLIBC_TUNABLES=glibc.pthread.rseq=0", environ)
	}
	rt(t, "delete", "--force", id)
	r := mustRT(t, "run", "--bundle", bundle(t, func(s *specs.Spec) {
		s.Linux.Seccomp = denyProfile("rseq")
		s.Process.Args = []string{"cat", "/proc/self/environ"}
	}), newID(t))
	if strings.Contains(r.Stdout, "GLIBC_TUNABLES") {
		t.Errorf("the workload's environment %q has the init's tunable", r.Stdout)
	}
}

// TestSeccompWithoutProc: a config that mounts no /proc still gets its profile: nothing of the filter's making may
// depend on the container's /proc, which the init sees after pivot_root.
func TestSeccompWithoutProc(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 needs the container's /proc to close its fds (open /proc/self/fd)")
	b := bundle(t, func(s *specs.Spec) {
		var ms []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination != "/proc" {
				ms = append(ms, m)
			}
		}
		s.Mounts = ms
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		s.Linux.Seccomp = denyProfile("mkdir", "mkdirat")
		s.Process.Args = []string{"sh", "-c", `mkdir /tmp/denied 2>/dev/null; echo mkdir=$?`}
	})
	if r := mustRT(t, "run", "--bundle", b, newID(t)); r.Stdout != "mkdir=1\n" {
		t.Errorf("inside: %q, want mkdir denied", r.Stdout)
	}
}

// goRuntime are the syscalls the static probe, the runtimes' inits after the filter (runc 1.5 checks its procfs
// handles with statx) and execve need: all numbered below rseq (334 on x86_64), the largest one named, so that
// clone3 (435) is newer than the profile.
var goRuntime = []string{
	"read", "write", "openat", "close", "fstat", "newfstatat", "lseek", "mmap", "mprotect", "munmap", "brk",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "ioctl", "pread64", "readlinkat", "madvise",
	"mincore", "sched_yield", "nanosleep", "clock_gettime", "clock_nanosleep", "getpid", "getppid", "gettid",
	"tgkill", "tkill", "kill", "clone", "execve", "execveat", "exit", "exit_group", "wait4", "uname", "fcntl",
	"futex", "sched_getaffinity", "arch_prctl", "set_tid_address", "set_robust_list", "prlimit64", "getrlimit",
	"getrandom", "epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "pipe2", "dup3", "getuid", "getgid",
	"geteuid", "getegid", "capget", "capset", "prctl", "getcwd", "chdir", "ppoll", "pselect6", "statfs", "fstatfs", "getdents64", "statx",
	"rseq",
}

// TestSeccompENOSYS: under a profile whose default action denies, a syscall numbered above every syscall the
// profile names fails with ENOSYS, not the default errno, so that a program falls back as on an older kernel
// (clone3 -> clone); a syscall below that, not named, gets the default errno. runc's "-ENOSYS stub" (seccomp.bats
// "seccomp -ENOSYS handling"); an ERRNO default of ENOSYS, or a default that allows, needs none.
func TestSeccompENOSYS(t *testing.T) {
	t.Parallel()
	if runtime.GOARCH != "amd64" {
		t.Skip("the syscall numbers are x86_64's")
	}
	const (
		unshare = "272"  // named nowhere, below rseq
		clone3  = "435"  // newer than the profile
		beyond  = "1000" // no syscall at all
	)
	enosys := uint(unix.ENOSYS)
	for _, tc := range []struct {
		name        string
		errnoRet    *uint
		wantUnshare string
	}{
		{"default EPERM", nil, "EPERM"},
		{"default ENOSYS", &enosys, "ENOSYS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got map[string]string
			runProbe(t, func(s *specs.Spec) {
				s.Process.Args = []string{"/probe", "syscall", unshare, clone3, beyond}
				s.Linux.Seccomp = &specs.LinuxSeccomp{
					DefaultAction: specs.ActErrno, DefaultErrnoRet: tc.errnoRet,
					Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
					Syscalls:      []specs.LinuxSyscall{{Names: goRuntime, Action: specs.ActAllow}},
				}
			}, &got)
			want := map[string]string{unshare: tc.wantUnshare, clone3: "ENOSYS", beyond: "ENOSYS"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("errnos %v, want %v", got, want)
			}
		})
	}
}

// TestSeccompUnsupportedFlagText: a flag the linked libseccomp cannot set (WAIT_KILLABLE_RECV needs libseccomp
// 2.6) fails create with runc's words, "error adding WaitKill flag to seccomp filter: ...", which runc's
// seccomp-notify.bats matches to skip; where the runtime supports it (`features`), there is nothing to check.
func TestSeccompUnsupportedFlagText(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 does not know the flag")
	var f features.Features
	if err := json.Unmarshal([]byte(mustRT(t, "features").Stdout), &f); err != nil {
		t.Fatal(err)
	}
	if f.Linux != nil && f.Linux.Seccomp != nil &&
		slices.Contains(f.Linux.Seccomp.SupportedFlags, string(specs.LinuxSeccompFlagWaitKillableRecv)) {
		t.Skip("the runtime's libseccomp supports SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
	}
	b := bundle(t, func(s *specs.Spec) {
		s.Linux.Seccomp = denyProfile("mkdir")
		s.Linux.Seccomp.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
	})
	const want = "error adding WaitKill flag to seccomp filter: "
	if r := rt(t, "run", "--bundle", b, newID(t)); r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("run: %v, want an error with %q", r, want)
	}
}

// receiveSeccompState accepts one connection on l and reads what a runtime sends a seccomp agent
// (runtime-spec config-linux.md "seccomp"): the container process state JSON, with the notify fd on its first bytes.
func receiveSeccompState(l *net.UnixListener) (specs.ContainerProcessState, int, error) {
	var st specs.ContainerProcessState
	conn, err := l.AcceptUnix()
	if err != nil {
		return st, 0, err
	}
	defer conn.Close()
	buf, oob := make([]byte, 1<<16), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return st, 0, err
	}
	fds := 0
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range msgs {
			if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds += len(got)
				for _, fd := range got {
					unix.Close(fd)
				}
			}
		}
	}
	data := buf[:n]
	for {
		m, err := conn.Read(buf)
		data = append(data, buf[:m]...)
		if err != nil {
			break
		}
	}
	return st, fds, json.Unmarshal(data, &st)
}

// TestExecSeccompNotify: a process exec'd into a container whose seccomp profile has a notify rule sends its
// listener fd to linux.seccomp.listenerPath as the container's init did, with what runtime-spec gives the agent
// (config-linux.md "seccomp"): the exec'd process's pid, listenerMetadata, and the container's state, whose pid is
// the init's (runc 1.5's too), with its id and status running.
func TestExecSeccompNotify(t *testing.T) {
	t.Parallel()
	sock, l := listenUnix(t, "seccomp-agent.sock")
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		// A syscall neither the init nor the exec'd process makes: no agent answers here.
		s.Linux.Seccomp = denyProfile("sethostname")
		s.Linux.Seccomp.Syscalls[0].Action = specs.ActNotify
		s.Linux.Seccomp.ListenerPath = sock
		s.Linux.Seccomp.ListenerMetadata = "agent-metadata"
	})
	type got struct {
		st  specs.ContainerProcessState
		fds int
		err error
	}
	c := make(chan got, 2)
	go func() {
		for range 2 {
			var g got
			g.st, g.fds, g.err = receiveSeccompState(l)
			c <- g
		}
	}()
	// What the listener got next; the runtime has sent it by the time its command returns.
	next := func(whose string) got {
		t.Helper()
		select {
		case g := <-c:
			return g
		case <-time.After(cmdTimeout):
			t.Fatalf("nothing sent to the listener for %s", whose)
			return got{}
		}
	}
	id, _ := runDetached(t, b)
	create := next("the init")
	if create.err != nil || create.st.State.Status != specs.StateCreating {
		t.Fatalf("the init's message: %+v", create)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	mustRT(t, "exec", "-d", "--pid-file", pidFile, id, "sleep", "100000")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(pidFile)))
	if err != nil {
		t.Fatalf("--pid-file: %v", err)
	}
	exec := next("the exec'd process")
	if exec.err != nil {
		t.Fatal(exec.err)
	}
	st := exec.st
	if exec.fds != 1 || !slices.Equal(st.Fds, []string{specs.SeccompFdName}) {
		t.Errorf("%d fds named %q, want 1 named %q", exec.fds, st.Fds, specs.SeccompFdName)
	}
	if initPid := state(t, id).Pid; st.Pid != pid || st.State.Pid != initPid {
		t.Errorf("pid %d, state pid %d, want the exec'd process's %d and the init's %d", st.Pid, st.State.Pid, pid, initPid)
	}
	if st.Metadata != "agent-metadata" || st.State.ID != id || st.State.Status != specs.StateRunning {
		t.Errorf("metadata %q id %q status %q, want %q %q %q", st.Metadata, st.State.ID, st.State.Status,
			"agent-metadata", id, specs.StateRunning)
	}
}
