package nsenter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/namespace"
)

// msgHelperReport is what the init half of this test binary sends back: its namespaces (see TestMain).
const msgHelperReport = 200

// maxConstructorPayload is MAX_PAYLOAD in nsenter.c: a record must be shorter (the constructor NUL-terminates it).
const maxConstructorPayload = 4096

// TestMain lets this test binary play `rt init`: when the constructor has run (the parent set EnvInitSock) and
// cloned the init, the init reports its pid and namespaces over the socket instead of running tests.
func TestMain(m *testing.M) {
	if env := os.Getenv(EnvInitSock); env != "" {
		os.Exit(helperInit(env))
	}
	os.Exit(m.Run())
}

func helperInit(env string) int {
	fd, err := strconv.Atoi(env)
	if err != nil {
		return 2
	}
	sock := os.NewFile(uintptr(fd), "init-sock")
	var lines []string
	lines = append(lines, "self "+strconv.Itoa(os.Getpid()))
	sid, _ := unix.Getsid(0)
	lines = append(lines, "sid "+strconv.Itoa(sid))
	dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	lines = append(lines, "dumpable "+strconv.Itoa(dumpable))
	cg, _ := os.ReadFile("/proc/self/cgroup")
	lines = append(lines, "cgroups "+strings.ReplaceAll(strings.TrimSpace(string(cg)), "\n", ";"))
	for _, ns := range helperNamespaces {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			link = "error"
		}
		lines = append(lines, ns+" "+link)
	}
	payload := []byte(strings.Join(lines, "\n"))
	if _, err := sock.Write(AppendMsg(nil, msgHelperReport, payload)); err != nil {
		return 3
	}
	return 0
}

var helperNamespaces = []string{"uts", "ipc", "net", "pid", "mnt", "cgroup"}

// TestNamespaceTable: the constructor's namespace names (nsenter.h NS_TABLE, through cgo) are the one table's
// (internal/namespace), flag for flag, and an unknown flag is named as such.
func TestNamespaceTable(t *testing.T) {
	for _, k := range namespace.Kinds {
		if got := nsName(k.Flag); got != string(k.Type) {
			t.Errorf("nsenter.h names %#x %q, internal/namespace %q", k.Flag, got, k.Type)
		}
	}
	if got := nsName(unix.CLONE_PARENT); got != "unknown" {
		t.Errorf("CLONE_PARENT named %q, want unknown", got)
	}
}

// TestWireTypes: record types are distinct and end with 0; message types are distinct and none is a record type,
// so a frame read out of place is never taken for another.
func TestWireTypes(t *testing.T) {
	recs := []uint32{recEnd, recCloneFlags, recNsPath, recTimeOffsets, recNonDumpable, recCgroupTasks}
	msgs := []uint32{MsgError, MsgUsermap, MsgUsermapDone, MsgPid}
	seen := map[uint32]bool{}
	for _, v := range append(recs, msgs...) {
		if seen[v] {
			t.Errorf("type %d is used twice", v)
		}
		seen[v] = true
	}
	if recEnd != 0 {
		t.Errorf("REC_END = %d: the constructor's bootstrap loop ends on 0", recEnd)
	}
	if EnvInitSock == "" || strings.ContainsAny(EnvInitSock, "= ") {
		t.Errorf("EnvInitSock = %q is not an environment variable name", EnvInitSock)
	}
}

type record struct {
	typ     uint32
	payload []byte
}

// decodeRecords reads records with ReadMsg up to and including the end record, and checks nothing follows it.
func decodeRecords(t *testing.T, buf []byte) []record {
	t.Helper()
	r := bytes.NewReader(buf)
	var out []record
	for {
		typ, payload, err := ReadMsg(r)
		if err != nil {
			t.Fatalf("ReadMsg after %d records: %v", len(out), err)
		}
		out = append(out, record{typ, payload})
		if typ == recEnd {
			break
		}
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes after the end record", r.Len())
	}
	return out
}

