package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// rootDir is the rootfs, held open as an O_PATH handle on the bind mount Prepare made, so every lookup starts at
// the same directory even if the host path is swapped.
type rootDir struct {
	f    *os.File
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
	return &rootDir{f: f, path: p}, nil
}

func (r *rootDir) close() { _ = r.f.Close() }

// fdPath is the magic link through which mount(2) and friends reach what f refers to, without a path walk the
// container could redirect (runc mounts through /proc/thread-self/fd the same way).
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// inRoot re-verifies, through /proc/self/fd, that f is inside the rootfs and returns its path relative to it
// ("/" for the root itself). A handle that is not inside is closed and refused with ErrEscapesRoot.
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

// open resolves dest inside the rootfs (symlinks are followed as if the rootfs were /) and returns an O_PATH handle.
func (r *rootDir) open(dest string) (*os.File, string, error) {
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

// mkdirAll resolves dest inside the rootfs, creating the missing directories (mode 0755, as runc), and returns a
// handle on it. pathrs-lite refuses to create through a dangling symlink; runc follows it inside the rootfs, so on
// ENOENT/ENOTDIR the symlinks are resolved with securejoin.SecureJoin first and the creation retried on the result
// (still with MkdirAllHandle, so a race can only fail, never escape).
func (r *rootDir) mkdirAll(dest string) (*os.File, string, error) {
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
		dir, base := filepath.Split(filepath.Clean(dest))
		if base == "" || base == "." || base == ".." {
			return nil, "", &os.PathError{Op: "create", Path: dest, Err: unix.EINVAL}
		}
		parent, _, err := r.mkdirAll(dir)
		if err != nil {
			return nil, "", err
		}
		pfd := int(parent.Fd())
		fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			_ = unix.Close(fd)
			_ = parent.Close()
			continue // open it again through the safe lookup
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
// missing), never a symlink or anything else (runc's check, hardened after CVE-2025-52881).
func (r *rootDir) plainDir(dest string) (*os.File, string, error) {
	dir, base := filepath.Split(dest)
	if base == "" {
		return nil, "", fmt.Errorf("%s: %w", dest, ErrUnsafeDestination)
	}
	parent, _, err := r.mkdirAll(dir)
	if err != nil {
		return nil, "", err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	var st unix.Stat_t
	err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, "", &os.PathError{Op: "mkdirat", Path: dest, Err: err}
		}
		err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return nil, "", &os.PathError{Op: "fstatat", Path: dest, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, "", fmt.Errorf("%s: %w", dest, ErrUnsafeDestination)
	}
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", &os.PathError{Op: "openat", Path: dest, Err: err}
	}
	f := os.NewFile(uintptr(fd), dest)
	p, err := r.inRoot(f)
	if err != nil {
		return nil, "", err
	}
	return f, p, nil
}

// mountID is the id of the mount f is on (statx(2) STATX_MNT_ID, Linux 5.8).
func mountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, &os.PathError{Op: "statx", Path: f.Name(), Err: err}
	}
	return stx.Mnt_id, nil
}

// reopenAfterMount looks dest up again after something was mounted on old (a handle taken before the mount still
// refers to the covered directory) and checks the new handle is on a different mount, i.e. that the mount landed
// where it was meant to. old is closed.
func (r *rootDir) reopenAfterMount(dest string, old *os.File) (*os.File, error) {
	defer old.Close()
	oldID, err := mountID(old)
	if err != nil {
		return nil, err
	}
	f, _, err := r.open(dest)
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
		return nil, fmt.Errorf("%s is not the new mount: %w", dest, ErrEscapesRoot)
	}
	return f, nil
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
