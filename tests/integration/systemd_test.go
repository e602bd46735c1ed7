package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// There is no systemd here, so these tests do for each of the README's unit examples what systemd does with it
// (systemd.service(5)): run ExecStartPre, ExecStart (with NOTIFY_SOCKET for Type=notify), wait for readiness as
// the unit's Type defines it, then stop it as systemd would, run ExecStopPost, and check nothing is left.

// fallbackUnits are copies of the README's units, used only when README.md lacks the `<!-- unit: NAME -->`
// markers around them.
var fallbackUnits = map[string]string{
	"rt-notify.service": `[Service]
Type=notify
NotifyAccess=all
ExecStartPre=-/usr/local/bin/rt delete --force web
ExecStart=/usr/local/bin/rt run --bundle /srv/web web
ExecStopPost=/usr/local/bin/rt delete --force web
`,
	"rt-forking.service": `[Service]
Type=forking
PIDFile=/run/rt-web.pid
ExecStartPre=-/usr/local/bin/rt delete --force web
ExecStart=/usr/local/bin/rt run --detach --pid-file /run/rt-web.pid --bundle /srv/web web
ExecStop=/usr/local/bin/rt kill web TERM
ExecStopPost=/usr/local/bin/rt delete --force web
`,
}

// readmeUnit returns the [Service] settings of the unit file NAME from the README block between
// `<!-- unit: NAME -->` and `<!-- end unit -->` (or its fallback copy), each key with its values in order.
func readmeUnit(t *testing.T, name string) map[string][]string {
	t.Helper()
	text := fallbackUnits[name]
	readme := readFile(fromRepo("./README.md"))
	if _, rest, ok := strings.Cut(readme, "<!-- unit: "+name+" -->"); ok {
		block, _, ok := strings.Cut(rest, "<!-- end unit -->")
		if !ok {
			t.Fatalf("README.md: unit %s has no <!-- end unit --> marker", name)
		}
		text = block
	} else {
		t.Logf("README.md has no <!-- unit: %s --> block; using the test's copy", name)
	}
	if text == "" {
		t.Fatalf("no unit %s", name)
	}
	unit := map[string][]string{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "```"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		case section == "Service":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("unit %s: bad line %q", name, line)
			}
			unit[k] = append(unit[k], v)
		}
	}
	return unit
}

// unitCommand is one Exec*= line made runnable here: the README's /usr/local/bin/rt becomes the runtime under test
// with the test's --root, and the placeholders (bundle /srv/web, id web, the PIDFile) become the test's.
type unitCommand struct {
	args         []string
	ignoreFailed bool // the "-" prefix: a failure is not fatal (systemd.service(5), "Command lines")
}

