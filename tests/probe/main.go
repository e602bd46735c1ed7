// Command probe runs inside a test container and reports what the container looks like from the inside, as JSON
// on stdout, so the integration tests assert facts rather than parse shell output. It is built static with
// CGO_ENABLED=0 (make probe) because the test rootfs holds nothing but busybox and this binary.
//
// Subcommands:
//
//	probe self               the process: ids, caps, rlimits, namespaces, fds, env, mountinfo, ... (Self)
//	probe mounts             /proc/self/mountinfo, parsed (Mount)
//	probe stat PATH...       lstat of each path (Stat)
//	probe write PATH         create and write PATH; reports the errno name, if any (Result)
//	probe net                the network interfaces and their flags (Iface)
//	probe signals CODE       print "ready", then "got SIGNAME" per signal; exit CODE after SIGTERM
//	probe exit N             exit with status N
//	probe alloc MIB          map and touch MIB MiB of anonymous memory, then print {"allocated": MIB}
//	probe notifyseq [--exit] MSG...  send each MSG as its own datagram to $NOTIFY_SOCKET (one with FDSTORE=1
//	                         carries an fd), print "sent", then exit 0 (--exit) or wait until killed
//	probe stopnew PREFIX     print "watching", then SIGSTOP every process that appears in the pid namespace; one
//	                         whose command line starts with PREFIX (it has exec'd) is killed ("late PID"), any
//	                         other stays stopped ("stopped PID CMDLINE")
//	probe syscall NR...      make each raw syscall NR (arguments all 0) and print {"NR": "ERRNO name or empty"}
//	probe swap A B [EVERY]   exchange the names A and B (renameat2 RENAME_EXCHANGE) in a loop until killed, with a
//	                         pause of EVERY (a Go duration) between exchanges: the hostile sibling of the race
//	                         tests; prints "ready" once the first exchange is done
//
// Go 1.25+ keeps cgroup cpu files open to follow CPU limits; the probe must not hold fds of its own that a test
// would take for fds leaked by the runtime (go.dev/doc/godebug: containermaxprocs, updatemaxprocs).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/tests/probe/report"
)

// The output types live in package report, which the integration tests decode with.
type (
	Self   = report.Self
	Mount  = report.Mount
	Stat   = report.Stat
	Result = report.Result
	Iface  = report.Iface
	Alloc  = report.Alloc
)

// rlimitNames maps the names the runtime-spec uses (process.rlimits[].type) to getrlimit(2) resources.
var rlimitNames = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": 10,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15, "RLIMIT_SIGPENDING": 11, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