// decodeBootstrap turns records back into a Bootstrap, as nsenter.c's read_bootstrap does.
func decodeBootstrap(t *testing.T, recs []record) Bootstrap {
	t.Helper()
	var b Bootstrap
	for _, r := range recs {
		switch r.typ {
		case recCloneFlags:
			if len(r.payload) != 4 {
				t.Fatalf("clone flags record of %d bytes", len(r.payload))
			}
			b.CloneFlags = binary.NativeEndian.Uint32(r.payload)
		case recNsPath:
			if len(r.payload) < 4 {
				t.Fatalf("namespace path record of %d bytes", len(r.payload))
			}
			b.Join = append(b.Join, NsPath{Type: binary.NativeEndian.Uint32(r.payload), Path: string(r.payload[4:])})
		case recTimeOffsets:
			b.TimeOffsets = string(r.payload)
		case recNonDumpable:
			if len(r.payload) != 0 {
				t.Fatalf("non-dumpable record with %d bytes", len(r.payload))
			}
			b.NonDumpable = true
		case recCgroupTasks:
			b.CgroupTasks = append(b.CgroupTasks, string(r.payload))
		case recEnd:
			if len(r.payload) != 0 {
				t.Fatalf("end record with %d bytes", len(r.payload))
			}
		default:
			t.Fatalf("unknown record type %d", r.typ)
		}
	}
	return b
}

func TestBootstrapEncode(t *testing.T) {
	tests := []struct {
		name     string
		in       Bootstrap
		wantRecs []uint32
	}{
		{name: "empty", in: Bootstrap{}, wantRecs: []uint32{recCloneFlags, recEnd}},
		{name: "clone flags", in: Bootstrap{CloneFlags: unix.CLONE_NEWPID | unix.CLONE_NEWNS}, wantRecs: []uint32{recCloneFlags, recEnd}},
		{name: "joins in order", in: Bootstrap{CloneFlags: unix.CLONE_NEWUTS, Join: []NsPath{
			{Type: unix.CLONE_NEWNET, Path: "/var/run/netns/a"}, {Type: unix.CLONE_NEWUSER, Path: "/proc/1/ns/user"},
		}}, wantRecs: []uint32{recCloneFlags, recNsPath, recNsPath, recEnd}},
		{name: "time offsets", in: Bootstrap{CloneFlags: unix.CLONE_NEWTIME, TimeOffsets: "monotonic 1 0\nboottime 2 0\n"},
			wantRecs: []uint32{recCloneFlags, recTimeOffsets, recEnd}},
		{name: "non-dumpable", in: Bootstrap{Join: []NsPath{{Type: unix.CLONE_NEWPID, Path: "/proc/1/ns/pid"}}, NonDumpable: true},
			wantRecs: []uint32{recCloneFlags, recNsPath, recNonDumpable, recEnd}},
		{name: "cgroup tasks in order", in: Bootstrap{CgroupTasks: []string{"/sys/fs/cgroup/cpu/c/tasks", "/sys/fs/cgroup/pids/c/tasks"}},
			wantRecs: []uint32{recCloneFlags, recCgroupTasks, recCgroupTasks, recEnd}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.in.Encode([]byte("keep"))
			if !bytes.HasPrefix(buf, []byte("keep")) {
				t.Fatalf("Encode did not append to buf: %q", buf)
			}
			recs := decodeRecords(t, buf[4:])
			var types []uint32
			for _, r := range recs {
				types = append(types, r.typ)
			}
			if !reflect.DeepEqual(types, tc.wantRecs) {
				t.Errorf("record types %v, want %v", types, tc.wantRecs)
			}
			if got := decodeBootstrap(t, recs); !reflect.DeepEqual(got, tc.in) {
				t.Errorf("round trip = %+v, want %+v", got, tc.in)
			}
		})
	}
}

