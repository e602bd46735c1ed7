package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// Every lookup inside the rootfs is one openat2(2) (Linux 5.6) on a directory handle the rootfs contains:
// RESOLVE_IN_ROOT makes the kernel treat that handle as "/" for absolute symlinks and "..", so nothing it
// resolves can lie outside, and RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd style links, which would jump
// anywhere. That is the containment guarantee; the kernel returns EAGAIN (retried) when a concurrent rename or
// mount could have let ".." escape (openat2(2) "RESOLVE_IN_ROOT"). pathrs-lite re-verifies every handle through
// procfs because it also has to serve kernels without openat2; with openat2 that check adds nothing, so it is
// used only when openat2 is missing (ENOSYS).

// inRootResolve is the resolve mask of every lookup that may follow symlinks.
const inRootResolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// oneStepResolve is the resolve mask of a lookup of a single name in a directory handle: no symlink at all, and
// (for belt and braces, the name never contains "/" or "..") never outside that directory.
const oneStepResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openat2Retries bounds the EAGAIN retries of one lookup (pathrs-lite retries the same way).
const openat2Retries = 128

// noOpenat2 is set once openat2 has failed with ENOSYS, so later lookups go straight to pathrs-lite.
var noOpenat2 atomic.Bool

// handle is a file descriptor rootfs owns, mostly an O_PATH handle from a lookup. It is not an *os.File because
// os.NewFile costs an fcntl(2) F_GETFL per descriptor (to learn whether it is non-blocking) and os.OpenFile an
// fstat(2), neither of which an O_PATH handle needs; with hundreds of handles per container start that was a
// third of the rootfs syscalls. The zero fd is never used: a closed handle has fd -1.
type handle struct {
	fd       int
	name     string
	file     *os.File // set when the descriptor came from pathrs-lite as an *os.File, which then owns it
	borrowed bool     // the descriptor is the rootfs's own (rootDir.self): Close leaves it open
}

func newHandle(fd int, name string) *handle { return &handle{fd: fd, name: name} }

// Fd is the descriptor, as *os.File's Fd.
func (h *handle) Fd() uintptr { return uintptr(h.fd) }

// Name is the path the handle was opened as, for error messages.
func (h *handle) Name() string { return h.name }

// Close closes the descriptor once; later calls do nothing. It reports nothing: close(2) of an O_PATH or
// directory descriptor has no data to lose, and the descriptor is gone either way (close(2) NOTES).
func (h *handle) Close() {
	if h.fd < 0 {
		return
	}
	if h.borrowed {
		h.fd = -1
		return
	}
	if h.file != nil {
		_ = h.file.Close()
	} else {
		_ = unix.Close(h.fd)
	}
	h.fd, h.file = -1, nil
}

// openat2 is unix.Openat2 as an *os.PathError, retrying EAGAIN (a rename or mount raced the lookup) and EINTR.
func openat2(dirfd int, path string, how *unix.OpenHow) (*handle, error) {
	if noOpenat2.Load() {
		return nil, &os.PathError{Op: "openat2", Path: path, Err: unix.ENOSYS}
	}
	var err error
	for range openat2Retries {
		var fd int
		fd, err = unix.Openat2(dirfd, path, how)
		if err == nil {
			return newHandle(fd, path), nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.ENOSYS) {
		noOpenat2.Store(true)
	}
	return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
}

// openat is openat(2) of one name in dirfd as an *os.PathError named after the in-root path.
func openat(dirfd int, name string, flags int, mode uint32, path string) (*handle, error) {
	fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: path, Err: err}
	}
	return newHandle(fd, path), nil
}

// rootDir is the rootfs, held open as an O_PATH handle on the bind mount Prepare made, so every lookup starts at
// the same directory even if the host path is swapped.
type rootDir struct {
	fd   int
	f    *os.File // fd as an *os.File for pathrs-lite, made on the first use (file), which then owns fd
	path string   // canonical host path of fd, to verify where a handle landed
}