func main() {
	if len(os.Args) < 2 {
		fatal(errors.New("usage: probe self|mounts|stat|write|net|signals|exit|notify ARGS"))
	}
	args := os.Args[2:]
	var out any
	var err error
	switch os.Args[1] {
	case "self":
		out, err = self()
	case "mounts":
		out, err = mounts()
	case "stat":
		out = stats(args)
	case "write":
		out = write(args)
	case "net":
		out, err = ifaces()
	case "signals":
		err = signals(args)
	case "exit":
		code, _ := strconv.Atoi(strings.Join(args, ""))
		os.Exit(code)
	case "notify":
		err = notify(strings.Join(args, "\n"))
	case "alloc":
		out, err = alloc(args)
	case "notifyseq":
		err = notifySeq(args)
	case "stopnew":
		err = stopNew(strings.Join(args, " "))
	case "swap":
		err = swap(args)
	case "syscall":
		out, err = rawSyscalls(args)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fatal(err)
	}
	if out != nil {
		if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(2)
}

func self() (*Self, error) {
	s := &Self{Args: os.Args, Pid: os.Getpid(), Ppid: os.Getppid(), UID: os.Getuid(), GID: os.Getgid(),
		Env: os.Environ(), Caps: map[string]string{}, Rlimits: map[string][2]uint64{},
		Namespaces: map[string]string{}}
	var err error
	// First, before anything opens a file: the os package's poller would add epoll and eventfd descriptors.
	if s.Fds, err = openFds(); err != nil {
		return nil, err
	}
	if s.Groups, err = os.Getgroups(); err != nil {
		return nil, err
	}
	if s.Cwd, err = os.Getwd(); err != nil {
		return nil, err
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, os.NewSyscallError("uname", err)
	}
	s.Hostname, s.Domainname = unix.ByteSliceToString(uts.Nodename[:]), unix.ByteSliceToString(uts.Domainname[:])
	s.Machine = unix.ByteSliceToString(uts.Machine[:])
	// /proc/self/status carries the five capability sets, NoNewPrivs, Seccomp and (since Linux 4.7) Umask.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
			s.Caps[k] = v
		case "NoNewPrivs":
			s.NoNewPrivs, _ = strconv.Atoi(v)
		case "Seccomp":
			s.Seccomp, _ = strconv.Atoi(v)
		case "Umask":
			s.Umask = v
		case "Cpus_allowed_list":
			s.CpusAllowed = v
		}
	}
	for name, res := range rlimitNames {
		var rl unix.Rlimit
		if err := unix.Getrlimit(res, &rl); err != nil {
			return nil, os.NewSyscallError("getrlimit", err)
		}
		s.Rlimits[name] = [2]uint64{rl.Cur, rl.Max}
	}
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
		s.OOMScore, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
		if target, err := os.Readlink("/proc/self/ns/" + ns); err == nil {
			s.Namespaces[ns] = target
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		s.Mountinfo = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	if id, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0); err == nil {
		s.SessionKeyring = id
	}
	if b, err := os.ReadFile("/proc/self/uid_map"); err == nil {
		s.UIDMap = string(b)
	}
	if b, err := os.ReadFile("/proc/self/gid_map"); err == nil {
		s.GIDMap = string(b)
	}
	s.Clocks = map[string]float64{}
	for name, id := range map[string]int32{"monotonic": unix.CLOCK_MONOTONIC, "boottime": unix.CLOCK_BOOTTIME} {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return nil, os.NewSyscallError("clock_gettime", err)
		}
		s.Clocks[name] = float64(ts.Sec) + float64(ts.Nsec)/1e9
	}
	if err := schedSelf(s); err != nil {
		return nil, err
	}
	return s, nil
}

// schedSelf fills in the scheduling attributes: the main thread's from procfs, and the memory policy of whichever
// thread runs this (every thread of the probe inherits the policy the runtime set before execve).
func schedSelf(s *Self) error {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	// After "comm)" the fields start at field 3, the state (proc(5)).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 41-2 {
		return fmt.Errorf("/proc/self/stat: only %d fields", len(f)+2)
	}
	s.Nice, _ = strconv.Atoi(f[19-3])
	s.RTPriority, _ = strconv.Atoi(f[40-3])
	s.SchedPolicy, _ = strconv.Atoi(f[41-3])
	const ioprioWhoProcess = 1
	if prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(os.Getpid()), 0); errno == 0 {
		s.IOPrio = int(prio)
	}
	if b, err := os.ReadFile("/proc/self/personality"); err == nil {
		s.Personality = strings.TrimSpace(string(b))
	}
	var mode int32
	var nodes [16]uint64
	// ENOSYS without CONFIG_NUMA (the User-mode Linux guest): the fields stay 0, MPOL_DEFAULT.
	_, _, errno := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)),
		uintptr(unsafe.Pointer(&nodes[0])), uintptr(len(nodes)*64), 0, 0, 0)
	if errno == 0 {
		s.MemPolicy, s.MemPolicyNodes = int(mode), nodes[0]
	}
	return nil
}

// openFds lists the open descriptors and their targets with raw syscalls (no os.File, so no poller fds). The
// descriptor reading /proc/self/fd is left out.
func openFds() (map[string]string, error) {
	dfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/proc/self/fd", Err: err}
	}
	defer unix.Close(dfd)
	var names []string
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dfd, buf)
		if err != nil {
			return nil, os.NewSyscallError("getdents64", err)
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	fds := map[string]string{}
	for _, name := range names {
		if name == strconv.Itoa(dfd) {
			continue
		}
		link := make([]byte, 4096)
		n, err := unix.Readlink("/proc/self/fd/"+name, link)
		if err != nil {
			continue
		}
		fds[name] = string(link[:n])
	}
	return fds, nil
}

func mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue  (proc(5))
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 6 || len(b) < 3 {
			continue
		}
		ms = append(ms, Mount{Root: unescape(a[3]), Mountpoint: unescape(a[4]), Options: a[5],
			FSType: b[0], Source: b[1], Super: b[2]})
	}
	return ms, sc.Err()
}

// unescape undoes the octal escapes of space, tab, newline and backslash in mountinfo fields.
func unescape(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

func stats(paths []string) []Stat {
	out := make([]Stat, 0, len(paths))
	for _, p := range paths {
		st := Stat{Path: p}
		var s unix.Stat_t
		if err := unix.Lstat(p, &s); err != nil {
			st.Error = errnoName(err)
			out = append(out, st)
			continue
		}
		st.Mode = fmt.Sprintf("%04o", s.Mode&07777)
		st.UID, st.GID = int(s.Uid), int(s.Gid)
		switch s.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			st.Type = "file"
		case unix.S_IFDIR:
			st.Type = "dir"
		case unix.S_IFLNK:
			st.Type = "link"
			st.Link, _ = os.Readlink(p)
		case unix.S_IFCHR:
			st.Type = "char"
		case unix.S_IFBLK:
			st.Type = "block"
		case unix.S_IFIFO:
			st.Type = "fifo"
		case unix.S_IFSOCK:
			st.Type = "socket"
		}
		if st.Type == "char" || st.Type == "block" {
			st.Major, st.Minor = unix.Major(s.Rdev), unix.Minor(s.Rdev)
		}
		out = append(out, st)
	}
	return out
}

func write(args []string) Result {
	if len(args) != 1 {
		return Result{Error: "usage: probe write PATH"}
	}
	f, err := os.OpenFile(filepath.Clean(args[0]), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return Result{Error: errnoName(err)}
	}
	_, err = f.WriteString("probe\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{Error: errnoName(err)}
	}
	return Result{}
}

// errnoName gives the symbolic errno (unix.ErrnoName) so tests compare "EROFS", not locale-dependent text.
func errnoName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func ifaces() ([]Iface, error) {
	is, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Iface, 0, len(is))
	for _, i := range is {
		out = append(out, Iface{Name: i.Name, Up: i.Flags&net.FlagUp != 0, Flags: i.Flags.String()})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// signals prints "ready" once the handlers are installed, so a test knows when signalling is meaningful, then
// one "got SIGNAME" line per signal. SIGTERM ends it with the given exit code. The set is explicit: Go's
// runtime uses SIGURG for preemption, so "all signals" would print noise. SIGRTMIN+3 (glibc's numbering: 37) is
// systemd's "halt", which a systemd container's manager is stopped with.
func signals(args []string) error {
	code, _ := strconv.Atoi(strings.Join(args, ""))
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGTERM,
		unix.SIGALRM, unix.SIGWINCH, unix.Signal(34+3))
	fmt.Println("ready")
	for sig := range ch {
		s, _ := sig.(unix.Signal)
		name := unix.SignalName(s)
		if s >= 34 {
			name = fmt.Sprintf("SIGRTMIN+%d", s-34)
		}
		fmt.Println("got", name)
		if s == unix.SIGTERM {
			os.Exit(code)
		}
	}
	return nil
}

// notify sends msg as one datagram to $NOTIFY_SOCKET (sd_notify(3)), then sleeps until killed, as a service
// that has become ready would.
func notify(msg string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return errors.New("notify: NOTIFY_SOCKET is not set")
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Sendto(fd, []byte(msg), 0, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("notify %s: %w", path, err)
	}
	for {
		_ = unix.Pause()
	}
}

