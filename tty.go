package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer"
)

// ttyRelay copies between rt's own stdio and the pty master of a foreground process with a terminal (run -t,
// exec -t), with rt's terminal in raw mode and window size changes passed on.
type ttyRelay struct {
	master  *os.File
	current console.Console // rt's terminal, nil when stdin is not one
	exited  int             // an eventfd that stop makes readable: the process has exited
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
		exited, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			master.Close()
			return fmt.Errorf("process.terminal: %w", os.NewSyscallError("eventfd", err))
		}
		r.master, r.exited = master, exited
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
// closed and the pty is empty (read fails with EIO), or the process has exited (stop) and nothing is left to read,
// as runc's copy ends (its read that finds EAGAIN or EIO after tty.Close). A surviving child that still holds the
// slave (no pid namespace, exec) cannot keep rt waiting, and a write to stdout waits as long as rt's caller does:
// what the process wrote before it exited is never cut off.
func (r *ttyRelay) copyOut() {
	defer close(r.done)
	master := int(r.master.Fd())
	fds := []unix.PollFd{{Fd: int32(master), Events: unix.POLLIN}, {Fd: int32(r.exited), Events: unix.POLLIN}}
	buf := make([]byte, 32<<10)
	for {
		// poll(2) of a pty waits for output still on its way to the reader (n_tty_poll flushes the tty's buffer
		// work first), so "nothing to read" once the process is gone is the end of its output.
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[0].Revents == 0 {
			return // woken by stop alone
		}
		n, err := unix.Read(master, buf)
		if n > 0 {
			if _, err := os.Stdout.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil && err != unix.EINTR || n == 0 && err == nil {
			return // EIO: the last slave fd is closed and the pty empty
		}
	}
}

// resize gives the pty the size of rt's terminal (on start and on SIGWINCH).
func (r *ttyRelay) resize() {
	if r == nil || r.current == nil || r.master == nil {
		return
	}
	if ws, err := r.current.Size(); err == nil {
		if m, err := console.ConsoleFromFile(r.master); err == nil {
			_ = m.Resize(ws)
		}
	}
}

// stop, once the process has exited, waits for the copy to pass on what is left of its output, then restores rt's
// terminal.
func (r *ttyRelay) stop() {
	if r == nil || r.master == nil {
		return
	}
	if r.done != nil {
		// Any non-zero 8-byte value makes the eventfd readable (eventfd(2)).
		_, _ = unix.Write(r.exited, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		<-r.done
	}
	unix.Close(r.exited)
	r.master.Close()
	if r.current != nil {
		_ = r.current.Reset()
	}
}