// openDir opens the directory path as an O_PATH handle, named path. unix.Open, not os.OpenFile, whose *os.File
// costs two fcntl(2) calls more on every open (it tries to make the descriptor non-blocking, which an O_PATH one
// refuses).
func openDir(path string) (*rootDir, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &rootDir{fd: fd, path: path}, nil
}

// openRoot opens root as an O_PATH directory handle and records its canonical path as the kernel sees it.
func openRoot(root string) (*rootDir, error) {
	r, err := openDir(root)
	if err != nil {
		return nil, err
	}
	if r.path, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(r.fd)); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// file is the handle as an *os.File, for pathrs-lite (kernels without openat2 only).
func (r *rootDir) file() *os.File {
	if r.f == nil {
		r.f = os.NewFile(uintptr(r.fd), r.path)
	}
	return r.f
}

// self is the rootfs's own handle as a handle that Close leaves open: "/" inside the rootfs, without a lookup.
func (r *rootDir) self() *handle { return &handle{fd: r.fd, name: "/", borrowed: true} }

func (r *rootDir) close() {
	if r.f != nil {
		_ = r.f.Close()
	} else {
		_ = unix.Close(r.fd)
	}
}

// fdPath is the magic link through which mount(2) and friends reach what h refers to, without a path walk the
// container could redirect (runc mounts through /proc/thread-self/fd the same way).
func fdPath(h *handle) string {
	return "/proc/self/fd/" + strconv.Itoa(h.fd)
}

// inRoot re-verifies, through /proc/self/fd, that h is inside the rootfs and returns its path relative to it
// ("/" for the root itself). A handle that is not inside is closed and refused with ErrEscapesRoot. It is needed
// only where a symlink was followed, to learn where it led (and on the pathrs-lite fallback).
func (r *rootDir) inRoot(h *handle) (string, error) {
	p, err := os.Readlink(fdPath(h))
	if err != nil {
		h.Close()
		return "", err
	}
	switch {
	case p == r.path:
		return "/", nil
	case r.path == "/":
		return p, nil
	case strings.HasPrefix(p, r.path+"/"):
		return p[len(r.path):], nil
	}
	h.Close()
	return "", fmt.Errorf("%s resolved to %s: %w", h.Name(), p, ErrEscapesRoot)
}

// lookup resolves dest inside the rootfs as an O_PATH handle (plus extra open flags, e.g. O_DIRECTORY) and returns
// it with its in-root path. A path without symlinks, the usual case, is one openat2 call whose in-root path is the
// cleaned path itself (RESOLVE_NO_SYMLINKS proves none was crossed); only when one was does the kernel follow it,
// still inside the root, and /proc/self/fd tell where it led.
func (r *rootDir) lookup(dest string, extra uint64) (*handle, string, error) {
	clean := filepath.Clean("/" + dest)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | extra, Resolve: inRootResolve | unix.RESOLVE_NO_SYMLINKS}
	h, err := openat2(r.fd, clean, &how)
	if err == nil {
		return h, clean, nil
	}
	if !errors.Is(err, unix.ELOOP) {
		return nil, "", err
	}
	how.Resolve = inRootResolve
	if h, err = openat2(r.fd, clean, &how); err != nil {
		return nil, "", err
	}
	p, err := r.inRoot(h)
	if err != nil {
		return nil, "", err
	}
	return h, p, nil
}

// open resolves dest inside the rootfs (symlinks are followed as if the rootfs were /) and returns an O_PATH handle
// and its in-root path.
func (r *rootDir) open(dest string) (*handle, string, error) {
	h, p, err := r.lookup(dest, 0)
	if errors.Is(err, unix.ENOSYS) {
		return r.openLegacy(dest)
	}
	return h, p, err
}

