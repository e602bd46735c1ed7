package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreateBadInput: each bad input is refused with exit 1 and one line on stderr naming the field, path or id,
// and leaves nothing behind. On runc only the exit code and a non-empty stderr are checked (oneLine): its
// messages are worded differently and come as logrus lines.
func TestCreateBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
		bundle func(t *testing.T, dir string) // damages the bundle after it is made
		id     string                         // "" for a fresh valid id
		want   string                         // what the error line must name
		rtOnly string                         // non-empty: runc accepts this input, for the given reason
	}{
		{name: "malformed config.json", want: "config.json", bundle: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "config.json"), `{"ociVersion": "1.3.0", "process": {`)
		}},
		{name: "config.json not an object", want: "config.json", bundle: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "config.json"), `["not", "a", "spec"]`)
		}},
		{name: "missing config.json", want: "config.json", bundle: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "config.json")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "missing rootfs", want: "nosuchroot", mutate: func(s *specs.Spec) { s.Root.Path = "nosuchroot" }},
		{name: "rootfs is a file", want: "probe", mutate: func(s *specs.Spec) { s.Root.Path = "rootfs/probe" }},
		{name: "missing process.args", want: "args", mutate: func(s *specs.Spec) { s.Process.Args = nil }},
		{name: "bad namespace type", want: "foo", mutate: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
		}},
		// config-linux.md: "If a `namespaces` field contains duplicated namespaces with same `type`, the runtime MUST
		// generate an error"; runc 1.5 refuses it too ("malformed spec file: duplicated ns").
		{name: "duplicate namespace", want: "pid", mutate: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}},
		{name: "namespace path missing", want: "/nonexistent/ns/net", mutate: func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/nonexistent/ns/net"
		}},
		{name: "unknown capability", want: "CAP_BOGUS", mutate: func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_BOGUS")
		}, rtOnly: "runc only warns about an unknown capability and runs the container"},
		{name: "relative mount destination", want: "proc", mutate: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "relative/proc", Type: "proc", Source: "proc"})
		}, rtOnly: "runc accepts a relative destination (deprecated) and resolves it against /"},
		{name: "device access letter other than rwm", want: "rwa", mutate: func(s *specs.Spec) {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "rwa"})
		}, rtOnly: "runc takes access letters other than r, w and m"},
		{name: "missing bind source", want: "/nonexistent-source", mutate: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/nonexistent-source", Options: []string{"bind"}})
		}},
		{name: "missing cwd on read-only root", want: "cwd", mutate: func(s *specs.Spec) { s.Process.Cwd = "relative" }},
		{name: "missing executable", want: "/nonexistent", mutate: func(s *specs.Spec) { s.Process.Args = []string{"/nonexistent"} }},
		{name: "empty id", id: "-", want: "id"},
		{name: "id with slash", id: "a/b", want: "a/b"},
		{name: "id dot dot", id: "..", want: ".."},
		{name: "id escaping root", id: "../escape", want: "../escape"},
		{name: "too long id", id: strings.Repeat("a", 1025), want: "aaaa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.rtOnly != "" {
				rtOnly(t, tc.rtOnly)
			}
			b := bundle(t, tc.mutate)
			if tc.bundle != nil {
				tc.bundle(t, b)
			}
			id := tc.id
			switch id {
			case "":
				id = newID(t)
			case "-":
				id = ""
			}
			root := stateRoot(t)
			r := rt(t, "create", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("create: %v, want exit 1", r)
			}
			oneLine(t, r, tc.want)
			if id != "" && !strings.Contains(id, "/") && id != ".." {
				assertNoLeak(t, root, id, b)
			} else {
				assertNoLeak(t, root, "x-never-made", b)
				if ents, _ := os.ReadDir(root); len(ents) != 0 {
					t.Errorf("root %s has %d entries after a refused id", root, len(ents))
				}
			}
			if exists(filepath.Join(filepath.Dir(root), "escape")) {
				t.Errorf("an id escaped the state root")
			}
		})
	}
}

