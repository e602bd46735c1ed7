package libcontainer

import (
	"fmt"
	"os"

	"github.com/containerd/console"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupConsole gives the process a terminal (process.terminal): a pty from the container's own devpts, its slave as
// stdio and controlling terminal, bound over /dev/console for a container's init. The master goes to the parent
// over the init socket (syncConsole), which hands it to the
// --console-socket or relays it itself. The nsenter constructor has made the process a session leader already.
func setupConsole(p *specs.Process, sock *os.File, devConsole bool) error {
	master, slavePath, err := console.NewPty()
	if err != nil {
		return fmt.Errorf("process.terminal: open /dev/ptmx in the container: %w", err)
	}
	defer master.Close()
	if cs := p.ConsoleSize; cs != nil {
		if err := master.Resize(console.WinSize{Height: uint16(cs.Height), Width: uint16(cs.Width)}); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	// The peer of this master, not whatever slavePath names: a container that mounted a devpts of its own could
	// put another pty there (TIOCGPTPEER, Linux 4.13, as runc opens it).
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return fmt.Errorf("process.terminal: open the peer of %s: %w", slavePath, os.NewSyscallError("ioctl TIOCGPTPEER", errno))
	}
	slave := int(r)
	defer unix.Close(slave)
	// The terminal belongs to the process's user, as a login terminal would; its group stays the one devpts gave
	// it (the mount's gid= option, tty in every default config), which runc leaves too (fixStdioPermissions).
	if err := unix.Fchown(slave, int(p.User.UID), -1); err != nil {
		return fmt.Errorf("process.terminal: %w", os.NewSyscallError("fchown", err))
	}
	if devConsole {
		if err := mountConsole(slave, slavePath); err != nil {
			return err
		}
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("process.terminal: %w", os.NewSyscallError("dup3", err))
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("process.terminal: %w", os.NewSyscallError("ioctl TIOCSCTTY", err))
	}
	if err := send(sock, syncConsole, nil, master); err != nil {
		return fmt.Errorf("send fd to parent: %w", err)
	}
	return nil
}

// mountConsole binds the pty slave over /dev/console (created empty if missing) in the container's /dev, by fd on
// both sides (CVE-2025-52565): the source is the slave rt opened and checked to be a pty, the target an O_PATH
// handle on /dev/console that no symlink led to.
func mountConsole(slave int, slavePath string) error {
	var st unix.Stat_t
	if err := unix.Fstat(slave, &st); err != nil {
		return fmt.Errorf("process.terminal: %w", os.NewSyscallError("fstat", err))
	}
	// Unix98 pty slaves are char devices with majors 136-143 (Documentation/admin-guide/devices.txt).
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) < 136 || unix.Major(st.Rdev) > 143 {
		return fmt.Errorf("process.terminal: %s is not a pty slave", slavePath)
	}
	fd, err := unix.Open("/dev/console", unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("process.terminal: %w", &os.PathError{Op: "create", Path: "/dev/console", Err: err})
	}
	unix.Close(fd)
	target, err := unix.Open("/dev/console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("process.terminal: %w", &os.PathError{Op: "open", Path: "/dev/console", Err: err})
	}
	defer unix.Close(target)
	tree, err := unix.OpenTree(slave, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("process.terminal: bind %s: %w", slavePath, os.NewSyscallError("open_tree", err))
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("process.terminal: mount %s on /dev/console: %w", slavePath, os.NewSyscallError("move_mount", err))
	}
	return nil
}

// DialSocket connects to the unix socket at path for --console-socket or --pidfd-socket (flag names it in errors).
// The connect does not block, as runc's net.Dial: a listener whose queue is full (one that never accepts) fails
// the command at once instead of hanging it. The connection is blocking once made.
func DialSocket(flag, path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, os.NewSyscallError("socket", err))
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %s: %w", flag, path, os.NewSyscallError("connect", err))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %s: %w", flag, path, os.NewSyscallError("fcntl", err))
	}
	return os.NewFile(uintptr(fd), path), nil
}

// SendConsole hands a pty master to the --console-socket connection: one SCM_RIGHTS message whose payload names
// the pty, as runc does ("/dev/pts/ptmx"); containerd's shim and conmon read exactly one such message.
func SendConsole(conn, master *os.File) error {
	if err := unix.Sendmsg(int(conn.Fd()), []byte("/dev/pts/ptmx"), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		return fmt.Errorf("--console-socket %s: %w", conn.Name(), os.NewSyscallError("sendmsg", err))
	}
	return nil
}

// SendPidfd hands a pidfd of pid, rt's own unreaped child (so the pid names no other process), to the
// --pidfd-socket connection: one SCM_RIGHTS message whose payload is role, "standard" for a container's init and
// "setns" for an exec'd process, as runc's init sends it.
func SendPidfd(conn *os.File, pid int, role string) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: %w", os.NewSyscallError("pidfd_open", err))
	}
	defer unix.Close(pidfd)
	if err := unix.Sendmsg(int(conn.Fd()), []byte(role), unix.UnixRights(pidfd), nil, 0); err != nil {
		return fmt.Errorf("--pidfd-socket %s: %w", conn.Name(), os.NewSyscallError("sendmsg", err))
	}
	return nil
}
