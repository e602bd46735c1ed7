package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCwdLeakedFd reproduces CVE-2024-21626: process.cwd "/proc/self/fd/N" names whatever directory the runtime's
// init holds open as fd N at chdir time; a leaked host directory fd (runc < 1.1.12 leaked /sys/fs/cgroup) makes the
// container's cwd a host directory, and "../../.." from it walks the host's tree. Each fd number must either be
// refused (exit 1, an error naming cwd) or leave the process unable to reach a marker file on the host. The last
// case hands the init a host directory for certain, as fd 3 through --preserve-fds: the cwd check itself must
// refuse it (Debian's runc 1.1.5+ds1-1+deb12u1 carries the fix and refuses it too).
func TestCwdLeakedFd(t *testing.T) {
	t.Parallel()
	hostDir := t.TempDir()
	marker := filepath.Join(hostDir, "host-marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Enough ../ to climb from any host directory to the host's /, where the marker's absolute path starts.
	escape := strings.Repeat("../", 40) + strings.TrimPrefix(marker, "/")
	type tc struct {
		name    string
		fd      int
		passDir bool // pass hostDir as fd 3 with --preserve-fds 1
	}
	var tests []tc
	for fd := 3; fd <= 12; fd++ {
		tests = append(tests, tc{name: "fd " + strconv.Itoa(fd), fd: fd})
	}
	tests = append(tests, tc{name: "host dir passed as fd 3", fd: 3, passDir: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bundle(t, func(s *specs.Spec) {
				s.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", tc.fd)
				s.Process.Args = []string{"/probe", "stat", escape}
			})
			id := newID(t)
			args := []string{"run", "--bundle", b, id}
			var files []*os.File
			if tc.passDir {
				d, err := os.Open(hostDir)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				files = []*os.File{d}
				args = []string{"run", "--preserve-fds", "1", "--bundle", b, id}
			}
			r := rtFiles(t, files, args...)
			switch {
			case r.Code == 0 && !tc.passDir:
				var st []Stat
				decode(t, r.Stdout, &st)
				if len(st) != 1 || st[0].Error != "ENOENT" {
					t.Errorf("cwd /proc/self/fd/%d: the host's %s is reachable from the container: %+v", tc.fd, marker, st)
				}
			case r.Code == 1:
				oneLine(t, r, "cwd")
				assertNoLeak(t, stateRoot(t), id, b)
			default:
				t.Errorf("run with cwd /proc/self/fd/%d: %v, want exit 1 (refused)%s", tc.fd, r,
					map[bool]string{false: " or 0 (contained)", true: ""}[tc.passDir])
			}
		})
	}
}

// rtFiles is rt with files passed as the runtime's fds 3.. (inheritable, as os/exec passes ExtraFiles).
func rtFiles(t *testing.T, files []*os.File, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, append([]string{"--root", stateRoot(t)}, args...)...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = outF, errF, files
	cmd.WaitDelay = time.Second
	err = runTracked(cmd)
	var exitErr *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &exitErr)) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{Stdout: readFile(outF.Name()), Stderr: readFile(errF.Name()), Code: cmd.ProcessState.ExitCode()}
}

// TestProcSysSymlinkRefused: a rootfs whose /proc or /sys is a symlink is refused with an error naming the
// destination, whether the link points out of the rootfs or inside it, and nothing is mounted on its target
// (CVE-2019-19921 class: a proc mount redirected onto an attacker-chosen directory).
func TestProcSysSymlinkRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		dest   string                      // /proc or /sys
		target func(outside string) string // the symlink's target
	}{
		{name: "proc to a host dir", dest: "/proc", target: func(outside string) string { return outside }},
		{name: "proc to a rootfs dir", dest: "/proc", target: func(string) string { return "tmp" }},
		{name: "sys to a host dir", dest: "/sys", target: func(outside string) string { return outside }},
		{name: "sys to a rootfs dir", dest: "/sys", target: func(string) string { return "/tmp" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			outside := t.TempDir()
			b := bundle(t, func(s *specs.Spec) {
				s.Process.Args = []string{"true"}
				// The masked and read-only paths under /proc and /sys would fail on their own; leave only the
				// destination itself to be checked.
				s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			})
			link := filepath.Join(b, "rootfs", tc.dest)
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target(outside), link); err != nil {
				t.Fatal(err)
			}
			id := newID(t)
			r := rt(t, "run", "--bundle", b, id)
			if r.Code != 1 {
				t.Errorf("run with a symlinked %s: %v, want exit 1", tc.dest, r)
			}
			oneLine(t, r, tc.dest)
			assertNoLeak(t, stateRoot(t), id, b)
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("the host directory %s was written: %v", outside, ents)
			}
			if tmp, _ := os.ReadDir(filepath.Join(b, "rootfs", "tmp")); len(tmp) != 0 {
				t.Errorf("the rootfs's /tmp was written: %v", tmp)
			}
		})
	}
}