// TestCreateSameID: a second create with the same id fails (exit 1, naming the id) and leaves the first alone.
func TestCreateSameID(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	id := newID(t)
	mustRT(t, "create", "--bundle", b, id)
	first := state(t, id)
	r := rt(t, "create", "--bundle", bundle(t, sleeper), id)
	if r.Code != 1 {
		t.Errorf("second create: %v, want exit 1", r)
	}
	oneLine(t, r, id)
	if s := state(t, id); s.Status != "created" || s.Pid != first.Pid || s.Bundle != b {
		t.Errorf("first container after the second create: %+v, want %+v", s, first)
	}
	mustRT(t, "delete", "--force", id)
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestUnknownID: every command on an unknown id fails with exit 1 naming it, except delete --force, which
// succeeds (runc: a manager's cleanup must be idempotent).
func TestUnknownID(t *testing.T) {
	t.Parallel()
	id := newID(t)
	tests := []struct {
		args []string
		want int
	}{
		{args: []string{"state", id}, want: 1},
		{args: []string{"start", id}, want: 1},
		{args: []string{"kill", id}, want: 1},
		{args: []string{"kill", id, "KILL"}, want: 1},
		{args: []string{"delete", id}, want: 1},
		{args: []string{"ps", id}, want: 1},
		{args: []string{"delete", "-f", id}, want: 0},
		{args: []string{"delete", "--force", id}, want: 0},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:len(tc.args)-1], " "), func(t *testing.T) {
			r := rt(t, tc.args...)
			if r.Code != tc.want {
				t.Errorf("%v: %v, want exit %d", tc.args, r, tc.want)
			}
			if tc.want == 0 {
				if r.Stdout != "" {
					t.Errorf("%v printed %q", tc.args, r.Stdout)
				}
				return
			}
			oneLine(t, r, id)
			if isRunc && !strings.Contains(r.Stderr, "does not exist") {
				t.Errorf("runc's error %q does not say the container does not exist", r.Stderr)
			}
		})
	}
}

// TestDeleteStates: delete of a created container fails without --force (runtime-spec runtime.md "delete": a
// container that is not stopped MUST give an error; runc 1.1.5 destroys it instead); delete of a running one
// without --force fails and leaves it running; --force kills it.
func TestDeleteStates(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	t.Run("created", func(t *testing.T) {
		id := newID(t)
		mustRT(t, "create", "--bundle", b, id)
		pid := state(t, id).Pid
		if !isRunc {
			r := rt(t, "delete", id)
			if r.Code != 1 {
				t.Errorf("delete of a created container: %v, want exit 1", r)
			}
			oneLine(t, r, id)
			if got := status(t, id); got != "created" {
				t.Errorf("status after a refused delete = %q, want created", got)
			}
		}
		mustRT(t, "delete", "--force", id)
		waitFor(t, "created init to die", func() bool { return !processAlive(pid) || isZombie(pid) })
		assertNoLeak(t, stateRoot(t), id, b)
	})
	t.Run("running without force", func(t *testing.T) {
		id, _ := runDetached(t, b)
		r := rt(t, "delete", id)
		if r.Code != 1 {
			t.Errorf("delete of a running container: %v, want exit 1", r)
		}
		oneLine(t, r, id)
		if got := status(t, id); got != "running" {
			t.Errorf("status = %q, want running", got)
		}
		mustRT(t, "delete", "--force", id)
		assertNoLeak(t, stateRoot(t), id, b)
	})
	t.Run("stopped", func(t *testing.T) {
		id, _ := runDetached(t, b)
		mustRT(t, "kill", id, "KILL")
		waitStatus(t, id, "stopped")
		mustRT(t, "delete", id)
		assertNoLeak(t, stateRoot(t), id, b)
	})
}

// TestStartNoProcess: a config without a process can be created (runc: the spec makes process optional for
// create) but not started; rt refuses it at create, naming "process".
func TestNoProcess(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 fails such a config later and differently; rt refuses it up front, naming process")
	b := bundle(t, func(s *specs.Spec) { s.Process = nil })
	id := newID(t)
	r := rt(t, "create", "--bundle", b, id)
	if r.Code == 0 {
		r = rt(t, "start", id)
	}
	if r.Code != 1 {
		t.Errorf("create+start without process: %v, want exit 1", r)
	}
	oneLine(t, r, "process")
	_ = rt(t, "delete", "-f", id)
	assertNoLeak(t, stateRoot(t), id, b)
}