// TestEncodeFraming pins the wire format byte by byte: 4-byte type, 4-byte length, payload, native endian.
func TestEncodeFraming(t *testing.T) {
	b := Bootstrap{CloneFlags: 0x20000000, Join: []NsPath{{Type: 0x40000000, Path: "/x"}}}
	var want []byte
	u32 := func(v uint32) { want = binary.NativeEndian.AppendUint32(want, v) }
	u32(recCloneFlags)
	u32(4)
	u32(0x20000000)
	u32(recNsPath)
	u32(6)
	u32(0x40000000)
	want = append(want, "/x"...)
	u32(recEnd)
	u32(0)
	if got := b.Encode(nil); !bytes.Equal(got, want) {
		t.Errorf("Encode = % x\nwant     % x", got, want)
	}
}

func frame(typ, length uint32, payload []byte) []byte {
	buf := binary.NativeEndian.AppendUint32(nil, typ)
	buf = binary.NativeEndian.AppendUint32(buf, length)
	return append(buf, payload...)
}

func TestReadMsg(t *testing.T) {
	tests := []struct {
		name        string
		in          []byte
		wantTyp     uint32
		wantPayload []byte
		wantErr     error  // checked with errors.Is
		wantText    string // the exact error text
	}{
		{name: "pid", in: frame(MsgPid, 4, []byte{1, 0, 0, 0}), wantTyp: MsgPid, wantPayload: []byte{1, 0, 0, 0}},
		{name: "empty payload", in: frame(MsgUsermap, 0, nil), wantTyp: MsgUsermap, wantPayload: []byte{}},
		{name: "64 KiB", in: frame(7, 1<<16, make([]byte, 1<<16)), wantTyp: 7, wantPayload: make([]byte, 1<<16)},
		{name: "error text", in: frame(MsgError, 5, []byte("boom!")), wantText: "boom!"},
		{name: "empty error", in: frame(MsgError, 0, nil), wantText: ""},
		// A broken or hostile child must not make the parent allocate 4 GiB. (The exact bound is ReadMsg's to
		// choose: the init's config travels in one message and can exceed 64 KiB.)
		{name: "oversize", in: frame(MsgPid, 0xffffffff, nil), wantErr: unix.EPROTO},
		{name: "nothing", in: nil, wantErr: io.EOF},
		{name: "short header", in: []byte{1, 2, 3}, wantErr: io.ErrUnexpectedEOF},
		{name: "short payload", in: frame(MsgPid, 4, []byte{1}), wantErr: io.ErrUnexpectedEOF},
		{name: "short error payload", in: frame(MsgError, 10, []byte("bo")), wantErr: io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, payload, err := ReadMsg(bytes.NewReader(tc.in))
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("ReadMsg err = %v, want %v", err, tc.wantErr)
				}
			case tc.name == "error text" || tc.name == "empty error":
				if err == nil || err.Error() != tc.wantText || payload != nil {
					t.Errorf("ReadMsg = %d, %q, %v; want the error %q", typ, payload, err, tc.wantText)
				}
			default:
				if err != nil || typ != tc.wantTyp || !bytes.Equal(payload, tc.wantPayload) {
					t.Errorf("ReadMsg = %d, %d bytes, %v; want %d, %d bytes", typ, len(payload), err, tc.wantTyp, len(tc.wantPayload))
				}
			}
		})
	}
}

func TestReadMsgSequence(t *testing.T) {
	in := append(frame(MsgUsermap, 0, nil), frame(MsgPid, 4, []byte{9, 0, 0, 0})...)
	r := bytes.NewReader(in)
	for _, want := range []uint32{MsgUsermap, MsgPid} {
		typ, _, err := ReadMsg(r)
		if err != nil || typ != want {
			t.Fatalf("ReadMsg = %d, %v; want %d", typ, err, want)
		}
	}
	if _, _, err := ReadMsg(r); !errors.Is(err, io.EOF) {
		t.Errorf("ReadMsg at the end = %v, want io.EOF", err)
	}
}

