package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/rawfile"
)

// writeFile writes val to an existing cgroup control file. It never creates the file: a missing file means the
// controller or the feature is absent, which callers turn into ErrNotSupported. cgroupfs holds no symlinks a
// container could plant.
//
// It is open(2), write(2), close(2) and nothing else: an *os.File would add two fcntl(2) and two epoll_ctl(2)
// calls per write (kernfs files are pollable, so Go registers them with its poller), and the container start
// path writes dozens of control files.
func writeFile(dir, name, val string) error {
	f, err := openControl(dir, name)
	if err != nil {
		return err
	}
	if err := f.write(val); err != nil {
		_ = unix.Close(f.fd)
		return err
	}
	return f.close()
}

// controlFile is a control file open for writing, for a caller with several values for it, each taken by the
// kernel as one write(2) (devices.allow: one rule per write): one open(2) for them all.
type controlFile struct {
	path string
	fd   int
}

// writeFlags are the open(2) flags of a control file to write: O_WRONLY alone, as runc's cgroups.WriteFile opens
// them. O_TRUNC would change nothing in what the kernel takes (a kernfs file has no size to cut) but would cost a
// truncate, a setattr and the allocation of the file's attributes on each open; the plain-file test trees, whose
// files do keep what was written, add it (fake_test.go).
var writeFlags = unix.O_WRONLY

// openControl opens an existing control file for writing, as writeFile does.
func openControl(dir, name string) (controlFile, error) {
	p := filepath.Join(dir, name)
	fd, err := rawfile.Open(p, writeFlags)
	if err != nil {
		return controlFile{}, err
	}
	return controlFile{path: p, fd: fd}, nil
}

// write writes val in one write(2), retried on EINTR.
func (f controlFile) write(val string) error {
	b := []byte(val)
	for len(b) > 0 {
		n, err := unix.Write(f.fd, b)
		if errors.Is(err, unix.EINTR) {
			// A write interrupted before it reached the kernel's handler; retry as runc does (golang/go#38033).
			continue
		}
		if err != nil {
			return fmt.Errorf("write %q: %w", val, &os.PathError{Op: "write", Path: f.path, Err: err})
		}
		b = b[n:]
	}
	return nil
}

func (f controlFile) close() error {
	if err := unix.Close(f.fd); err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}

// readFile returns a control file's contents without the trailing newline (see writeFile for why not os.ReadFile).
func readFile(dir, name string) (string, error) {
	buf, err := rawfile.Read(filepath.Join(dir, name), make([]byte, 0, 512))
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(buf)), nil
}

// readUint parses a single-number file; "max" reads as MaxUint64, as runc's fscommon.GetCgroupParamUint does.
func readUint(dir, name string) (uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	return parseUint(s, filepath.Join(dir, name))
}

func parseUint(s, where string) (uint64, error) {
	if s == "max" {
		return ^uint64(0), nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// v1 files report "unlimited" as a negative number in some kernels; clamp as runc's ParseUint does.
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %s: %w", where, err)
	}
	return v, nil
}

// readKV reads a flat-keyed file ("key value" lines: memory.stat, cpu.stat, memory.events).
func readKV(dir, name string) (map[string]uint64, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := parseUint(strings.TrimSpace(v), filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
	}
	return out, nil
}

// exists reports whether a control file or directory is present.
func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// notSupported turns a missing control file into ErrNotSupported, so callers can tell "this host cannot" from
// "this write failed".
func notSupported(what string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w: %w", what, ErrNotSupported, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
