package cgroups

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMain lets the test binary double as the helper process the integration tests put into a cgroup:
// RT_CGROUPS_HELPER=wait blocks until stdin closes; =hog then touches 256 MiB, page by page.
func TestMain(m *testing.M) {
	switch os.Getenv("RT_CGROUPS_HELPER") {
	case "wait":
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "hog":
		_, _ = io.ReadFull(os.Stdin, make([]byte, 1))
		var keep [][]byte
		for i := 0; i < 256; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println(len(keep))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper starts the test binary in helper mode; the caller moves it into a cgroup, then writes to or closes stdin.
func helper(t *testing.T, mode string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RT_CGROUPS_HELPER="+mode)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, in
}

// realManager returns a manager for a fresh /rt-test-<rand> cgroup on the real host, created, and checks at the
// end that Destroy left nothing behind. It skips when not root.
func realManager(t *testing.T, r *specs.LinuxResources) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	m, err := New(fmt.Sprintf("/rt-test-%d", rand.Uint64()), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		for k, d := range m.Paths() {
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%q cgroup %s left behind (%v)", k, d, err)
			}
		}
	})
	return m
}

func TestRealLifecycle(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20))},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(32))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000))},
	}
	m := realManager(t, r)
	if Mode() != "v2" {
		if _, ok := m.Paths()["memory"]; !ok {
			t.Fatalf("paths %v lack the v1 memory controller on a %s host", m.Paths(), Mode())
		}
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.Usage.Limit != 64<<20 || st.Pids.Limit != 32 {
		t.Errorf("stats limits: memory %d pids %d, want %d %d", st.Memory.Usage.Limit, st.Pids.Limit, 64<<20, 32)
	}

	cmd, in := helper(t, "wait")
	start := time.Now()
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Logf("Apply to %d hierarchies took %v", len(m.dirs()), time.Since(start))
	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("Pids = %v, want %d in it", pids, cmd.Process.Pid)
	}
	if err := m.Create(r); !errors.Is(err, ErrInUse) {
		t.Errorf("Create of a populated cgroup = %v, want ErrInUse", err)
	}

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Fatalf("Frozen = %v, %v after Freeze", f, err)
	}
	if state := procState(t, cmd.Process.Pid); state != "D" && state != "S" {
		t.Logf("frozen task state %q", state)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || f {
		t.Fatalf("Frozen = %v, %v after Thaw", f, err)
	}

	// update: a live limit change reads back.
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}}); err != nil {
		t.Fatal(err)
	}
	if st, err := m.Stats(); err != nil || st.Pids.Limit != 0 {
		t.Errorf("pids limit after update = %+v, %v; want unlimited (0)", st.Pids, err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"cpu":`, `"memory":`, `"pids":`, `"blkio":`, `"hugetlb":`, `"usage":`, `"limit":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("stats JSON lacks %s: %s", key, b)
		}
	}

	if err := m.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("helper ended with %v, want SIGTERM", err)
	}
	_ = in.Close()
}

func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[0]
}

func TestRealOOMKill(t *testing.T) {
	limit := int64(32 << 20)
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &limit}}
	m := realManager(t, r)
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	before, err := m.OOMKillCount()
	if err != nil {
		t.Fatal(err)
	}
	cmd, in := helper(t, "hog")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("hog ended with %v, want SIGKILL by the OOM killer", err)
	}
	after, err := m.OOMKillCount()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("oom_kill count %d -> %d, want it to grow", before, after)
	}
}

func TestRealDestroyKillsLeftovers(t *testing.T) {
	m := realManager(t, nil)
	cmd, _ := helper(t, "wait")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// A sub-cgroup the container made for itself must go too.
	for _, d := range m.dirs() {
		if err := os.Mkdir(filepath.Join(d, "inner"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // reap, so the killed helper leaves the cgroup
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("helper survived Destroy")
	}
}

// TestRealDestroyThawsFrozenLeftovers: a process left frozen in the cgroup (a paused container deleted with
// --force) is thawed so that SIGKILL can finish it, and the cgroup goes.
func TestRealDestroyThawsFrozenLeftovers(t *testing.T) {
	m := realManager(t, nil)
	cmd, _ := helper(t, "wait")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Fatalf("Frozen = %v, %v after Freeze", f, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // reap, so the killed helper leaves the cgroup
	if err := m.Destroy(); err != nil {
		// Left frozen, the helper would never be reaped: thaw and kill it so that the test fails instead of hanging.
		_ = m.Thaw()
		_ = cmd.Process.Kill()
		<-done
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("helper survived Destroy")
	}
	for _, d := range m.dirs() {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Destroy (%v)", d, err)
		}
	}
}
