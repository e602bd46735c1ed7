package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/console"

	"github.com/rt-runtime/rt/libcontainer"
)

// ttyRelay copies between rt's own stdio and the pty master of a foreground process with a terminal (run -t,
// exec -t), with rt's terminal in raw mode and window size changes passed on.
type ttyRelay struct {
	master  *os.File
	current console.Console // rt's terminal, nil when stdin is not one
	done    chan struct{}   // closed when the output side has drained
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
	r := &ttyRelay{done: make(chan struct{})}
	return func(master *os.File) error {
		// The relayed output is what the process wrote, "\n" not turned into "\r\n": runc clears ONLCR on the
		// pty it relays too, and scripts capture `runc run` output (`out=$(runc run ID)`).
		if err := console.ClearONLCR(master.Fd()); err != nil {
			master.Close()
			return fmt.Errorf("process.terminal: clear ONLCR: %w", err)
		}
		r.master = master
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
	go func() {
		_, _ = io.Copy(os.Stdout, r.master) // ends with EIO once every slave fd is closed
		close(r.done)
	}()
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

// stop waits for the output to drain, then restores rt's terminal. A process that left the pty open in a
// surviving child (no pid namespace, --keep) is given a moment, not forever.
func (r *ttyRelay) stop() {
	if r == nil || r.master == nil {
		return
	}
	select {
	case <-r.done:
	case <-time.After(time.Second):
	}
	r.master.Close()
	if r.current != nil {
		_ = r.current.Reset()
	}
}
