package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSigRelay runs sigRelayHelper in a child (the handlers last until the process exits, so not in the test
// binary itself) and checks what it reports.
func TestSigRelay(t *testing.T) {
	tests := []struct {
		name string
		want string
		exit int // the helper's exit status; when not 0, want is the start of its stderr
	}{
		// Signals sent by a process are relayed, SIGWINCH, a real-time one and a synchronous one among them.
		{name: "sent", want: "got SIGUSR1 SIGSEGV SIGCHLD SIGWINCH SIGRTMIN+3"},
		// A fault is still the Go runtime's: a nil dereference panics and can be recovered.
		{name: "fault", want: "recovered: runtime error: invalid memory address or nil pointer dereference"},
		// A write to a broken stdout fails with EPIPE and does not kill rt (runtime.sigpipe); SIGPIPE is relayed.
		{name: "sigpipe", want: "EPIPE, got SIGPIPE"},
		// A signal rt raises at itself is the runtime's (its crash with GOTRACEBACK=crash raises SIGABRT), not
		// relayed to the container: the runtime's handler dies of it, printing its name, exit status 2.
		{name: "raise", want: "SIGABRT: abort", exit: 2},
		// What os/signal's Notify of every signal leaves alone stays so: 34 (glibc's SIGRTMIN, musl's SIGSYNCCALL)
		// keeps its default action, as in runc; SIGUSR1 and SIGRTMIN+1 (35) are caught.
		{name: "caught", want: "SIGUSR1 caught, 34 not caught, 35 caught"},
		// A second relay in one process is refused: it would take the first relay's handler for the runtime's.
		{name: "twice", want: "sigaction: device or resource busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSigRelayHelper$")
			cmd.Env = append(os.Environ(), "RT_SIGRELAY_HELPER="+tc.name)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if tc.name == "sigpipe" {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				r.Close()
				defer w.Close()
				cmd.Stdout = w
			}
			err := cmd.Run()
			got := strings.TrimSpace(stderr.String())
			if tc.exit != 0 {
				if cmd.ProcessState.ExitCode() != tc.exit || !strings.HasPrefix(got, tc.want) {
					t.Errorf("helper: %v, stderr %q, want exit status %d and a stderr starting %q", err, got, tc.exit, tc.want)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("helper: %v, stderr %q, want %q", err, got, tc.want)
			}
		})
	}
}

// TestSigRelayHelper is sigRelayHelper when TestSigRelay runs it, and nothing otherwise.
func TestSigRelayHelper(t *testing.T) {
	mode := os.Getenv("RT_SIGRELAY_HELPER")
	if mode == "" {
		t.Skip("run by TestSigRelay in a child")
	}
	fmt.Fprintln(os.Stderr, sigRelayHelper(mode))
	os.Exit(0)
}

func sigRelayHelper(mode string) string {
	relay, err := catchSignals()
	if err != nil {
		return err.Error()
	}
	switch mode {
	case "sent":
		sent := []unix.Signal{unix.SIGCHLD, unix.SIGUSR1, unix.SIGSEGV, unix.SIGWINCH, unix.Signal(37)}
		for _, s := range sent {
			if err := unix.Kill(os.Getpid(), s); err != nil {
				return err.Error()
			}
		}
		return "got " + strings.Join(relayed(relay, len(sent)), " ")
	case "fault":
		return recoverFault()
	case "raise":
		// Locked, so that the signal is delivered to this thread before tgkill(2) returns.
		runtime.LockOSThread()
		if err := unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGABRT); err != nil {
			return err.Error()
		}
		return "SIGABRT raised, and rt lived on"
	case "caught":
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return err.Error()
		}
		_, cgt, _ := strings.Cut(string(status), "SigCgt:\t")
		mask, err := strconv.ParseUint(strings.Fields(cgt)[0], 16, 64)
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, s := range []unix.Signal{unix.SIGUSR1, 34, 35} {
			name := unix.SignalName(s)
			if name == "" {
				name = strconv.Itoa(int(s))
			}
			if mask&(1<<(s-1)) == 0 {
				name += " not"
			}
			out = append(out, name+" caught")
		}
		return strings.Join(out, ", ")
	case "twice":
		if _, err := catchSignals(); err != nil {
			return err.Error()
		}
		return "a second relay set"
	case "sigpipe":
		_, err := os.Stdout.WriteString("x")
		if !errors.Is(err, unix.EPIPE) {
			return fmt.Sprintf("write to a broken stdout: %v, want EPIPE", err)
		}
		return "EPIPE, got " + strings.Join(relayed(relay, 1), " ")
	}
	return "unknown mode " + mode
}

// relayed reads n signals from relay and names them in numerical order (the kernel delivers pending ones by
// number, not in the order sent).
func relayed(relay *sigRelay, n int) []string {
	var got []int
	var buf [64]byte
	for len(got) < n {
		sigs, err := relay.next(buf[:])
		if err != nil {
			return []string{err.Error()}
		}
		for _, b := range sigs {
			got = append(got, int(b))
		}
	}
	slices.Sort(got)
	names := make([]string, len(got))
	for i, s := range got {
		names[i] = unix.SignalName(unix.Signal(s))
		if s >= 34 {
			names[i] = fmt.Sprintf("SIGRTMIN+%d", s-34)
		}
	}
	return names
}

func recoverFault() (msg string) {
	defer func() { msg = fmt.Sprint("recovered: ", recover()) }()
	var p *int
	*p = 1 //nolint:staticcheck // the fault is the point
	return "no fault"
}
