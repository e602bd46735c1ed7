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

// openat2 is unix.Openat2 as an *os.PathError, retrying EAGAIN (a rename or mount raced the lookup) and EINTR.
func openat2(dirfd int, path string, how *unix.OpenHow) (*os.File, error) {
	if noOpenat2.Load() {
		return nil, &os.PathError{Op: "openat2", Path: path, Err: unix.ENOSYS}
	}
	var err error
	for range openat2Retries {
		var fd int
		fd, err = unix.Openat2(dirfd, path, how)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
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

// rootDir is the rootfs, held open as an O_PATH handle on the bind mount Prepare made, so every lookup starts at
// the same directory even if the host path is swapped.
type rootDir struct {
	f    *os.File
	fd   int
	path string // canonical host path of f, to verify where a handle landed
}

// openRoot opens root as an O_PATH directory handle and records its canonical path as the kernel sees it.
func openRoot(root string) (*rootDir, error) {
	f, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	p, err := os.Readlink(fdPath(f))
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &rootDir{f: f, fd: int(f.Fd()), path: p}, nil
}

func (r *rootDir) close() { _ = r.f.Close() }

// fdPath is the magic link through which mount(2) and friends reach what f refers to, without a path walk the
// container could redirect (runc mounts through /proc/thread-self/fd the same way).
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// inRoot re-verifies, through /proc/self/fd, that f is inside the rootfs and returns its path relative to it
// ("/" for the root itself). A handle that is not inside is closed and refused with ErrEscapesRoot. Only needed
// where a symlink was followed: it is how the in-root path of the result is learnt.
func (r *rootDir) inRoot(f *os.File) (string, error) {
	p, err := os.Readlink(fdPath(f))
	if err != nil {
		_ = f.Close()
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
	_ = f.Close()
	return "", fmt.Errorf("%s resolved to %s: %w", f.Name(), p, ErrEscapesRoot)
}

// lookup resolves dest inside the rootfs as an O_PATH handle (plus extra open flags, e.g. O_DIRECTORY) and returns
// it with its in-root path. A path without symlinks, the usual case, is one openat2 call whose result is the
// cleaned path itself (RESOLVE_NO_SYMLINKS proves none was crossed); only when one was does the kernel follow it
// (still in the root) and /proc/self/fd tell where it led.
func (r *rootDir) lookup(dest string, extra uint64) (*os.File, string, error) {
	clean := filepath.Clean("/" + dest)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | extra, Resolve: inRootResolve | unix.RESOLVE_NO_SYMLINKS}
	f, err := openat2(r.fd, clean, &how)
	if err == nil {
		return f, clean, nil
	}
	if !errors.Is(err, unix.ELOOP) {
		return nil, "", err
	}
	how.Resolve = inRootResolve
	if f, err = openat2(r.fd, clean, &how); err != nil {
		return nil, "", err
	}
	p, err := r.inRoot(f)
	if err != nil {
		return nil, "", err
	}
	return f, p, nil
}

// open resolves dest inside the rootfs (symlinks are followed as if the rootfs were /) and returns an O_PATH handle
// and its in-root path.
func (r *rootDir) open(dest string) (*os.File, string, error) {
	f, p, err := r.lookup(dest, 0)
	if errors.Is(err, unix.ENOSYS) {
		return r.openLegacy(dest)
	}
	return f, p, err
}

// mkdirAll resolves dest inside the rootfs, creating the missing directories (mode 0755, as runc), and returns a
// handle on it and its in-root path. A dangling symlink on the way is followed inside the rootfs and its target
// created, as runc does.
func (r *rootDir) mkdirAll(dest string) (*os.File, string, error) {
	f, p, err := r.lookup(dest, unix.O_DIRECTORY)
	switch {
	case err == nil:
		return f, p, nil
	case errors.Is(err, unix.ENOSYS):
		return r.mkdirAllLegacy(dest)
	case !errors.Is(err, unix.ENOENT):
		return nil, "", err
	}
	for range maxSymlinks {
		f, p, next, err := r.mkdirWalk(filepath.Clean("/" + dest))
		if err != nil || next == "" {
			return f, p, err
		}
		dest = next
	}
	return nil, "", &os.PathError{Op: "mkdir", Path: dest, Err: unix.ELOOP}
}

// mkdirWalk creates the missing directories of the clean in-root path dest one level at a time: each name is
// looked up (one openat2 with no symlinks and nothing but that name) and made (mkdirat(2)) on the handle of its
// parent, so every directory is created where its parent's handle is, inside the rootfs. A symlink that resolves is
// left to the kernel (RESOLVE_IN_ROOT); a dangling one ends the walk with next, the path to walk again: the
// link's target, made absolute in the rootfs, plus what was left.
func (r *rootDir) mkdirWalk(dest string) (_ *os.File, _ string, next string, retErr error) {
	var cur *os.File // nil: the root itself
	curPath := "/"
	defer func() {
		if retErr != nil && cur != nil {
			_ = cur.Close()
		}
	}()
	dirfd := func() int {
		if cur == nil {
			return r.fd
		}
		return int(cur.Fd())
	}
	step := func(f *os.File, p string) {
		if cur != nil {
			_ = cur.Close()
		}
		cur, curPath = f, p
	}
	names := strings.Split(strings.TrimPrefix(dest, "/"), "/")
	for i := 0; i < len(names); i++ {
		name := names[i]
		if name == "" {
			continue
		}
		how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: oneStepResolve}
		f, err := openat2(dirfd(), name, &how)
		switch {
		case err == nil:
			step(f, filepath.Join(curPath, name))
			continue
		case errors.Is(err, unix.ENOENT):
			// Missing: make it; EEXIST is a racing creator, fine as long as the lookup then finds a directory.
			if err := unix.Mkdirat(dirfd(), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return nil, "", "", &os.PathError{Op: "mkdirat", Path: filepath.Join(curPath, name), Err: err}
			}
			if f, err = openat2(dirfd(), name, &how); err != nil {
				return nil, "", "", err
			}
			step(f, filepath.Join(curPath, name))
			continue
		case !errors.Is(err, unix.ELOOP):
			return nil, "", "", err
		}
		// name is a symlink. One that resolves: let the kernel follow it inside the root.
		link := filepath.Join(curPath, name)
		how.Resolve = inRootResolve
		f, err = openat2(r.fd, link, &how)
		if err == nil {
			p, err := r.inRoot(f)
			if err != nil {
				return nil, "", "", err
			}
			step(f, p)
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return nil, "", "", err
		}
		// A dangling one: walk again along its target, read from the link itself (never followed here).
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dirfd(), name, buf)
		if err != nil {
			return nil, "", "", &os.PathError{Op: "readlinkat", Path: link, Err: err}
		}
		target := string(buf[:n])
		if !filepath.IsAbs(target) {
			target = filepath.Join(curPath, target)
		}
		rest := append([]string{target}, names[i+1:]...)
		return nil, "", filepath.Clean("/" + filepath.Join(rest...)), nil
	}
	if cur == nil {
		// dest was "/": the lookup in mkdirAll found it, so this is only reached through a link to "/".
		return r.lookupDir("/")
	}
	return cur, curPath, "", nil
}