// TestAppendMsgReply: the parent's reply to MSG_USERMAP is a bare header, as the constructor's read_full reads it,
// and what ReadMsg reads back.
func TestAppendMsgReply(t *testing.T) {
	buf := AppendMsg(nil, MsgUsermapDone, nil)
	if want := frame(MsgUsermapDone, 0, nil); !bytes.Equal(buf, want) {
		t.Errorf("AppendMsg = % x, want % x", buf, want)
	}
	typ, payload, err := ReadMsg(bytes.NewReader(buf))
	if err != nil || typ != MsgUsermapDone || len(payload) != 0 {
		t.Errorf("ReadMsg(AppendMsg) = %d, %q, %v", typ, payload, err)
	}
}

// FuzzReadMsg: arbitrary bytes from a (possibly hostile or broken) child never panic ReadMsg, and what it returns
// fits in what it read.
func FuzzReadMsg(f *testing.F) {
	f.Add(frame(MsgPid, 4, []byte{1, 2, 3, 4}))
	f.Add(frame(MsgError, 3, []byte("bad")))
	f.Add(frame(MsgPid, 0xffffffff, nil))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, payload, err := ReadMsg(bytes.NewReader(data))
		if err != nil {
			return
		}
		if typ == MsgError {
			t.Fatalf("MsgError returned without an error")
		}
		if 8+len(payload) > len(data) {
			t.Fatalf("payload of %d bytes from %d bytes of input", len(payload), len(data))
		}
	})
}

// FuzzBootstrapEncode: whatever the bootstrap, its encoding decodes back to it.
func FuzzBootstrapEncode(f *testing.F) {
	f.Add(uint32(unix.CLONE_NEWPID), uint32(unix.CLONE_NEWNET), "/proc/1/ns/net", "monotonic 1 0\n", true)
	f.Add(uint32(0), uint32(0), "", "", false)
	f.Fuzz(func(t *testing.T, flags, joinType uint32, path, offsets string, nonDumpable bool) {
		in := Bootstrap{CloneFlags: flags, TimeOffsets: offsets, NonDumpable: nonDumpable}
		if path != "" {
			in.Join = []NsPath{{Type: joinType, Path: path}, {Type: joinType ^ 1, Path: path + "x"}}
		}
		if got := decodeBootstrap(t, decodeRecords(t, in.Encode(nil))); !reflect.DeepEqual(got, in) {
			t.Fatalf("round trip = %+v, want %+v", got, in)
		}
	})
}

// runConstructor starts this test binary as `rt init` with buf as the parent's message, and returns the messages
// it sends back until EOF, the bootstrap child's exit error, and the cloned init's pid (reaped) if there was one.
func runConstructor(t *testing.T, buf []byte) (msgs []record, exitErr error) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(os.NewSyscallError("socketpair", err))
	}
	// Non-blocking, so os.NewFile makes the parent's end pollable and the read deadline below works.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	parent := os.NewFile(uintptr(fds[0]), "parent")
	child := os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{EnvInitSock + "=3"}
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		child.Close()
		t.Fatal(err)
	}
	child.Close()
	if _, err := parent.Write(buf); err != nil {
		t.Fatalf("send bootstrap: %v", err)
	}
	// Nothing more comes from the parent: a truncated message ends in EOF for the constructor.
	if err := unix.Shutdown(fds[0], unix.SHUT_WR); err != nil {
		t.Fatal(os.NewSyscallError("shutdown", err))
	}
	if err := parent.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	initPid := 0
	// Read to EOF, which comes once the bootstrap child and the init it cloned have both exited (nothing else holds
	// the child's end). Neither message may end the reading: the two come from different processes, and on a
	// loaded machine the init's report can arrive before the bootstrap child, preempted between its clone and its
	// write, has sent MsgPid.
	for {
		typ, payload, err := ReadMsg(parent)
		// A child that exits with bytes of ours still unread resets the connection (unix(7) stream sockets):
		// that is its end, like EOF.
		if errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) {
			break
		}
		if err != nil && typ != MsgError {
			t.Fatalf("read from constructor: %v", err)
		}
		if typ == MsgError {
			payload = []byte(err.Error())
		}
		if typ == MsgPid && len(payload) == 4 {
			initPid = int(binary.NativeEndian.Uint32(payload))
		}
		msgs = append(msgs, record{typ, payload})
	}
	exitErr = cmd.Wait()
	if initPid > 0 {
		// CLONE_PARENT made the init our child: reap it.
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(initPid, &ws, 0, nil)
			if err != unix.EINTR {
				if err != nil {
					t.Errorf("wait4 init %d: %v", initPid, err)
				} else if !ws.Exited() || ws.ExitStatus() != 0 {
					t.Errorf("init %d ended with status %#x", initPid, uint32(ws))
				}
				break
			}
		}
	}
	return msgs, exitErr
}