// TestMountThroughSymlinkDir: a mount destination whose directory component is a symlink pointing out of the
// rootfs (/mnt -> a host directory, destination /mnt/sub) is resolved inside the rootfs: the mount lands at the
// link's target taken as a path in the container, and nothing appears on the host. TestMountEscape covers the
// last component.
func TestMountThroughSymlinkDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target func(outside string) string
	}{
		{name: "absolute", target: func(outside string) string { return outside }},
		{name: "relative", target: func(outside string) string { return strings.Repeat("../", 20) + outside[1:] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			outside := t.TempDir()
			b := bundle(t, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/sub", Type: "tmpfs", Source: "tmpfs"})
				s.Process.Args = []string{"sh", "-c", "touch /mnt/sub/marker && /probe mounts"}
			})
			if err := os.Symlink(tc.target(outside), filepath.Join(b, "rootfs", "mnt")); err != nil {
				t.Fatal(err)
			}
			id := newID(t)
			r := rt(t, "run", "--bundle", b, id)
			switch r.Code {
			case 0:
				var ms []Mount
				decode(t, r.Stdout, &ms)
				// Inside the container the link still reads as the host path, now resolved in the rootfs.
				if m, ok := findMount(ms, filepath.Join(outside, "sub")); !ok || m.FSType != "tmpfs" {
					t.Errorf("no tmpfs at %s inside the container: %+v", filepath.Join(outside, "sub"), ms)
				}
			case 1:
				oneLine(t, r, "/mnt/sub")
				assertNoLeak(t, stateRoot(t), id, b)
			default:
				t.Errorf("run: %v, want exit 0 (mounted inside) or 1 (refused)", r)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("the host directory %s was written: %v", outside, ents)
			}
			if strings.Contains(readFile("/proc/self/mountinfo"), outside) {
				t.Errorf("a mount landed on the host at %s", outside)
			}
		})
	}
}

// TestMaskedFiles: a masked file reads as /dev/null, the 1:3 character device, with no content: the kernel's
// /proc/kcore and /proc/timer_list (CVE-2025-31133: what is bound there must be the real /dev/null) and a file of
// the rootfs the config masks. A masked /proc file the kernel lacks stays absent (runc skips it).
func TestMaskedFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
	}{
		{name: "kcore", path: "/proc/kcore"},
		{name: "timer_list", path: "/proc/timer_list"},
		{name: "rootfs file", path: "/etc/secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A masked path absent from this kernel (/proc/kcore needs CONFIG_PROC_KCORE) must stay absent.
			absent := strings.HasPrefix(tc.path, "/proc/") && !exists(tc.path)
			b := bundle(t, func(s *specs.Spec) {
				s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/etc/secret")
				s.Process.Args = []string{"sh", "-c", "/probe stat " + tc.path + " && wc -c < " + tc.path}
			})
			if err := os.WriteFile(filepath.Join(b, "rootfs", "etc", "secret"), []byte("secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			r := rt(t, "run", "--bundle", b, newID(t))
			out, count, _ := strings.Cut(strings.TrimSuffix(r.Stdout, "\n"), "\n")
			var st []Stat
			decode(t, out, &st)
			if absent {
				if len(st) != 1 || st[0].Error != "ENOENT" || count != "" {
					t.Errorf("%s, absent on the host: %+v, %v, want it absent inside too", tc.path, st, r)
				}
				return
			}
			if r.Code != 0 {
				t.Fatalf("run: %v", r)
			}
			if len(st) != 1 || st[0].Type != "char" || st[0].Major != 1 || st[0].Minor != 3 {
				t.Errorf("masked %s: %+v, want /dev/null (char 1:3)", tc.path, st)
			}
			if strings.TrimSpace(count) != "0" {
				t.Errorf("masked %s reads %q bytes, want 0", tc.path, count)
			}
		})
	}
}

// TestExecNoFdLeak (CVE-2024-21626 class): `exec` started with extra inheritable fds 3, 4 and 5 passes none of them
// to the process (only stdio), unless --preserve-fds asks for them; foreground and detached alike.
func TestExecNoFdLeak(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	tests := []struct {
		name    string
		flags   []string
		wantFds int // of the extra fds, how many pass (from 3)
	}{
		{name: "foreground", wantFds: 0},
		{name: "detached", flags: []string{"-d"}, wantFds: 0},
		{name: "preserve-fds 1", flags: []string{"--preserve-fds", "1"}, wantFds: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			extra := createFiles(t, dir, "extra", 3)
			out := createFiles(t, dir, "stdout", 1)[0]
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			flags, pidFile := tc.flags, ""
			if slices.Contains(flags, "-d") {
				pidFile = filepath.Join(dir, "pid")
				flags = append(slices.Clone(flags), "--pid-file", pidFile)
			}
			args := append(append([]string{"--root", stateRoot(t), "exec"}, flags...), id, "/probe", "self")
			cmd := exec.CommandContext(ctx, runtimeBin, args...)
			// os/exec passes ExtraFiles without close-on-exec, as fds 3.. of the runtime.
			cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = out, out, extra
			if err := runTracked(cmd); err != nil {
				t.Fatalf("exec %v: %v: %s", tc.flags, err, readFile(out.Name()))
			}
			// A detached process may still be writing when the runtime returns.
			waitFor(t, "the probe's output", func() bool { return strings.HasSuffix(readFile(out.Name()), "}\n") })
			var s Self
			decode(t, readFile(out.Name()), &s)
			if pidFile != "" {
				// The detached probe's zombie is reparented to this test (a child subreaper) and keeps the
				// cgroup busy until reaped; waitFor reaps, so wait for it here rather than stall the cleanup's
				// delete.
				pid := readFile(pidFile)
				waitFor(t, "the detached process "+pid+" to be reaped", func() bool { return pid != "" && !exists("/proc/"+pid) })
			}
			for fd := 3; fd < 3+len(extra); fd++ {
				target, ok := s.Fds[strconv.Itoa(fd)]
				if want := fd < 3+tc.wantFds; ok != want {
					t.Errorf("fd %d in the exec'd process: %v (%q), want %v", fd, ok, target, want)
				}
			}
			if len(s.Fds) != 3+tc.wantFds {
				t.Errorf("fds of the exec'd process: %v, want stdio and %d passed", s.Fds, tc.wantFds)
			}
		})
	}
}
