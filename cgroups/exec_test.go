package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSub(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		sub     map[string]string
		want    map[string]string // controller ("*": every one) -> path below the container's cgroup (none: stays)
		wantErr string
	}{
		{name: "none", mode: "hybrid", sub: nil, want: map[string]string{}},
		{name: "every hierarchy", mode: "hybrid", sub: map[string]string{"": "a/b"}, want: map[string]string{"*": "/a/b"}},
		{name: "top", mode: "v2", sub: map[string]string{"": "/"}, want: map[string]string{}},
		{name: "one controller", mode: "v1", sub: map[string]string{"memory": "m", "cpu": "c"}, want: map[string]string{"memory": "/m", "cpu": "/c"}},
		{name: "parent", mode: "v1", sub: map[string]string{"": ".."}, wantErr: "bad sub cgroup path: .."},
		{name: "sibling", mode: "v2", sub: map[string]string{"": "../ctr-x"}, wantErr: "bad sub cgroup path: ../ctr-x"},
		{name: "sibling of one controller", mode: "v1", sub: map[string]string{"cpu": "../ctr-x"}, wantErr: "bad sub cgroup path"},
		{name: "unknown controller", mode: "v1", sub: map[string]string{"whaaat": "/"}, wantErr: "unknown controller whaaat"},
		{name: "controller on v2", mode: "v2", sub: map[string]string{"memory": "m"}, wantErr: "cgroup v2 has one hierarchy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := fakeHost(t, tc.mode, "/")
			m, err := newManager(h, "/ctr", "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.Sub(tc.sub)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Sub = %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, base := range m.paths {
				below, ok := tc.want[k]
				if !ok {
					below = tc.want["*"]
				}
				if got, want := s.paths[k], base+below; got != want {
					t.Errorf("%q: %s, want %s", k, got, want)
				}
			}
		})
	}
}

// TestSubCoMounted: a controller co-mounted with another moves with it, so the one hierarchy gets one directory.
func TestSubCoMounted(t *testing.T) {
	m := Load(map[string]string{"cpu": "/cg/cpu,cpuacct/ctr", "cpuacct": "/cg/cpu,cpuacct/ctr", "memory": "/cg/memory/ctr"})
	m.h = &host{mode: "v1"}
	s, err := m.Sub(map[string]string{"cpu": "sub"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.dirs(); strings.Join(got, " ") != "/cg/cpu,cpuacct/ctr/sub /cg/memory/ctr" {
		t.Errorf("dirs = %v, want the co-mounted pair's sub-cgroup once and memory's own", got)
	}
}

// TestApplyThreadToInitCgroup: on v2 the fallback writes to the cgroup the init's /proc/PID/cgroup names, below the
// mount point; not on v1 or hybrid, and not to a path that climbs out of the mount.
func TestApplyThreadToInitCgroup(t *testing.T) {
	old := procRoot
	procRoot = t.TempDir()
	t.Cleanup(func() { procRoot = old })
	writeInit := func(content string) {
		mkFiles(t, filepath.Join(procRoot, "42"), map[string]string{"cgroup": content})
	}
	h, _ := fakeHost(t, "v2", "/")
	m, err := newManager(h, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	mkFiles(t, filepath.Join(h.unified, "ctr", "foobar"), map[string]string{"cgroup.procs": ""})
	writeInit("0::/ctr/foobar\n")
	if err := m.ApplyThreadToInitCgroup(7, 42); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, filepath.Join(h.unified, "ctr", "foobar"))["cgroup.procs"]; got != "7" {
		t.Errorf("init's cgroup.procs = %q, want 7", got)
	}
	writeInit("0::/../../etc\n")
	if err := m.ApplyThreadToInitCgroup(7, 42); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("init cgroup climbing out: %v, want ErrInvalidPath", err)
	}
	hh, _ := fakeHost(t, "hybrid", "/")
	mh, err := newManager(hh, "/ctr", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mh.ApplyThreadToInitCgroup(7, 42); !errors.Is(err, ErrNotSupported) {
		t.Errorf("fallback on hybrid: %v, want ErrNotSupported", err)
	}
	if _, err := os.Stat(filepath.Join(hh.unified, "ctr", "foobar")); err == nil {
		t.Errorf("fallback on hybrid wrote somewhere")
	}
}