// mkdirAll resolves dest inside the rootfs, creating the missing directories (mode 0755, as runc), and returns a
// handle on it and its in-root path. A dangling symlink on the way is followed inside the rootfs and its target
// created, as runc does.
func (r *rootDir) mkdirAll(dest string) (*handle, string, error) {
	links := 0
	h, p, err := r.mkdirIn(filepath.Clean("/"+dest), &links)
	if errors.Is(err, unix.ENOSYS) {
		return r.mkdirAllLegacy(dest)
	}
	return h, p, err
}

// mkdirIn is mkdirAll of the clean in-root path dest: the whole path is looked up first (one openat2 when it
// exists); when it is missing, its parent is (recursively, so only the missing levels cost more), and the last
// name is made with mkdirat(2) on the parent's handle and opened from it with a one-name, no-symlink openat2, so
// every directory is created where its parent's handle is, inside the rootfs. A dangling symlink in the way is
// followed by reading it (never through it) and creating its target instead; links counts them.
func (r *rootDir) mkdirIn(dest string, links *int) (*handle, string, error) {
	if dest == "/" {
		return r.self(), "/", nil // the parent of /proc, /sys, /dev...: no lookup of what r already is
	}
	h, p, err := r.lookup(dest, unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return h, p, err
	}
	return r.mkdirMissing(dest, links)
}

// mkdirMissing is mkdirIn for a dest whose lookup has just failed with ENOENT: it starts at the parent.
func (r *rootDir) mkdirMissing(dest string, links *int) (*handle, string, error) {
	dir, base := filepath.Split(dest)
	if base == "" {
		return nil, "", &os.PathError{Op: "mkdir", Path: dest, Err: unix.EINVAL}
	}
	parent, parentPath, err := r.mkdirIn(filepath.Clean(dir), links)
	if err != nil {
		return nil, "", err
	}
	defer parent.Close()
	path := filepath.Join(parentPath, base)
	// dest was just found missing: mkdirat(2) first, no lookup of the name before it. EEXIST is a racing creator,
	// a dangling symlink or another file: the one-name lookup below tells which, as it would have before a mkdirat.
	if err := unix.Mkdirat(parent.fd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, "", &os.PathError{Op: "mkdirat", Path: path, Err: err}
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: oneStepResolve}
	h, err := openat2(parent.fd, base, &how)
	if err == nil {
		return h, path, nil
	}
	if !errors.Is(err, unix.ELOOP) {
		return nil, "", err
	}
	// base is a symlink. One that resolves now is left to the kernel (RESOLVE_IN_ROOT).
	if h, p, err := r.lookup(path, unix.O_DIRECTORY); !errors.Is(err, unix.ENOENT) {
		return h, p, err
	}
	if *links++; *links > maxSymlinks {
		return nil, "", &os.PathError{Op: "mkdir", Path: dest, Err: unix.ELOOP}
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(parent.fd, base, buf)
	if err != nil {
		return nil, "", &os.PathError{Op: "readlinkat", Path: path, Err: err}
	}
	target := string(buf[:n])
	if !filepath.IsAbs(target) {
		target = filepath.Join(parentPath, target)
	}
	return r.mkdirIn(filepath.Clean("/"+target), links)
}

// openOrMkdir is open of dest, creating it as a directory (with mkdirAll's rules) when it is missing, without
// looking it up twice; existed says whether it was there.
func (r *rootDir) openOrMkdir(dest string) (_ *handle, _ string, existed bool, _ error) {
	h, p, err := r.lookup(dest, 0)
	switch {
	case err == nil:
		return h, p, true, nil
	case errors.Is(err, unix.ENOSYS):
		h, p, err = r.openLegacy(dest)
		if errors.Is(err, fs.ErrNotExist) {
			h, p, err = r.mkdirAllLegacy(dest)
			return h, p, false, err
		}
		return h, p, true, err
	case !errors.Is(err, unix.ENOENT):
		return nil, "", false, err
	}
	links := 0
	h, p, err = r.mkdirMissing(filepath.Clean("/"+dest), &links)
	return h, p, false, err
}

// maxSymlinks bounds the dangling-symlink chase in createFile, like the kernel's MAXSYMLINKS (path_resolution(7)).
const maxSymlinks = 40

// createFile resolves dest inside the rootfs and creates it as an empty regular file if it is missing (the
// destination of a bind mount of a file), following a dangling symlink inside the rootfs as runc does for e.g.
// /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf. It never truncates: O_CREAT|O_EXCL|O_NOFOLLOW only.
func (r *rootDir) createFile(dest string) (*handle, string, error) {
	for range maxSymlinks {
		h, p, err := r.open(dest)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return h, p, err
		}
		dir, base := filepath.Split(filepath.Clean("/" + dest))
		if base == "" || base == "." || base == ".." {
			return nil, "", &os.PathError{Op: "create", Path: dest, Err: unix.EINVAL}
		}
		parent, parentPath, err := r.mkdirAll(dir)
		if err != nil {
			return nil, "", err
		}
		path := filepath.Join(parentPath, base)
		fd, err := unix.Openat(parent.fd, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			_ = unix.Close(fd)
			// The handle on the new file comes from its parent's: one name, no symlink, no second walk.
			h, err := openat(parent.fd, base, unix.O_PATH|unix.O_NOFOLLOW, 0, path)
			parent.Close()
			if err != nil {
				return nil, "", err
			}
			return h, path, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			parent.Close()
			return nil, "", &os.PathError{Op: "openat", Path: dest, Err: err}
		}
		// It exists but the lookup failed: a dangling symlink. Chase it inside the rootfs.
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(parent.fd, base, buf)
		parent.Close()
		if err != nil {
			return nil, "", &os.PathError{Op: "readlinkat", Path: dest, Err: err}
		}
		target := string(buf[:n])
		if !filepath.IsAbs(target) {
			target = filepath.Join(parentPath, target)
		}
		dest = target
	}
	return nil, "", &os.PathError{Op: "create", Path: dest, Err: unix.ELOOP}
}

