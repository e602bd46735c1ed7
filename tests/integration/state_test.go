package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestState: the state JSON carries ociVersion, id, pid, status, bundle, rootfs, created (RFC 3339 with
// nanoseconds), owner and the config's annotations; pid is 0 once stopped.
func TestState(t *testing.T) {
	t.Parallel()
	b := bundle(t, func(s *specs.Spec) {
		sleeper(s)
		s.Annotations = map[string]string{"org.example.key": "value"}
	})
	before := time.Now()
	id, _ := runDetached(t, b)
	r := mustRT(t, "state", id)
	var raw map[string]json.RawMessage
	decode(t, r.Stdout, &raw)
	for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("state has no %q field: %s", k, r.Stdout)
		}
	}
	s := state(t, id)
	if s.OCIVersion == "" || s.ID != id || s.Pid <= 0 || s.Status != "running" {
		t.Errorf("state = %+v", s)
	}
	if s.Bundle != b {
		t.Errorf("bundle = %q, want %q", s.Bundle, b)
	}
	if want := filepath.Join(b, "rootfs"); s.Rootfs != want {
		t.Errorf("rootfs = %q, want %q", s.Rootfs, want)
	}
	created, err := time.Parse(time.RFC3339Nano, s.Created)
	if err != nil {
		t.Errorf("created %q: %v", s.Created, err)
	} else if created.Before(before.Add(-time.Second)) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("created %v is not between %v and now", created, before)
	}
	if s.Annotations["org.example.key"] != "value" {
		t.Errorf("annotations = %v, want org.example.key=value", s.Annotations)
	}
	mustRT(t, "kill", id, "KILL")
	waitStatus(t, id, "stopped")
	if s := state(t, id); s.Pid != 0 {
		t.Errorf("stopped pid = %d, want 0", s.Pid)
	}
}

// TestStateDerived: status comes from the live process, not from disk: a container whose init is killed behind
// the runtime's back (not through `kill`) reads as stopped.
func TestStateDerived(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	pid := state(t, id).Pid
	if !processAlive(pid) {
		t.Fatalf("init %d not alive", pid)
	}
	if err := killPid(pid); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, id, "stopped")
}

// TestList: list prints the table header "ID PID STATUS BUNDLE CREATED OWNER" and a row per container; -f json an
// array of states; -q the ids alone.
func TestList(t *testing.T) {
	t.Parallel()
	b := bundle(t, sleeper)
	running, _ := runDetached(t, b)
	created := newID(t)
	mustRT(t, "create", "--bundle", b, created)
	pids := map[string]int{running: state(t, running).Pid, created: state(t, created).Pid}
	statuses := map[string]string{running: "running", created: "created"}

	t.Run("table", func(t *testing.T) {
		r := mustRT(t, "list")
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
			t.Errorf("header = %q", lines[0])
		}
		if len(lines) != 3 {
			t.Fatalf("list: %d lines, want header + 2: %q", len(lines), r.Stdout)
		}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) != 6 {
				t.Errorf("row %q: %d fields, want 6", l, len(f))
				continue
			}
			id := f[0]
			if f[1] != strconv.Itoa(pids[id]) || f[2] != statuses[id] || f[3] != b || f[5] != "root" {
				t.Errorf("row %q, want pid %d status %s bundle %s owner root", l, pids[id], statuses[id], b)
			}
			if _, err := time.Parse(time.RFC3339Nano, f[4]); err != nil {
				t.Errorf("row %q: created: %v", l, err)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		r := mustRT(t, "list", "-f", "json")
		var list []containerState
		decode(t, r.Stdout, &list)
		if len(list) != 2 {
			t.Fatalf("list -f json: %d entries, want 2: %s", len(list), r.Stdout)
		}
		for _, s := range list {
			if s.Pid != pids[s.ID] || s.Status != statuses[s.ID] || s.Bundle != b || s.Owner != "root" {
				t.Errorf("entry %+v, want pid %d status %s owner root", s, pids[s.ID], statuses[s.ID])
			}
		}
	})
	t.Run("quiet", func(t *testing.T) {
		r := mustRT(t, "list", "-q")
		got := strings.Fields(r.Stdout)
		if len(got) != 2 || pids[got[0]] == 0 || pids[got[1]] == 0 || got[0] == got[1] {
			t.Errorf("list -q = %q, want the two ids", r.Stdout)
		}
	})
}

// TestListEmpty: list of a root with no containers prints just the header, and -f json an empty array.
func TestListEmpty(t *testing.T) {
	t.Parallel()
	if err := os.MkdirAll(stateRoot(t), 0o700); err != nil {
		t.Fatal(err)
	}
	r := mustRT(t, "list")
	if got := strings.Join(strings.Fields(r.Stdout), " "); got != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Errorf("list = %q, want only the header", r.Stdout)
	}
	r = mustRT(t, "list", "-f", "json")
	// runc 1.1.5 prints null (a nil slice); [] is as good to a JSON decoder, so both are accepted.
	if got := strings.TrimSpace(r.Stdout); got != "[]" && got != "null" {
		t.Errorf("list -f json = %q, want [] or null", r.Stdout)
	}
}

// TestListMissingRoot: list with a --root that does not exist is an error naming it (runc 1.5: "open ROOT: no such
// file or directory"), so that a mistyped --root is not taken for an empty one; nothing is created.
func TestListMissingRoot(t *testing.T) {
	t.Parallel()
	oldRunc(t, "runc 1.1.5 creates the missing root and lists nothing")
	root := stateRoot(t) // not made until a container is created
	r := rt(t, "list")
	if r.Code != 1 || !strings.Contains(r.Stderr, "open "+root+": no such file or directory") {
		t.Errorf("list with a missing --root: %v, want exit 1 and \"open %s: no such file or directory\"", r, root)
	}
	oneLine(t, r, root)
	if exists(root) {
		t.Errorf("list created the missing root %s", root)
	}
}