// TestLogJSON: with --log FILE --log-format json the final error is a {"level":"error","msg":...,"time":...}
// line (containerd shows the last one), and the log file exists even when nothing is logged.
func TestLogJSON(t *testing.T) {
	t.Parallel()
	dir := env(t).base
	t.Run("error", func(t *testing.T) {
		log := filepath.Join(dir, "error.log")
		id := newID(t)
		r := rt(t, "--log", log, "--log-format", "json", "state", id)
		if r.Code != 1 {
			t.Fatalf("state of an unknown id: %v, want exit 1", r)
		}
		lines := strings.Split(strings.TrimSpace(readFile(log)), "\n")
		last := lines[len(lines)-1]
		var entry map[string]any
		if err := json.Unmarshal([]byte(last), &entry); err != nil {
			t.Fatalf("last log line %q: %v", last, err)
		}
		msg, _ := entry["msg"].(string)
		if entry["level"] != "error" || msg == "" || entry["time"] == nil {
			t.Errorf("last log line %q, want level error, a msg and a time", last)
		}
		for _, l := range lines {
			if err := json.Unmarshal([]byte(l), &entry); err != nil {
				t.Errorf("log line %q is not JSON: %v", l, err)
			}
		}
		rtOnly(t, "runc says \"container does not exist\" without the id")
		if !strings.Contains(msg, id) {
			t.Errorf("msg %q does not name %s", msg, id)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		log := filepath.Join(dir, "create.log")
		b := bundle(t, nil)
		writeFile(t, filepath.Join(b, "config.json"), "{bad")
		id := newID(t)
		if r := rt(t, "--log", log, "--log-format", "json", "create", "--bundle", b, id); r.Code != 1 {
			t.Fatalf("create: %v, want exit 1", r)
		}
		lines := strings.Split(strings.TrimSpace(readFile(log)), "\n")
		var entry map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil || entry["level"] != "error" {
			t.Errorf("last log line %q: %v, want a level error JSON line", lines[len(lines)-1], err)
		}
		assertNoLeak(t, stateRoot(t), id, b)
	})
	t.Run("nothing logged", func(t *testing.T) {
		if err := os.MkdirAll(stateRoot(t), 0o700); err != nil { // list of a missing --root is an error
			t.Fatal(err)
		}
		for _, format := range []string{"json", "text"} {
			log := filepath.Join(dir, "quiet-"+format+".log")
			mustRT(t, "--log", log, "--log-format", format, "list")
			if !exists(log) {
				t.Errorf("--log-format %s: log file %s not created by a successful list", format, log)
			}
		}
	})
	t.Run("appends", func(t *testing.T) {
		log := filepath.Join(dir, "append.log")
		writeFile(t, log, "{\"level\":\"info\",\"msg\":\"earlier\",\"time\":\"2000-01-01T00:00:00Z\"}\n")
		_ = rt(t, "--log", log, "--log-format", "json", "state", newID(t))
		if got := readFile(log); !strings.HasPrefix(got, "{\"level\":\"info\",\"msg\":\"earlier\"") || strings.Count(got, "\n") < 2 {
			t.Errorf("log %q: the earlier line was not kept (runc opens --log with O_APPEND)", got)
		}
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExecveErrorText: when the process cannot be exec'd (here its interpreter is missing), run and exec fail with
// runc's one line, "exec PATH: ERROR", which users and run.bats/exec.bats match: run's is that line alone, printed
// by the init once only the container's stderr is left to tell (no prefix of rt's own).
func TestExecveErrorText(t *testing.T) {
	t.Parallel()
	const want = "exec /run.sh: no such file or directory"
	withScript := func(args ...string) string {
		b := bundle(t, withArgs(args...))
		writeExecutable(t, filepath.Join(b, "rootfs", "run.sh"), []byte("#!/mmnnttbb foo bar\nsh\n"))
		return b
	}
	r := rt(t, "run", "--bundle", withScript("/run.sh"), newID(t))
	if r.Code == 0 || strings.TrimSuffix(r.Stderr, "\n") != want {
		t.Errorf("run: %v, want exactly %q on stderr", r, want)
	}
	id, _ := runDetached(t, withScript("sleep", "100000"))
	r = rt(t, "exec", id, "/run.sh")
	if r.Code == 0 || !strings.Contains(r.Stderr, want) || strings.Count(strings.TrimSuffix(r.Stderr, "\n"), "\n") != 0 {
		t.Errorf("exec: %v, want one line with %q", r, want)
	}
}
