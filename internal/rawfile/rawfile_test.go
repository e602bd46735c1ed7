package rawfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRead checks Read against the bytes written: whole files, larger than the buffer given, empty ones, appended
// to what buf already holds; and the errors callers test with errors.Is and print.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		size   int
		buf    int
		prefix string // already in buf: Read appends
	}{
		{name: "empty", size: 0, buf: 16},
		{name: "fits", size: 100, buf: 512},
		{name: "exactly the buffer", size: 512, buf: 512},
		{name: "larger than the buffer", size: 10000, buf: 512},
		{name: "no buffer", size: 3000, buf: 0},
		{name: "appends", size: 600, buf: 512, prefix: "head:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]byte, tc.size)
			for i := range want {
				want[i] = byte('a' + i%26)
			}
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(p, want, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Read(p, append(make([]byte, 0, tc.buf), tc.prefix...))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.prefix+string(want) {
				t.Errorf("Read: %d bytes, want %d", len(got), len(tc.prefix)+len(want))
			}
		})
	}
	// procfs files report size 0: the content is whatever reads return.
	got, err := Read("/proc/self/stat", nil)
	if err != nil || !strings.HasPrefix(string(got), fmt.Sprint(os.Getpid())+" (") {
		t.Errorf("Read(/proc/self/stat) = %q, %v", got, err)
	}

	missing := filepath.Join(dir, "missing")
	_, err = Read(missing, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) = %v, want fs.ErrNotExist", err)
	}
	if want := "open " + missing + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Read(missing) = %v, want %q", err, want)
	}
	// A directory opens O_RDONLY; read(2) is what fails.
	_, err = Read(dir, nil)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "read" || pe.Path != dir || !errors.Is(err, unix.EISDIR) {
		t.Errorf("Read(dir) = %#v, want a *os.PathError read %s: EISDIR", err, dir)
	}
}

// TestOpen checks that Open passes the caller's flags to open(2) with O_CLOEXEC added, and that its errors are
// *os.PathError "open" with the path. (The EINTR retry is not tested: a regular file's open(2) cannot be made to
// return EINTR on demand.)
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}

	missing := filepath.Join(dir, "missing")
	fd, err := Open(missing, unix.O_RDONLY)
	var pe *os.PathError
	if fd != -1 || !errors.As(err, &pe) || pe.Op != "open" || pe.Path != missing || pe.Err != unix.ENOENT {
		t.Errorf("Open(missing) = %d, %#v, want -1 and a *os.PathError open %s: ENOENT", fd, err, missing)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	// The flags reach open(2): O_DIRECTORY on a regular file is ENOTDIR.
	if _, err := Open(p, unix.O_RDONLY|unix.O_DIRECTORY); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("Open(file, O_DIRECTORY) = %v, want ENOTDIR", err)
	}

	tests := []struct {
		name      string
		flags     int
		readable  bool
		writable  bool
		wantAfter string // the file's content after close
	}{
		{name: "read only", flags: unix.O_RDONLY, readable: true, wantAfter: "content"},
		{name: "write only", flags: unix.O_WRONLY, writable: true, wantAfter: "xxntent"},
		{name: "truncate", flags: unix.O_WRONLY | unix.O_TRUNC, writable: true, wantAfter: "xx"},
		{name: "append", flags: unix.O_WRONLY | unix.O_APPEND, writable: true, wantAfter: "contentxx"},
		{name: "read write", flags: unix.O_RDWR, readable: true, writable: true, wantAfter: "coxxent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte("content"), 0o600); err != nil {
				t.Fatal(err)
			}
			fd, err := Open(p, tc.flags)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if fdflags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fdflags&unix.FD_CLOEXEC == 0 {
				t.Errorf("F_GETFD = %#x, %v: want FD_CLOEXEC", fdflags, err)
			}
			var b [2]byte
			if _, err := unix.Read(fd, b[:]); (err == nil) != tc.readable {
				t.Errorf("read: %v, want readable %v", err, tc.readable)
			}
			if _, err := unix.Write(fd, []byte("xx")); (err == nil) != tc.writable {
				t.Errorf("write: %v, want writable %v", err, tc.writable)
			}
			if err := unix.Close(fd); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(p); err != nil || string(got) != tc.wantAfter {
				t.Errorf("after: %q, %v, want %q", got, err, tc.wantAfter)
			}
		})
	}
}

// TestOpenFile: the file reads as os.Open's would, but is kept out of the runtime's poller (no deadline can be set
// on it) and is close-on-exec; a missing file is an *os.PathError for "open" that errors.Is finds as
// fs.ErrNotExist.
func TestOpenFile(t *testing.T) {
	f, err := OpenFile("/proc/self/mountinfo", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetReadDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Errorf("SetReadDeadline = %v, want os.ErrNoDeadline (a file outside the poller)", err)
	}
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD = %#x, %v, want FD_CLOEXEC", fl, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	// Both reads are in this process, whose mounts do not change meanwhile.
	want, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(want) {
		t.Errorf("read %q, want %q", data, want)
	}

	missing := filepath.Join(t.TempDir(), "missing")
	_, err = OpenFile(missing, unix.O_RDONLY)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFile(missing) = %v, want an open *os.PathError for %s wrapping ENOENT", err, missing)
	}
}

// TestReader: io.ReadAll through Reader gives the file's bytes over several read(2)s and stops at io.EOF; a
// read(2) error is returned as is.
func TestReader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	want := strings.Repeat("0123456789abcdef", 4096) // 64 KiB: io.ReadAll reads 512 bytes first, then grows
	if err := os.WriteFile(p, []byte(want), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := Open(p, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	got, err := io.ReadAll(Reader(fd))
	if err != nil || string(got) != want {
		t.Errorf("ReadAll(Reader) = %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if n, err := Reader(fd).Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, io.EOF", n, err)
	}
	dfd, err := Open(dir, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	if _, err := Reader(dfd).Read(make([]byte, 1)); err != unix.EISDIR {
		t.Errorf("Read(directory) = %v, want EISDIR", err)
	}
}
