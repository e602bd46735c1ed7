package integration

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func killPid(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}

// TestKillSignals: kill takes a signal as a name, a SIG-prefixed name or a number, and TERM by default; the
// container's init (the probe, which prints what it gets) receives it.
func TestKillSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string // after the id
		want string
	}{
		{name: "default TERM", args: nil, want: "SIGTERM"},
		{name: "name", args: []string{"USR1"}, want: "SIGUSR1"},
		{name: "SIG name", args: []string{"SIGUSR2"}, want: "SIGUSR2"},
		{name: "number", args: []string{"1"}, want: "SIGHUP"},
		{name: "lower case", args: []string{"hup"}, want: "SIGHUP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, out := runDetached(t, bundle(t, withArgs("/probe", "signals", "0")))
			waitOutput(t, out, "ready\n")
			mustRT(t, append([]string{"kill", id}, tc.args...)...)
			waitOutput(t, out, "got "+tc.want+"\n")
		})
	}
}

// TestFlagsAfterID: flags may follow the container id, as runc's urfave/cli v1 reorders them: `kill ID 9 --all`,
// `delete ID --force`. (A flag right after the id followed by a bare argument,
// `kill ID --all 9`, is ambiguous in runc 1.1.5, which takes 9 as the id, so the unambiguous forms are used.)
func TestFlagsAfterID(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	tests := []struct {
		name string
		args func(id string) []string
		want string // the status after, "" for deleted
	}{
		{name: "kill ID 9 --all", args: func(id string) []string { return []string{"kill", id, "9", "--all"} }, want: "stopped"},
		{name: "delete ID --force", args: func(id string) []string { return []string{"delete", id, "--force"} }, want: ""},
		{name: "delete ID -f", args: func(id string) []string { return []string{"delete", id, "-f"} }, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, _ := runDetached(t, b)
			mustRT(t, tc.args(id)...)
			waitFor(t, "status "+tc.want, func() bool { return status(t, id) == tc.want })
			if tc.want == "" {
				assertNoLeak(t, stateRoot(t), id, b)
			}
		})
	}
}

// TestKillAll: kill --all KILL stops every process of the container, not just init.
func TestKillAll(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("sh", "-c", "sleep 100000 & sleep 100000 & echo ready; wait"))
	id, out := runDetached(t, b)
	waitOutput(t, out, "ready\n")
	r := mustRT(t, "ps", "-f", "json", id)
	var pids []int
	decode(t, r.Stdout, &pids)
	if len(pids) != 3 {
		t.Fatalf("ps: %v, want 3 processes", pids)
	}
	mustRT(t, "kill", "--all", id, "KILL")
	waitStatus(t, id, "stopped")
	for _, pid := range pids {
		waitFor(t, "process to die", func() bool { return !processAlive(pid) || isZombie(pid) })
	}
}

// TestKillErrors: a bad signal name, or a container that is not running, is exit 1 with one line.
func TestKillErrors(t *testing.T) {
	t.Parallel()
	id, out := runDetached(t, bundle(t, withArgs("/probe", "signals", "0")))
	waitOutput(t, out, "ready\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "bad signal name", args: []string{"kill", id, "NOSUCHSIG"}, want: "NOSUCHSIG"},
		{name: "bad signal number", args: []string{"kill", id, "99"}, want: "99"},
		{name: "unknown id", args: []string{"kill", "nosuch-" + id}, want: "nosuch-" + id},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rt(t, tc.args...)
			if r.Code != 1 {
				t.Errorf("%v: %v, want exit 1", tc.args, r)
			}
			oneLine(t, r, tc.want)
		})
	}
	if got := status(t, id); got != "running" {
		t.Errorf("container after bad kills: %q, want running", got)
	}
	if got := readFile(out); strings.Contains(got, "got ") {
		t.Errorf("bad kills reached the container: %q", got)
	}
}

// isZombie reports whether pid has exited but is not yet reaped (state Z in /proc/PID/stat).
func isZombie(pid int) bool {
	b := readFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := strings.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] == 'Z'
}

// TestKillExited: signalling or pausing a container whose process has exited fails with runc's exact text,
// "container not running", which containerd's runc shim matches to treat the stop as done (its checkKillError);
// kill --all of it succeeds, as runc's does; and once it is deleted, kill and delete say runc's "does not exist".
func TestKillExited(t *testing.T) {
	t.Parallel()
	b := bundle(t, withArgs("true"))
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	mustRT(t, "start", id)
	waitStatus(t, id, "stopped")
	for _, args := range [][]string{{"kill", id, "KILL"}, {"kill", id}, {"pause", id}} {
		r := rt(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "container not running") {
			t.Errorf("%v: %v, want exit 1 and \"container not running\"", args, r)
		}
	}
	for _, sig := range []string{"TERM", "KILL"} {
		if r := rt(t, "kill", "--all", id, sig); r.Code != 0 {
			t.Errorf("kill --all %s of a stopped container: %v, want exit 0", sig, r)
		}
	}
	mustRT(t, "delete", id)
	// The shim also takes "does not exist" from delete as "already gone" (Init.delete).
	for _, args := range [][]string{{"kill", id, "KILL"}, {"delete", id}} {
		if r := rt(t, args...); r.Code != 1 || !strings.Contains(r.Stderr, "does not exist") {
			t.Errorf("%v of a deleted container: %v, want exit 1 and \"does not exist\"", args, r)
		}
	}
	assertNoLeak(t, stateRoot(t), id, b)
}
