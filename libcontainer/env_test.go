package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestProcessEnv(t *testing.T) {
	passwd := filepath.Join(t.TempDir(), "passwd")
	data := "root:x:0:0:root:/root:/bin/sh\n# a comment\n\nuser:x:1000:1000::/home/user:/bin/sh\nshort:x:1001\n"
	if err := os.WriteFile(passwd, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		uid  uint32
		want []string
	}{
		{"no env, root", nil, 0, []string{"HOME=/root"}},
		{"named user", []string{"PATH=/bin"}, 1000, []string{"PATH=/bin", "HOME=/home/user"}},
		{"unknown uid", []string{"PATH=/bin"}, 4242, []string{"PATH=/bin", "HOME=/"}},
		{"entry without a directory", nil, 1001, []string{"HOME="}},
		{"HOME kept", []string{"HOME=/whoo", "FOO=bar"}, 0, []string{"HOME=/whoo", "FOO=bar"}},
		{"last wins", []string{"A=a", "A=b", "A=c"}, 0, []string{"A=c", "HOME=/root"}},
		{
			"last wins, at its place",
			[]string{"TERM=vt100", "HOME=/home/one", "HOME=/home/two", "TERM=xterm", "HOME=/home/three", "FOO=bar"}, 0,
			[]string{"TERM=xterm", "HOME=/home/three", "FOO=bar"},
		},
		{"empty HOME then set", []string{"HOME=", "HOME=/foo"}, 0, []string{"HOME=/foo"}},
		{"empty HOME", []string{"HOME="}, 1000, []string{"HOME=/home/user"}},
		{"set HOME then empty", []string{"HOME=/foo", "HOME="}, 0, []string{"HOME=/root"}},
		{"value with =", []string{"A=b=c"}, 0, []string{"A=b=c", "HOME=/root"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := processEnv(tc.env, tc.uid, passwd)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range [][]string{{"NOEQUALS"}, {"=value"}, {"A=b\x00c"}} {
		if _, err := processEnv(bad, 0, passwd); err == nil {
			t.Errorf("processEnv(%q): no error", bad)
		}
	}
	if got, _ := processEnv(nil, 0, filepath.Join(t.TempDir(), "missing")); !slices.Equal(got, []string{"HOME=/"}) {
		t.Errorf("without a passwd file: %q, want HOME=/", got)
	}
	if got, _ := processEnv(nil, 0, t.TempDir()); !slices.Equal(got, []string{"HOME=/"}) {
		t.Errorf("passwd is a directory: %q, want HOME=/", got)
	}
}

// TestUserHomeLargeAndFifo: the home is found past the first read(2) of a large /etc/passwd, and a fifo there
// (opened non-blocking, never read) gives "/" without hanging the init.
func TestUserHomeLargeAndFifo(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "user%d:x:%d:%d::/home/user%d:/bin/sh\n", i, 2000+i, 2000+i, i)
	}
	b.WriteString("late:x:9999:9999::/home/late:/bin/sh\n") // past 128 KiB: several reads
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := userHome(passwd, 9999); got != "/home/late" {
		t.Errorf("userHome(9999) = %q, want /home/late", got)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// Without O_NONBLOCK the open(2) waits for a writer: fail after a while instead of hanging the test binary.
	done := make(chan string, 1)
	go func() { done <- userHome(fifo, 0) }()
	select {
	case got := <-done:
		if got != "/" {
			t.Errorf("userHome(fifo) = %q, want /", got)
		}
	case <-time.After(10 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			w.Close() // lets the blocked open return
		}
		t.Fatal("userHome(fifo) blocked in open(2)")
	}
}

// ttyHelperEnv makes the test binary run ttyHelper instead of the tests (TestUserHomeTerminal).
const ttyHelperEnv = "RT_TEST_USERHOME_TTY"

// ttyHelper, a session leader without a controlling terminal as the init is, reads a terminal as its passwd file
// and checks it has still no controlling terminal (/dev/tty: ENXIO).
func ttyHelper() error {
	if got := userHome(os.Getenv(ttyHelperEnv), 0); got != "/" {
		return fmt.Errorf("userHome(terminal) = %q, want /", got)
	}
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
		return errors.New("reading the passwd file made its terminal the controlling terminal")
	}
	if err != unix.ENXIO {
		return fmt.Errorf("open /dev/tty: %w", err)
	}
	return nil
}

// TestUserHomeTerminal: a container's /etc/passwd that leads to a terminal (a pty's slave here) gives "/" and
// does not become the init's controlling terminal.
func TestUserHomeTerminal(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=/dev/pts/%d", ttyHelperEnv, n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
