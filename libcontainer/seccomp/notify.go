package seccomp

import (
	"encoding/json"
	"fmt"
	"net"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SendNotifyFd hands the SCMP_ACT_NOTIFY listener fd to the seccomp agent
// listening on the AF_UNIX SOCK_STREAM socket at listenerPath: one new
// connection, the container process state as JSON with fd in the same
// SCM_RIGHTS message, then close (config-linux.md "listenerPath",
// "The Container Process State").
//
// The caller fills state (Pid, Metadata from listenerMetadata, State); Fds
// and Version are set here when empty: fd is the only one sent, as
// "seccompFd". fd stays open and owned by the caller. runc calls this from
// the parent, with the fd taken from init.
func SendNotifyFd(listenerPath string, fd int, state *specs.ContainerProcessState) (retErr error) {
	st := *state
	if st.Version == "" {
		st.Version = specs.Version
	}
	if st.Fds == nil {
		st.Fds = []string{specs.SeccompFdName}
	}
	b, err := json.Marshal(&st)
	if err != nil {
		return fmt.Errorf("encode seccomp container process state: %w", err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: listenerPath, Net: "unix"})
	if err != nil {
		// runc's words.
		return fmt.Errorf("failed to connect with seccomp agent specified in the seccomp profile: %w", err)
	}
	defer func() {
		if err := conn.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("close seccomp listener connection: %w", err)
		}
	}()
	n, _, err := conn.WriteMsgUnix(b, unix.UnixRights(fd), nil)
	if err != nil {
		return fmt.Errorf("send seccomp fd to %s: %w", listenerPath, err)
	}
	// A stream socket may take less; the rest goes without fds, as the spec allows.
	if n < len(b) {
		if _, err := conn.Write(b[n:]); err != nil {
			return fmt.Errorf("send seccomp state to %s: %w", listenerPath, err)
		}
	}
	return nil
}