// notifySeq sends each message as its own datagram to $NOTIFY_SOCKET, as a hostile workload steering its unit
// would: a message with FDSTORE=1 carries an fd (of /dev/null) as sd_pid_notify_with_fds(3) sends one.
func notifySeq(args []string) error {
	exit := len(args) > 0 && args[0] == "--exit"
	if exit {
		args = args[1:]
	}
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return errors.New("notifyseq: NOTIFY_SOCKET is not set")
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/dev/null", Err: err}
	}
	for _, msg := range args {
		var oob []byte
		if strings.Contains(msg, "FDSTORE=1") {
			oob = unix.UnixRights(null)
		}
		// Refused once the runtime has stopped listening (after READY=1 for start and run -d): sent anyway.
		if err := unix.Sendmsg(fd, []byte(msg), oob, &unix.SockaddrUnix{Name: path}, 0); err != nil && err != unix.ECONNREFUSED {
			return fmt.Errorf("notifyseq %s: %w", path, os.NewSyscallError("sendmsg", err))
		}
	}
	fmt.Println("sent")
	if exit {
		return nil
	}
	for {
		_ = unix.Pause()
	}
}

// stopNew plays a container's root stopping a runtime helper that entered the container: it SIGSTOPs every
// process that appears in its pid namespace, as early as it can see it. A process whose command line already
// starts with prefix had exec'd its target before it was caught (too late to stop the helper) and is killed.
func stopNew(prefix string) error {
	seen := map[int]bool{}
	pids := func() []int {
		ents, _ := os.ReadDir("/proc")
		var out []int
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				out = append(out, pid)
			}
		}
		return out
	}
	for _, pid := range pids() {
		seen[pid] = true
	}
	fmt.Println("watching")
	for {
		for _, pid := range pids() {
			if seen[pid] {
				continue
			}
			seen[pid] = true
			if unix.Kill(pid, unix.SIGSTOP) != nil {
				continue // gone already
			}
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			cmd := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
			if strings.HasPrefix(cmd, prefix) {
				_ = unix.Kill(pid, unix.SIGKILL)
				fmt.Println("late", pid)
				continue
			}
			fmt.Printf("stopped %d %q\n", pid, cmd)
		}
	}
}

// alloc maps MIB MiB of anonymous memory and writes one byte per page, so each page is charged to the memory
// cgroup (an untouched mapping costs nothing). mmap(2), not the Go heap, so the garbage collector cannot free
// it early and the Go runtime's own use stays small.
func alloc(args []string) (*Alloc, error) {
	mib, err := strconv.Atoi(strings.Join(args, ""))
	if err != nil || mib <= 0 {
		return nil, errors.New("usage: probe alloc MIB")
	}
	mem, err := unix.Mmap(-1, 0, mib<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	page := os.Getpagesize()
	for i := 0; i < len(mem); i += page {
		mem[i] = 1
	}
	return &Alloc{Allocated: mib}, nil
}

// swap exchanges the two names, which must be in one directory, for ever, as a container sharing a volume with
// another one would to race it. The names are taken relative to a handle on their directory, so a swap costs no
// walk of a long path.
func swap(args []string) error {
	if len(args) < 2 || len(args) > 3 || filepath.Dir(args[0]) != filepath.Dir(args[1]) {
		return errors.New("usage: probe swap DIR/A DIR/B [EVERY]")
	}
	var every time.Duration
	if len(args) == 3 {
		var err error
		if every, err = time.ParseDuration(args[2]); err != nil {
			return err
		}
	}
	dir, err := unix.Open(filepath.Dir(args[0]), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Dir(args[0]), Err: err}
	}
	a, b := filepath.Base(args[0]), filepath.Base(args[1])
	for i := 0; ; i++ {
		if err := unix.Renameat2(dir, a, dir, b, unix.RENAME_EXCHANGE); err != nil {
			return &os.LinkError{Op: "renameat2", Old: args[0], New: args[1], Err: err}
		}
		if i == 0 {
			fmt.Println("ready")
		}
		time.Sleep(every)
	}
}

// rawSyscalls makes each syscall numbered in args with all arguments 0 and reports its errno's name ("" for none):
// what a seccomp filter answers for a number the probe names, known to the kernel or not.
func rawSyscalls(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		nr, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("syscall number %q: %w", a, err)
		}
		_, _, errno := unix.Syscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
		out[a] = ""
		if errno != 0 {
			out[a] = unix.ErrnoName(errno)
		}
	}
	return out, nil
}
