package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/nsenter"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		ws   unix.WaitStatus
		want int
	}{
		{name: "success", ws: 0, want: 0},
		{name: "exit 3", ws: 3 << 8, want: 3},
		{name: "exit 255", ws: 255 << 8, want: 255},
		{name: "killed", ws: unix.WaitStatus(unix.SIGKILL), want: 137},
		{name: "terminated", ws: unix.WaitStatus(unix.SIGTERM), want: 143},
		{name: "killed with core", ws: unix.WaitStatus(unix.SIGSEGV) | 0x80, want: 139},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.ws); got != tc.want {
				t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tc.ws), got, tc.want)
			}
		})
	}
}

// TestBootstrapChildWait: the bootstrap child's end reads as os/exec's ProcessState says it ("exit status 1",
// "signal: killed"), which rt's errors carry ("container init bootstrap: exit status 1").
func TestBootstrapChildWait(t *testing.T) {
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want string // "" for no error
	}{
		{name: "success", ws: 0},
		{name: "exit 1", ws: 1 << 8, want: "exit status 1"},
		{name: "killed", ws: syscall.WaitStatus(syscall.SIGKILL), want: "signal: killed"},
		{name: "core", ws: syscall.WaitStatus(syscall.SIGSEGV) | 0x80, want: "signal: segmentation fault (core dumped)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &bootstrapChild{pid: -1, ws: tc.ws, waited: true}
			err := b.wait()
			if got := fmt.Sprint(err); (err == nil) != (tc.want == "") || err != nil && got != tc.want {
				t.Errorf("wait() = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("reaped", func(t *testing.T) {
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "kill -9 $$"}, &syscall.ProcAttr{})
		if err != nil {
			t.Fatal(err)
		}
		b := &bootstrapChild{pid: pid}
		if err := b.wait(); fmt.Sprint(err) != "signal: killed" {
			t.Errorf("wait() = %v, want signal: killed", err)
		}
		// Reaped: a second wait answers from the first.
		if err := b.wait(); fmt.Sprint(err) != "signal: killed" {
			t.Errorf("second wait() = %v, want signal: killed", err)
		}
	})
}

// TestSendBootstrapClosesExe: the sealed binary stays open until the records are sent, and sendBootstrap closes it
// then, so that its close (an RCU grace period for a detached mount) overlaps with the child's namespace work.
func TestSendBootstrapClosesExe(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(os.NewSyscallError("socketpair", err))
	}
	sock, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer sock.Close()
	defer child.Close()
	exe, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// No child: nothing here may signal or wait for a pid (bootstrapChild.kill of a made-up pid would be kill(2) of
	// that pid, or of every process for -1), so no abort either.
	p := &parentProcess{sock: sock, exe: exe}
	if err := p.sendBootstrap(&nsenter.Bootstrap{}); err != nil {
		t.Fatal(err)
	}
	if p.exe != nil {
		t.Errorf("exe still held after sendBootstrap")
	}
	if _, err := exe.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("exe after sendBootstrap: Stat = %v, want it closed", err)
	}
	p.closeExe() // a second close (abort's after a failed send) is a no-op
}