// report parses the helper init's msgHelperReport payload.
func parseReport(t *testing.T, payload []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(string(payload), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("report line %q", line)
		}
		out[k] = v
	}
	return out
}

func ownNamespaces(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ns := range helperNamespaces {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		out[ns] = link
	}
	return out
}

func TestConstructor(t *testing.T) {
	root := os.Geteuid() == 0
	own := ownNamespaces(t)
	// A process in fresh uts and ipc namespaces whose namespaces a bootstrap can join.
	var target *exec.Cmd
	if root {
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			t.Fatal(err)
		}
		target = exec.Command(sleep, "1000")
		target.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC}
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = target.Process.Kill(); _ = target.Wait() })
	}
	targetNs := func(ns string) string {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", target.Process.Pid, ns))
		if err != nil {
			t.Fatal(err)
		}
		return link
	}

	tests := []struct {
		name     string
		root     bool
		buf      func() []byte
		wantErr  string            // the constructor's MsgError text, prefix
		wantNs   map[string]string // namespaces the init must be in ("" = same as ours)
		newNs    []string          // namespaces that must differ from ours
		wantPid1 bool
		wantDump string // PR_GET_DUMPABLE in the init; "" = 1, as for any process exec'd by root
		// wantCgroup is a line the init's /proc/self/cgroup must have.
		wantCgroup string
	}{
		{name: "no namespaces", buf: func() []byte { return (&Bootstrap{}).Encode(nil) }, wantNs: map[string]string{}},
		{name: "new uts ipc net", root: true, buf: func() []byte {
			return (&Bootstrap{CloneFlags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET}).Encode(nil)
		}, newNs: []string{"uts", "ipc", "net"}},
		// A new pid namespace applies to children only (pid_namespaces(7)): the cloned init is its pid 1.
		{name: "new pid", root: true, buf: func() []byte {
			return (&Bootstrap{CloneFlags: unix.CLONE_NEWPID}).Encode(nil)
		}, wantPid1: true},
		{name: "join uts and ipc", root: true, buf: func() []byte {
			pid := target.Process.Pid
			return (&Bootstrap{Join: []NsPath{
				{Type: unix.CLONE_NEWUTS, Path: fmt.Sprintf("/proc/%d/ns/uts", pid)},
				{Type: unix.CLONE_NEWIPC, Path: fmt.Sprintf("/proc/%d/ns/ipc", pid)},
			}}).Encode(nil)
		}, wantNs: map[string]string{"uts": "target", "ipc": "target"}},
		// CVE-2016-9962: a process entering a running container stays non-dumpable until it execs.
		{name: "non-dumpable", buf: func() []byte { return (&Bootstrap{NonDumpable: true}).Encode(nil) }, wantDump: "0"},
		// The bootstrap joins a v1 cgroup itself; the init it clones starts there.
		{name: "join v1 cgroup", root: true, buf: func() []byte {
			return (&Bootstrap{CgroupTasks: []string{v1Cgroup(t, "join") + "/tasks"}}).Encode(nil)
		}, wantCgroup: fmt.Sprintf("pids:/rt-nsenter-test-%d-join", os.Getpid())},
		// It joins before it makes the cgroup namespace, which so has that cgroup for its root (cgroup_namespaces(7)).
		{name: "join v1 cgroup then new cgroup ns", root: true, buf: func() []byte {
			return (&Bootstrap{CloneFlags: unix.CLONE_NEWCGROUP, CgroupTasks: []string{v1Cgroup(t, "ns") + "/tasks"}}).Encode(nil)
		}, newNs: []string{"cgroup"}, wantCgroup: "pids:/"},
		{name: "join missing cgroup", buf: func() []byte {
			return (&Bootstrap{CgroupTasks: []string{"/nonexistent/tasks"}}).Encode(nil)
		}, wantErr: "nsenter: join cgroup: open /nonexistent/tasks: No such file or directory"},
		{name: "join missing path", buf: func() []byte {
			return (&Bootstrap{Join: []NsPath{{Type: unix.CLONE_NEWUTS, Path: "/nonexistent/ns"}}}).Encode(nil)
		}, wantErr: "nsenter: open uts namespace /nonexistent/ns: No such file or directory"},
		{name: "join wrong type", root: true, buf: func() []byte {
			pid := target.Process.Pid
			return (&Bootstrap{Join: []NsPath{{Type: unix.CLONE_NEWNET, Path: fmt.Sprintf("/proc/%d/ns/uts", pid)}}}).Encode(nil)
		}, wantErr: "nsenter: setns network namespace"},
		{name: "unknown record", buf: func() []byte { return append(frame(9, 0, nil), frame(recEnd, 0, nil)...) },
			wantErr: "nsenter: unknown record type 9"},
		{name: "record too long", buf: func() []byte {
			return (&Bootstrap{Join: []NsPath{{Type: unix.CLONE_NEWUTS, Path: "/" + strings.Repeat("a", maxConstructorPayload)}}}).Encode(nil)
		}, wantErr: "nsenter: record 2: Argument list too long"},
		{name: "short clone flags record", buf: func() []byte {
			return append(frame(recCloneFlags, 2, []byte{0, 0}), frame(recEnd, 0, nil)...)
		}, wantErr: "nsenter: clone flags record"},
		{name: "empty namespace path record", buf: func() []byte {
			return append(frame(recNsPath, 4, []byte{0, 0, 0, 0}), frame(recEnd, 0, nil)...)
		}, wantErr: "nsenter: namespace path record"},
		{name: "truncated message", buf: func() []byte { return frame(recCloneFlags, 4, nil) },
			wantErr: "nsenter: read bootstrap message: Broken pipe"},
		{name: "not namespace flags", root: true, buf: func() []byte {
			// unshare(2) takes CLONE_VM, CLONE_FS and CLONE_FILES as no-ops, but not CLONE_PARENT.
			return (&Bootstrap{CloneFlags: unix.CLONE_PARENT}).Encode(nil)
		}, wantErr: "nsenter: unshare namespaces 0x8000: Invalid argument"},
		// time_namespaces(7): offsets can only be written before any process has entered the namespace.
		{name: "offsets without new time namespace", buf: func() []byte {
			return (&Bootstrap{TimeOffsets: "monotonic 1 0\n"}).Encode(nil)
		}, wantErr: "nsenter: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && !root {
				t.Skip("needs root for namespaces")
			}
			buf := tc.buf()
			if tc.wantErr != "" {
				// The parent stops writing once the child has failed: don't let a full socket block the test.
				buf = buf[:min(len(buf), 1<<15)]
			}
			msgs, exitErr := runConstructor(t, buf)
			if tc.wantErr != "" {
				if len(msgs) != 1 || msgs[0].typ != MsgError {
					t.Fatalf("messages %v, want one MsgError", msgs)
				}
				if got := string(msgs[0].payload); !strings.HasPrefix(got, tc.wantErr) {
					t.Errorf("error %q, want it to start with %q", got, tc.wantErr)
				}
				var ee *exec.ExitError
				if !errors.As(exitErr, &ee) || ee.ExitCode() != 1 {
					t.Errorf("bootstrap child ended with %v, want exit status 1", exitErr)
				}
				return
			}
			if exitErr != nil {
				t.Fatalf("bootstrap child: %v", exitErr)
			}
			// The bootstrap child's MsgPid and the cloned init's report race (runConstructor reads both);
			// rt's own init writes nothing before the parent, having read MsgPid, sends it its config.
			if len(msgs) == 2 && msgs[0].typ == msgHelperReport {
				msgs[0], msgs[1] = msgs[1], msgs[0]
			}
			if len(msgs) != 2 || msgs[0].typ != MsgPid || msgs[1].typ != msgHelperReport {
				t.Fatalf("messages %v, want MsgPid then the init's report", msgs)
			}
			report := parseReport(t, msgs[1].payload)
			if tc.wantPid1 {
				if report["self"] != "1" {
					t.Errorf("init pid %s in its namespace, want 1", report["self"])
				}
			} else if want := strconv.Itoa(int(binary.NativeEndian.Uint32(msgs[0].payload))); report["self"] != want {
				t.Errorf("init reports pid %s, MsgPid said %s", report["self"], want)
			}
			wantDump := tc.wantDump
			if wantDump == "" {
				wantDump = "1"
			}
			if tc.wantCgroup != "" && !slices.ContainsFunc(strings.Split(report["cgroups"], ";"), func(l string) bool {
				_, rest, _ := strings.Cut(l, ":") // "ID:controllers:path"
				return rest == tc.wantCgroup
			}) {
				t.Errorf("init's cgroups %q, want a line %q", report["cgroups"], tc.wantCgroup)
			}
			if report["dumpable"] != wantDump {
				t.Errorf("init dumpable %s, want %s", report["dumpable"], wantDump)
			}
			// The container's processes get their own session, as runc's init does.
			if report["sid"] != report["self"] {
				t.Errorf("init sid %s, pid %s: not a session leader", report["sid"], report["self"])
			}
			for _, ns := range helperNamespaces {
				want := own[ns]
				if tc.wantNs[ns] == "target" {
					want = targetNs(ns)
				}
				isNew := false
				for _, n := range tc.newNs {
					isNew = isNew || n == ns
				}
				if tc.wantPid1 && ns == "pid" {
					isNew = true // /proc/self/ns/pid shows the new one from inside
				}
				switch {
				case isNew && report[ns] == own[ns]:
					t.Errorf("%s namespace %s is still ours", ns, report[ns])
				case !isNew && report[ns] != want:
					t.Errorf("%s namespace %s, want %s", ns, report[ns], want)
				}
			}
		})
	}
}

// v1Cgroup makes a cgroup of the test's own, named after suffix, in the host's cgroup v1 pids hierarchy (skipping
// the test where there is none) and removes it once the test and the processes in it are done.
func v1Cgroup(t *testing.T, suffix string) string {
	t.Helper()
	const mnt = "/sys/fs/cgroup/pids"
	var fs unix.Statfs_t
	if err := unix.Statfs(mnt, &fs); err != nil || fs.Type != unix.CGROUP_SUPER_MAGIC {
		t.Skip("no cgroup v1 pids hierarchy at " + mnt)
	}
	dir := fmt.Sprintf("%s/rt-nsenter-test-%d-%s", mnt, os.Getpid(), suffix)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(dir); err != nil {
			t.Errorf("rmdir %s: %v", dir, err)
		}
	})
	return dir
}