// plainDir resolves dest for a proc or sysfs mount: the last component must be a real directory (created if
// missing), never a symlink or anything else (runc's check, hardened after CVE-2025-52881). One openat(2) of that
// name on its parent's handle with O_PATH|O_NOFOLLOW|O_DIRECTORY decides it: a symlink is then opened as itself
// and, like any other non-directory, fails O_DIRECTORY with ENOTDIR.
func (r *rootDir) plainDir(dest string) (*handle, string, error) {
	dir, base := filepath.Split(filepath.Clean("/" + dest))
	if base == "" {
		return nil, "", fmt.Errorf("%s: %w", dest, ErrUnsafeDestination)
	}
	parent, parentPath, err := r.mkdirAll(dir)
	if err != nil {
		return nil, "", err
	}
	defer parent.Close()
	path := filepath.Join(parentPath, base)
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW
	h, err := openat(parent.fd, base, flags, 0, path)
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(parent.fd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, "", &os.PathError{Op: "mkdirat", Path: path, Err: err}
		}
		h, err = openat(parent.fd, base, flags, 0, path)
	}
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return nil, "", fmt.Errorf("%s: %w", dest, ErrUnsafeDestination)
	}
	if err != nil {
		return nil, "", err
	}
	return h, path, nil
}

// fileHandle wraps an *os.File from pathrs-lite as a handle that closes it.
func fileHandle(f *os.File) *handle { return &handle{fd: int(f.Fd()), name: f.Name(), file: f} }

// openLegacy is open on a kernel without openat2 (before 5.6): pathrs-lite's emulation, re-verified.
func (r *rootDir) openLegacy(dest string) (*handle, string, error) {
	f, err := pathrs.OpenatInRoot(r.file(), dest)
	if err != nil {
		return nil, "", err
	}
	return r.legacyHandle(f)
}

