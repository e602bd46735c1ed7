package integration

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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

// TestKillZero: `kill ID 0` sends no signal and succeeds while the init is alive (kill(2)'s existence check, which
// runc's bats suite uses to poll a container); once the container has stopped it fails.
func TestKillZero(t *testing.T) {
	t.Parallel()
	id, out := runDetached(t, bundle(t, withArgs("/probe", "signals", "0")))
	waitOutput(t, out, "ready\n")
	mustRT(t, "kill", id, "0")
	if got := status(t, id); got != "running" {
		t.Errorf("status after kill 0 = %q, want running", got)
	}
	if strings.Contains(readFile(out), "got ") {
		t.Errorf("kill 0 delivered a signal: %q", readFile(out))
	}
	mustRT(t, "kill", id, "KILL")
	waitStatus(t, id, "stopped")
	if r := rt(t, "kill", id, "0"); r.Code != 1 {
		t.Errorf("kill 0 of a stopped container: %v, want exit 1", r)
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

// TestKillHostPidnsInitGone: without a pid namespace of its own, a container's processes outlive its init. Once the
// init is gone (status stopped), `kill ID KILL` still kills them all through the cgroup, as runc's does, and
// `delete` leaves nothing.
func TestKillHostPidnsInitGone(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 says \"container not running\" once the init is gone")
	b := bundle(t, func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.PIDNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
		s.Process.Args = []string{"sh", "-c", "sleep 100000 >/dev/null 2>&1 & echo left $!"}
	})
	id := newID(t)
	cmd, out, errPath := rtBackground(t, "run", "-d", "--bundle", b, id)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, readFile(errPath))
	}
	waitFor(t, "the init to print its child and exit", func() bool {
		return strings.Contains(readFile(out), "left ") && status(t, id) == "stopped"
	})
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(readFile(out), "left ")))
	if err != nil {
		t.Fatalf("init output %q: %v", readFile(out), err)
	}
	if !processAlive(pid) {
		t.Fatalf("the init's child %d is not running", pid)
	}
	mustRT(t, "kill", id, "KILL")
	waitFor(t, "the leftover process killed", func() bool {
		reapOrphans()
		return !processAlive(pid)
	})
	mustRT(t, "delete", id)
	assertNoLeak(t, stateRoot(t), id, b)
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

// TestDeleteFrozen: a container whose freezer cgroup is frozen goes with delete, its processes killed (a v1 frozen
// task sleeps in the refrigerator, where SIGKILL cannot finish it until the cgroup is thawed) and nothing left.
// "paused": delete --force of a paused container, which has its own pid namespace. "paused, host pid namespace":
// a child the init left in the background, which the init's death does not take along. "stopped, frozen": the
// init is gone and its leftover child frozen (by hand, as a `delete -f` killed between its freeze and its thaw
// leaves it); a plain delete of the stopped container reaches the cgroup teardown with a frozen task in it, the
// path cgroups.Destroy thaws on (TestRealDestroyThawsFrozenLeftovers). The last two are deliberate differences.
func TestDeleteFrozen(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 refuses some of these states")
	hostPidns := func(args string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != specs.PIDNamespace {
					ns = append(ns, n)
				}
			}
			s.Linux.Namespaces = ns
			s.Process.Args = []string{"sh", "-c", args}
		}
	}
	// leftChild is the pid the container's init printed as "left PID".
	leftChild := func(t *testing.T, out string) int {
		t.Helper()
		waitFor(t, "the init to print its child", func() bool { return strings.Contains(readFile(out), "left ") })
		pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(readFile(out), "left ")))
		if err != nil {
			t.Fatalf("init output %q: %v", readFile(out), err)
		}
		return pid
	}
	freezerState := func(t *testing.T, id string) string {
		t.Helper()
		return cgroupFile(t, cgroupPaths(t, id), "freezer", "freezer.state")
	}
	gone := func(t *testing.T, what string, pid int) {
		t.Helper()
		waitFor(t, what+" killed", func() bool {
			reapOrphans()
			return !processAlive(pid) || isZombie(pid)
		})
	}

	t.Run("paused", func(t *testing.T) {
		t.Parallel()
		b := bundle(t, sleeper)
		id, _ := runDetached(t, b)
		pid := state(t, id).Pid
		mustRT(t, "pause", id)
		waitStatus(t, id, "paused")
		mustRT(t, "delete", "--force", id)
		gone(t, "the paused init", pid)
		assertNoLeak(t, stateRoot(t), id, b)
	})
	t.Run("paused, host pid namespace", func(t *testing.T) {
		t.Parallel()
		rtOnly(t, "runc 1.5.3 signals the frozen init without thawing: delete --force fails with "+
			"\"container init still running\" and leaves the processes frozen and the cgroups")
		b := bundle(t, hostPidns("sleep 100000 >/dev/null 2>&1 & echo left $!; exec sleep 100000"))
		id, out := runDetached(t, b)
		pid, child := state(t, id).Pid, leftChild(t, out)
		mustRT(t, "pause", id)
		waitStatus(t, id, "paused")
		mustRT(t, "delete", "--force", id)
		gone(t, "the paused init", pid)
		gone(t, "the paused init's child", child)
		assertNoLeak(t, stateRoot(t), id, b)
	})
	t.Run("stopped, frozen", func(t *testing.T) {
		t.Parallel()
		rtOnly(t, "runc 1.5.3 reports a container whose cgroup is frozen as paused though its init is gone, and "+
			"refuses a plain delete (\"cannot delete container ... that is not stopped: paused\")")
		b := bundle(t, hostPidns("sleep 100000 >/dev/null 2>&1 & echo left $!"))
		id := newID(t)
		cmd, out, errPath := rtBackground(t, "run", "-d", "--bundle", b, id)
		if code := waitExit(t, cmd); code != 0 {
			t.Fatalf("run -d: exit %d: %s", code, readFile(errPath))
		}
		child := leftChild(t, out)
		waitStatus(t, id, "stopped")
		paths := cgroupPaths(t, id)
		writeFile(t, filepath.Join(paths["freezer"], "freezer.state"), "FROZEN")
		waitFor(t, "the leftover child frozen", func() bool { return freezerState(t, id) == "FROZEN" })
		if r := rt(t, "delete", id); r.Code != 0 {
			// Thawed so that the child can die and the test's cleanup does not wait on it.
			writeFile(t, filepath.Join(paths["freezer"], "freezer.state"), "THAWED")
			t.Fatalf("delete of a stopped container with a frozen leftover: %v", r)
		}
		gone(t, "the frozen leftover", child)
		assertNoLeak(t, stateRoot(t), id, b)
	})
}