func parseUnitCommand(t *testing.T, line string, subst map[string]string) unitCommand {
	t.Helper()
	var c unitCommand
	if rest, ok := strings.CutPrefix(line, "-"); ok {
		line, c.ignoreFailed = rest, true
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "/usr/local/bin/rt" {
		t.Fatalf("command %q does not run /usr/local/bin/rt", line)
	}
	c.args = []string{runtimeBin, "--root", stateRoot(t)}
	for _, a := range f[1:] {
		if v, ok := subst[a]; ok {
			a = v
		}
		c.args = append(c.args, a)
	}
	return c
}

// command makes the exec.Cmd of c, its output to a file under the test's base directory (a detached container
// keeps it open, so never a pipe), with extra environment.
func (c unitCommand) command(t *testing.T, env ...string) (*exec.Cmd, string) {
	t.Helper()
	out, err := os.CreateTemp(stateRootBase(t), "unit-out")
	if err != nil {
		t.Fatal(err)
	}
	// Open until the test ends: the command is started after this returns.
	t.Cleanup(func() { out.Close() })
	cmd := exec.Command(c.args[0], c.args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out.Name()
}

// run runs c to completion as systemd runs ExecStartPre/ExecStop/ExecStopPost lines: a failure fails the test
// unless the line had the "-" prefix.
func (c unitCommand) run(t *testing.T) {
	t.Helper()
	cmd, out := c.command(t)
	if err := startTracked(cmd); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 0 && !c.ignoreFailed {
		t.Fatalf("%v: exit %d: %s", c.args, code, readFile(out))
	}
}

// stateRootBase is the directory holding the test's --root and bundles.
func stateRootBase(t *testing.T) string {
	t.Helper()
	return env(t).base
}

// unitSubst is the placeholder substitution for the README's units.
func unitSubst(b, id, pidFile string) map[string]string {
	return map[string]string{"/srv/web": b, "web": id, "/run/rt-web.pid": pidFile}
}

// TestSystemdNotifyUnit runs the README's Type=notify unit: ExecStart (`rt run` in the foreground) with
// NOTIFY_SOCKET set to a datagram socket bound here, as systemd gives it; the service is started once READY=1
// arrives, and MAINPID= names the foreground runtime itself, as runc does. Stopping sends SIGTERM to that main
// process (as `systemctl stop` does with KillMode's first signal): it forwards it, exits, and removes the
// container, so ExecStopPost finds nothing to delete.
func TestSystemdNotifyUnit(t *testing.T) {
	t.Parallel()
	unit := readmeUnit(t, "rt-notify.service")
	if got := unit["Type"]; len(got) != 1 || got[0] != "notify" || len(unit["ExecStart"]) != 1 {
		t.Fatalf("unit rt-notify.service: Type %q ExecStart %q, want notify and one ExecStart", got, unit["ExecStart"])
	}
	b := bundle(t, withArgs("/probe", "notify", "READY=1"))
	id := newID(t)
	subst := unitSubst(b, id, "")

	sockPath := filepath.Join(t.TempDir(), "notify")
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(os.NewSyscallError("socket", err))
	}
	defer unix.Close(sock)
	if err := unix.Bind(sock, &unix.SockaddrUnix{Name: sockPath}); err != nil {
		t.Fatal(os.NewSyscallError("bind", err))
	}
	// A receive timeout, so a runtime that never reports readiness fails the test instead of hanging it.
	tv := unix.NsecToTimeval(cmdTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(os.NewSyscallError("setsockopt", err))
	}

	for _, line := range unit["ExecStartPre"] {
		parseUnitCommand(t, line, subst).run(t)
	}
	start, out := parseUnitCommand(t, unit["ExecStart"][0], subst).command(t, "NOTIFY_SOCKET="+sockPath)
	if err := startTracked(start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if start.ProcessState == nil {
			_ = start.Process.Kill()
			_ = waitTracked(start)
		}
	})

	// systemd reads every sd_notify(3) datagram for as long as the service runs: READY=1 and MAINPID=, in one
	// message or several (runc 1.1.5 sends two), and BARRIER=1 with a pipe fd that it answers by closing.
	msgs := make(chan map[string]string, 16)
	go func() {
		defer close(msgs)
		for {
			buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*4))
			n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, 0)
			if errors.Is(err, unix.EINTR) {
				continue // a signal to the test process (SIGCHLD, SIGURG): with SO_RCVTIMEO the call is not restarted
			}
			if err != nil || n == 0 {
				return // shut down at the end of the test, or the receive timeout
			}
			if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range cmsgs {
					fds, _ := unix.ParseUnixRights(&m)
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
			fields := map[string]string{}
			for _, kv := range strings.Split(string(buf[:n]), "\n") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					fields[k] = v
				}
			}
			select {
			case msgs <- fields:
			default: // nobody reads any more: the test has what it waited for
			}
		}
	}()
	// Shutdown wakes the blocked recvmsg (close alone would not).
	t.Cleanup(func() { _ = unix.Shutdown(sock, unix.SHUT_RDWR) })
	fields := map[string]string{}
	for fields["READY"] != "1" || fields["MAINPID"] == "" {
		m, ok := <-msgs
		if !ok {
			t.Fatalf("no READY=1 and MAINPID= on NOTIFY_SOCKET (got %v); ExecStart output: %s", fields, readFile(out))
		}
		for k, v := range m {
			fields[k] = v
		}
	}
	mainPid, err := strconv.Atoi(fields["MAINPID"])
	if err != nil {
		t.Fatalf("MAINPID=%q: %v", fields["MAINPID"], err)
	}
	// A foreground run stays the service's main process: it is systemd's child (so systemd gets its exit
	// status) and forwards the stop signal, so runc reports its own pid (runc signals.go forward:
	// notifySocket.run(os.Getpid()); only a detached run reports the init's).
	if mainPid != start.Process.Pid {
		t.Errorf("MAINPID=%d, want the foreground runtime's own pid %d (the container init is %d)",
			mainPid, start.Process.Pid, state(t, id).Pid)
	}
	initPid := state(t, id).Pid
	if !processAlive(initPid) {
		t.Errorf("the container init %d is not running after READY=1", initPid)
	}

	if err := start.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, start)
	if code == 0 || code == -1 {
		t.Errorf("rt run after SIGTERM: exit %d, want the container's non-zero status", code)
	}
	waitFor(t, "the container init to be gone", func() bool { return !processAlive(initPid) })
	if exists(filepath.Join(stateRoot(t), id)) {
		t.Errorf("rt run left its container %s after exiting: %s", id, readFile(out))
	}
	for _, line := range unit["ExecStopPost"] {
		parseUnitCommand(t, line, subst).run(t)
	}
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestSystemdForkingUnit runs the README's Type=forking unit: ExecStart (`rt run --detach --pid-file`) must exit 0
// with PIDFile holding the running container init's host pid, as systemd reads it after the start process exits;
// ExecStop stops the container, and ExecStopPost removes it.
func TestSystemdForkingUnit(t *testing.T) {
	t.Parallel()
	unit := readmeUnit(t, "rt-forking.service")
	if got := unit["Type"]; len(got) != 1 || got[0] != "forking" || len(unit["ExecStart"]) != 1 || len(unit["PIDFile"]) != 1 {
		t.Fatalf("unit rt-forking.service: Type %q ExecStart %q PIDFile %q, want forking, one ExecStart, one PIDFile",
			got, unit["ExecStart"], unit["PIDFile"])
	}
	// The workload handles SIGTERM (a pid 1 without a handler would ignore ExecStop's TERM).
	b := bundle(t, func(s *specs.Spec) { s.Process.Args = []string{"/probe", "signals", "0"} })
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "rt-web.pid")
	subst := unitSubst(b, id, pidFile)
	subst[unit["PIDFile"][0]] = pidFile

	for _, line := range unit["ExecStartPre"] {
		parseUnitCommand(t, line, subst).run(t)
	}
	start, out := parseUnitCommand(t, unit["ExecStart"][0], subst).command(t)
	if err := startTracked(start); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, start); code != 0 {
		t.Fatalf("ExecStart: exit %d: %s", code, readFile(out))
	}
	// systemd reads PIDFile= once the start process has exited: it must be complete by then.
	pid, err := strconv.Atoi(readFile(pidFile))
	if err != nil {
		t.Fatalf("PIDFile %s: %v", pidFile, err)
	}
	if want := state(t, id).Pid; pid != want {
		t.Errorf("PIDFile holds %d, want the container init's host pid %d", pid, want)
	}
	if !processAlive(pid) {
		t.Fatalf("PIDFile's pid %d is not running", pid)
	}
	waitOutput(t, out, "ready")

	for _, line := range unit["ExecStop"] {
		parseUnitCommand(t, line, subst).run(t)
	}
	waitStatus(t, id, "stopped")
	if got := readFile(out); !strings.Contains(got, "got SIGTERM") {
		t.Errorf("the workload did not get ExecStop's SIGTERM: %q", got)
	}
	for _, line := range unit["ExecStopPost"] {
		parseUnitCommand(t, line, subst).run(t)
	}
	assertNoLeak(t, stateRoot(t), id, b)
}
