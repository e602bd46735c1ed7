package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// agent is a minimal seccomp agent: it takes one connection, receives the
// container process state and the notify fd as config-linux.md describes,
// then answers one notification with resp.
func agent(l *net.UnixListener, resp libseccomp.ScmpNotifResp) (*specs.ContainerProcessState, *libseccomp.ScmpNotifReq, error) {
	conn, err := l.AcceptUnix()
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = conn.Close() }()
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, err
	}
	// The runtime closes the connection after one state (config-linux.md).
	rest, err := io.ReadAll(conn)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, nil, fmt.Errorf("want one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, nil, fmt.Errorf("want one fd, got %d (%v)", len(fds), err)
	}
	fd := libseccomp.ScmpFd(fds[0])
	// Closing the fd fails a pending notified syscall with ENOSYS, so an
	// agent error never leaves the helper blocked.
	defer func() { _ = unix.Close(fds[0]) }()
	var st specs.ContainerProcessState
	if err := json.Unmarshal(append(buf[:n], rest...), &st); err != nil {
		return nil, nil, err
	}
	req, err := libseccomp.NotifReceive(fd)
	if err != nil {
		return &st, nil, err
	}
	resp.ID = req.ID
	return &st, req, libseccomp.NotifRespond(fd, &resp)
}

func TestNotify(t *testing.T) {
	if api, _ := libseccomp.GetAPI(); api < notifyAPI {
		t.Skipf("libseccomp API level %d has no usable SCMP_ACT_NOTIFY", api)
	}
	mkdirat, err := libseccomp.GetSyscallFromName("mkdirat")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		resp    libseccomp.ScmpNotifResp
		want    string // the helper's mkdir line
		created bool
	}{
		{"agent fails the call", libseccomp.ScmpNotifResp{Error: int32(syscall.EXDEV)}, "mkdir errno=18", false},
		{"agent fakes success", libseccomp.ScmpNotifResp{Val: 0}, "mkdir errno=0", false},
		{"agent lets the call run", libseccomp.ScmpNotifResp{Flags: libseccomp.NotifRespFlagContinue}, "mkdir errno=0", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			sock := filepath.Join(tmp, "agent.sock")
			dir := filepath.Join(tmp, "d")
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			type result struct {
				st  *specs.ContainerProcessState
				req *libseccomp.ScmpNotifReq
				err error
			}
			done := make(chan result, 1)
			go func() {
				st, req, err := agent(l, tc.resp)
				done <- result{st, req, err}
			}()
			p := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock, ListenerMetadata: "meta",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdirat", "mkdir"}, Action: specs.ActNotify}}}
			res := runHelper(t, helperRequest{Profile: p, Listener: sock, Metadata: p.ListenerMetadata, Mkdir: dir})
			if want := []string{"notifyfd true", tc.want}; !slices.Equal(lines(res.stdout), want) {
				t.Errorf("helper printed %q, want %q (stderr %q)", lines(res.stdout), want, res.stderr)
			}
			r := <-done
			if r.err != nil {
				t.Fatalf("agent: %v", r.err)
			}
			if r.st.Version != specs.Version || !slices.Equal(r.st.Fds, []string{specs.SeccompFdName}) ||
				r.st.Metadata != "meta" || r.st.Pid == 0 || r.st.State.ID != "test" {
				t.Errorf("container process state %+v", r.st)
			}
			if r.req.Data.Syscall != mkdirat || int(r.req.Pid) != r.st.Pid {
				t.Errorf("notification %+v, want mkdirat from pid %d", r.req, r.st.Pid)
			}
			_, err = os.Stat(dir)
			if created := err == nil; created != tc.created {
				t.Errorf("%s created = %t, want %t", dir, created, tc.created)
			}
		})
	}
}

func TestSendNotifyFdErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"no listener", filepath.Join(t.TempDir(), "missing.sock")},
		{"not a socket", os.Args[0]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := SendNotifyFd(tc.path, int(os.Stdin.Fd()), &specs.ContainerProcessState{})
			var opErr *net.OpError
			if !errors.As(err, &opErr) {
				t.Errorf("got %v, want a *net.OpError", err)
			}
		})
	}
}