// mkdirAllLegacy is mkdirAll on a kernel without openat2. pathrs-lite refuses to create through a dangling
// symlink; runc follows it inside the rootfs, so on ENOENT/ENOTDIR the symlinks are resolved with
// securejoin.SecureJoin first and the creation retried on the result (still with MkdirAllHandle, so a race can
// only fail, never escape).
func (r *rootDir) mkdirAllLegacy(dest string) (*handle, string, error) {
	f, err := pathrs.MkdirAllHandle(r.file(), dest, 0o755)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		resolved, jerr := securejoin.SecureJoin(r.path, dest)
		if jerr != nil {
			return nil, "", jerr
		}
		rel := "/"
		if r.path == "/" {
			rel = resolved
		} else if len(resolved) > len(r.path) {
			rel = resolved[len(r.path):]
		}
		if rel != filepath.Clean("/"+dest) {
			f, err = pathrs.MkdirAllHandle(r.file(), rel, 0o755)
		}
	}
	if err != nil {
		return nil, "", err
	}
	return r.legacyHandle(f)
}

// legacyHandle wraps a file pathrs-lite resolved and re-verifies that it lies inside the root, returning its path.
func (r *rootDir) legacyHandle(f *os.File) (*handle, string, error) {
	h := fileHandle(f)
	p, err := r.inRoot(h)
	if err != nil {
		return nil, "", err
	}
	return h, p, nil
}

// procAllowed are the files under /proc a bind mount may cover: the ones lxcfs emulates, as runc allows.
var procAllowed = table.Table[string, bool]{
	{Key: "/proc/cpuinfo", Val: true},
	{Key: "/proc/diskstats", Val: true},
	{Key: "/proc/meminfo", Val: true},
	{Key: "/proc/stat", Val: true},
	{Key: "/proc/swaps", Val: true},
	{Key: "/proc/uptime", Val: true},
	{Key: "/proc/loadavg", Val: true},
	{Key: "/proc/slabinfo", Val: true},
	{Key: "/proc/net/dev", Val: true},
	{Key: "/proc/sys/kernel/ns_last_pid", Val: true},
}

// checkProcDest refuses a mount that would cover /proc or something under it (runc's checkProcMount): only a proc
// mount, or a bind of a procfs (t, the detached bind: its filesystem is checked on the fd, as rootless podman
// --pid=host binds the host's /proc), may go on /proc itself, and only the lxcfs files may be covered below it. p
// is the resolved in-root path.
func checkProcDest(p, typ string, t *tree) error {
	switch {
	case p == "/proc":
		if typ == "proc" {
			return nil
		}
		if t != nil {
			var st unix.Statfs_t
			if err := unix.Fstatfs(t.fd, &st); err != nil {
				return &os.PathError{Op: "fstatfs", Path: t.name, Err: err}
			}
			if st.Type == unix.PROC_SUPER_MAGIC {
				return nil
			}
		}
	case strings.HasPrefix(p, "/proc/"):
		if procAllowed.Has(p) {
			return nil
		}
	default:
		return nil
	}
	return fmt.Errorf("%s: %w", p, ErrForbiddenDestination)
}

// MkdirAll makes dir, a path inside the container, under the rootfs at root (an absolute host path), creating what
// is missing with mode 0755 and following symlinks inside the rootfs exactly as Prepare does for mount
// destinations. It is for process.cwd, which runc creates the same way; an existing dir costs one openat2(2), and
// "/" (the rootfs itself, which the caller has already prepared) none: opening the rootfs to resolve "/" in it would
// cost a handle, its /proc/self/fd check and the openat2(2), five syscalls for nothing.
// Do not use it for a path outside a rootfs: root is treated as "/" for every symlink and "..".
func MkdirAll(root, dir string) error {
	if filepath.Clean("/"+dir) == "/" {
		return nil
	}
	r, err := openRoot(root)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer r.close()
	h, _, err := r.mkdirAll(dir)
	if err != nil {
		return err
	}
	h.Close()
	return nil
}
