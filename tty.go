package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer"
)

// ttyRelay copies between rt's own stdio and the pty master of a foreground process with a terminal (run -t,
// exec -t), with rt's terminal in raw mode and window size changes passed on.
type ttyRelay struct {
	master  *os.File        // non-blocking, in the runtime's poller: never call its Fd, which makes it blocking
	current console.Console // rt's terminal, nil when stdin is not one
	done    chan struct{}   // closed when the output copy has ended; nil until start
}

// consoleFor decides where the pty master of a process with a terminal goes, with runc's rules: a detached process
// needs --console-socket; a socket without a terminal is refused; a foreground process gets a relay.
func consoleFor(terminal, detach bool, socket string) (func(*os.File) error, *ttyRelay, error) {
	switch {
	case !terminal && socket != "":
		return nil, nil, errors.New("--console-socket: only for a process with a terminal (process.terminal or --tty)")
	case !terminal:
		return nil, nil, nil
	case socket != "":
		// Dialled now, before anything is created, as runc does: a socket nobody listens on fails at once.
		conn, err := libcontainer.DialSocket("--console-socket", socket)
		if err != nil {
			return nil, nil, err
		}
		return func(master *os.File) error {
			defer master.Close()
			defer conn.Close()
			return libcontainer.SendConsole(conn, master)
		}, nil, nil
	case detach:
		return nil, nil, errors.New("process.terminal: a detached process's terminal needs --console-socket")
	}
	r := &ttyRelay{}
	return func(master *os.File) error {
		// The relayed output is what the process wrote, "\n" not turned into "\r\n": runc clears ONLCR on the
		// pty it relays too, and scripts capture `runc run` output (`out=$(runc run ID)`).
		if err := console.ClearONLCR(master.Fd()); err != nil {
			master.Close()
			return fmt.Errorf("process.terminal: clear ONLCR: %w", err)
		}
		// A non-blocking copy in the poller: the copy's reads wait there, so stop can end the wait (a read
		// deadline), and the reads after it find EAGAIN rather than block. Blocking reads after a poll could sleep
		// for ever in a survivor's silence: a ^C (or tcflush) on the slave empties the master between the two.
		fd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		master.Close()
		if err != nil {
			return fmt.Errorf("process.terminal: %w", os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err))
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return fmt.Errorf("process.terminal: %w", os.NewSyscallError("fcntl F_SETFL", err))
		}
		// Non-blocking, so os.NewFile puts it in the poller; a file outside it takes no deadline, and stop could
		// not end its reads.
		r.master = os.NewFile(uintptr(fd), "/dev/ptmx")
		if err := r.master.SetReadDeadline(time.Time{}); err != nil {
			r.master.Close()
			r.master = nil
			return fmt.Errorf("process.terminal: relay the pty: %w", err)
		}
		return nil
	}, r, nil
}

// start puts rt's terminal in raw mode and starts copying; the process's output goes on until it closes the pty.
func (r *ttyRelay) start() {
	if r == nil || r.master == nil {
		return
	}
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		if err := cur.SetRaw(); err == nil {
			r.current = cur
			r.resize()
		}
	}
	go func() { _, _ = io.Copy(r.master, os.Stdin) }()
	r.done = make(chan struct{})
	go r.copyOut()
}

// copyOut copies the process's output to rt's stdout until the pty has nothing more to give: every slave fd is
// closed and the pty is empty (read fails with EIO), or the process has exited (stop) and a read finds nothing
// (EAGAIN), as runc's copy ends (its read that finds EAGAIN or EIO after tty.Close). A surviving child that still
// holds the slave (no pid namespace, exec) cannot keep rt waiting, and a write to stdout waits as long as rt's
// caller does: what the process wrote before it exited is never cut off.
func (r *ttyRelay) copyOut() {
	defer close(r.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.master.Read(buf) // waits in the poller until there is output, EIO or stop's deadline
		if n > 0 {
			if _, err := os.Stdout.Write(buf[:n]); err != nil {
				return
			}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return // EIO: the last slave fd is closed and the pty empty
		}
	}
	// The process has exited: what it wrote is in the pty (a read of a pty waits for the tty's buffer work, n_tty_read
	// flushes it first), so the first read that finds nothing ends its output. Past the deadline, reads go through
	// Control, which the deadline does not refuse.
	rc, err := r.master.SyscallConn()
	if err != nil {
		return
	}
	for {
		var n int
		var rerr error
		if err := rc.Control(func(fd uintptr) { n, rerr = unix.Read(int(fd), buf) }); err != nil {
			return
		}
		if n > 0 {
			if _, err := os.Stdout.Write(buf[:n]); err != nil {
				return
			}
		}
		if rerr != nil && rerr != unix.EINTR || n == 0 && rerr == nil {
			return // EAGAIN: nothing left; EIO: the last slave fd is closed and the pty empty
		}
	}
}

// resize gives the pty the size of rt's terminal (on start and on SIGWINCH).
func (r *ttyRelay) resize() {
	if r == nil || r.current == nil || r.master == nil {
		return
	}
	ws, err := r.current.Size()
	if err != nil {
		return
	}
	// By the raw fd: console.ConsoleFromFile would call Fd, which makes the master blocking.
	if rc, err := r.master.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Height, Col: ws.Width})
		})
	}
}

// stop, once the process has exited, waits for the copy to pass on what is left of its output, then restores rt's
// terminal.
func (r *ttyRelay) stop() {
	if r == nil || r.master == nil {
		return
	}
	if r.done != nil {
		// Ends the copy's wait in the poller, not a read or write under way: copyOut then reads what is left.
		_ = r.master.SetReadDeadline(time.Now())
		<-r.done
	}
	r.master.Close()
	if r.current != nil {
		_ = r.current.Reset()
	}
}
