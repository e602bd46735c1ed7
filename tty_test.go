package main

import (
	"io"
	"os"
	"testing"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// TestTTYRelayStop: the relay passes on what the process wrote before stop, and stop returns though a survivor
// holds the slave and writes nothing more, also when the survivor's tcflush empties the master under the copy (the
// copy's reads are non-blocking: a blocking read that a flush caught after its poll waited for the survivor's next
// output, for ever; the window is too narrow to hit at will, so this case guards the non-blocking path only).
func TestTTYRelayStop(t *testing.T) {
	for _, flush := range []bool{false, true} {
		master, slavePath, err := console.NewPty()
		if err != nil {
			t.Skipf("no pty: %v", err)
		}
		slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		toConsole, r, err := consoleFor(true, false, "")
		if err != nil {
			t.Fatal(err)
		}
		dup, err := unix.Dup(int(master.Fd())) // the relay takes and closes its own
		if err != nil {
			t.Fatal(err)
		}
		if err := toConsole(os.NewFile(uintptr(dup), "ptmx")); err != nil {
			t.Fatal(err)
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		stdin, stdout := os.Stdin, os.Stdout
		os.Stdin, os.Stdout = nil, pw // nil: no stdin copy's reads, no raw mode
		r.done = make(chan struct{})
		go r.copyOut()
		if _, err := slave.WriteString("before exit"); err != nil {
			t.Fatal(err)
		}
		if flush {
			// The flush empties the master's input whenever it comes: before, during or after the copy's read.
			if err := unix.IoctlSetInt(int(slave.Fd()), unix.TCFLSH, unix.TCOFLUSH); err != nil {
				t.Fatal(err)
			}
		}
		r.stop() // the survivor (slave) is still open: must return
		os.Stdin, os.Stdout = stdin, stdout
		pw.Close()
		got, _ := io.ReadAll(pr)
		if !flush && string(got) != "before exit" {
			t.Errorf("relayed %q, want %q", got, "before exit")
		}
		slave.Close()
		master.Close()
		pr.Close()
	}
}