// lookupDir is lookup for a directory, as mkdirWalk's four results.
func (r *rootDir) lookupDir(dest string) (*os.File, string, string, error) {
	f, p, err := r.lookup(dest, unix.O_DIRECTORY)
	return f, p, "", err
}

// maxSymlinks bounds the dangling-symlink chase in createFile, like the kernel's MAXSYMLINKS (path_resolution(7)).
const maxSymlinks = 40

// createFile resolves dest inside the rootfs and creates it as an empty regular file if it is missing (the
// destination of a bind mount of a file), following a dangling symlink inside the rootfs as runc does for e.g.
// /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf. It never truncates: O_CREAT|O_EXCL|O_NOFOLLOW only.
func (r *rootDir) createFile(dest string) (*os.File, string, error) {
	for range maxSymlinks {
		f, p, err := r.open(dest)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return f, p, err
		}
		dir, base := filepath.Split(filepath.Clean("/" + dest))
		if base == "" || base == "." || base == ".." {
			return nil, "", &os.PathError{Op: "create", Path: dest, Err: unix.EINVAL}
		}
		parent, parentPath, err := r.mkdirAll(dir)
		if err != nil {
			return nil, "", err
		}
		pfd := int(parent.Fd())
		fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			_ = unix.Close(fd)
			// Take the handle on the new file from its parent's: one name, no symlink, no second walk.
			fd, err = unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			_ = parent.Close()
			if err != nil {
				return nil, "", &os.PathError{Op: "openat", Path: dest, Err: err}
			}
			return os.NewFile(uintptr(fd), dest), filepath.Join(parentPath, base), nil
		}
		if !errors.Is(err, unix.EEXIST) {
			_ = parent.Close()
			return nil, "", &os.PathError{Op: "openat", Path: dest, Err: err}
		}
		// It exists but the lookup failed: a dangling symlink. Chase it inside the rootfs.
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(pfd, base, buf)
		_ = parent.Close()
		if err != nil {
			return nil, "", &os.PathError{Op: "readlinkat", Path: dest, Err: err}
		}
		target := string(buf[:n])
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		dest = target
	}
	return nil, "", &os.PathError{Op: "create", Path: dest, Err: unix.ELOOP}
}

// plainDir resolves dest for a proc or sysfs mount: the last component must be a real directory (created if
// missing), never a symlink or anything else (runc's check, hardened after CVE-2025-52881). One openat(2) of that
// name on its parent's handle with O_PATH|O_NOFOLLOW|O_DIRECTORY decides it: a symlink is then opened as itself
// and, like any non-directory, fails O_DIRECTORY with ENOTDIR.
func (r *rootDir) plainDir(dest string) (*os.File, string, error) {
	dir, base := filepath.Split(filepath.Clean("/" + dest))
	if base == "" {
		return nil, "", fmt.Errorf("%s: %w", dest, ErrUnsafeDestination)
	}
	parent, parentPath, err := r.mkdirAll(dir)
	if err != nil {
		return nil, "", err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(pfd, base, flags, 0)
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, "", &os.PathError{Op: "mkdirat", Path: dest, Err: err}
		}
		fd, err = unix.Openat(pfd, base, flags, 0)
	}
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return nil, "", fmt.Errorf("%s: %w", dest, ErrUnsafeDestination)
	}
	if err != nil {
		return nil, "", &os.PathError{Op: "openat", Path: dest, Err: err}
	}
	return os.NewFile(uintptr(fd), dest), filepath.Join(parentPath, base), nil
}

// mountID is the id of the mount f is on (statx(2) STATX_MNT_ID, Linux 5.8).
func mountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, &os.PathError{Op: "statx", Path: f.Name(), Err: err}
	}
	return stx.Mnt_id, nil
}

// reopenAfterMount looks in (the in-root path the mount target resolved to, so no symlink is on it) up again after
// something was mounted on old (a handle taken before the mount still refers to the covered directory) and checks
// the new handle is on a different mount, i.e. that the mount landed where it was meant to. old is closed.
func (r *rootDir) reopenAfterMount(in string, old *os.File) (*os.File, error) {
	defer old.Close()
	oldID, err := mountID(old)
	if err != nil {
		return nil, err
	}
	f, _, err := r.open(in)
	if err != nil {
		return nil, err
	}
	newID, err := mountID(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if newID == oldID {
		_ = f.Close()
		return nil, fmt.Errorf("%s is not the new mount: %w", in, ErrEscapesRoot)
	}
	return f, nil
}

// openLegacy is open on a kernel without openat2 (before 5.6): pathrs-lite's emulation, re-verified.
func (r *rootDir) openLegacy(dest string) (*os.File, string, error) {
	f, err := pathrs.OpenatInRoot(r.f, dest)
	if err != nil {
		return nil, "", err
	}
	p, err := r.inRoot(f)
	if err != nil {
		return nil, "", err
	}
	return f, p, nil
}

// mkdirAllLegacy is mkdirAll on a kernel without openat2. pathrs-lite refuses to create through a dangling
// symlink; runc follows it inside the rootfs, so on ENOENT/ENOTDIR the symlinks are resolved with
// securejoin.SecureJoin first and the creation retried on the result (still with MkdirAllHandle, so a race can
// only fail, never escape).
func (r *rootDir) mkdirAllLegacy(dest string) (*os.File, string, error) {
	f, err := pathrs.MkdirAllHandle(r.f, dest, 0o755)
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
			f, err = pathrs.MkdirAllHandle(r.f, rel, 0o755)
		}
	}
	if err != nil {
		return nil, "", err
	}
	p, err := r.inRoot(f)
	if err != nil {
		return nil, "", err
	}
	return f, p, nil
}

// procAllowed are the files under /proc a bind mount may cover: the ones lxcfs emulates, as runc allows.
var procAllowed = map[string]bool{
	"/proc/cpuinfo":                true,
	"/proc/diskstats":              true,
	"/proc/meminfo":                true,
	"/proc/stat":                   true,
	"/proc/swaps":                  true,
	"/proc/uptime":                 true,
	"/proc/loadavg":                true,
	"/proc/slabinfo":               true,
	"/proc/net/dev":                true,
	"/proc/sys/kernel/ns_last_pid": true,
}

// checkProcDest refuses a mount that would cover /proc or something under it (runc's checkProcMount): only a proc
// mount may go on /proc itself, and only the lxcfs files may be covered below it. p is the resolved in-root path.
func checkProcDest(p, typ string) error {
	switch {
	case p == "/proc":
		if typ == "proc" {
			return nil
		}
	case strings.HasPrefix(p, "/proc/"):
		if procAllowed[p] {
			return nil
		}
	default:
		return nil
	}
	return fmt.Errorf("%s: %w", p, ErrForbiddenDestination)
}
