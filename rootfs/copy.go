package rootfs

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyTree copies the contents of the directory src into the empty directory dst (tmpcopyup), keeping modes and
// owners, copying symlinks as symlinks and recreating device nodes, fifos and sockets. Everything is done relative
// to directory handles with O_NOFOLLOW, so a symlink in the covered directory is copied, never followed.
func copyTree(src, dst *os.File) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return err
	}
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "fstatat", Path: name, Err: err}
		}
		perm := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := copyDir(sfd, dfd, name, perm, &st); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := copyFile(sfd, dfd, name); err != nil {
				return err
			}
		case unix.S_IFLNK:
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(sfd, name, buf)
			if err != nil {
				return &os.PathError{Op: "readlinkat", Path: name, Err: err}
			}
			if err := unix.Symlinkat(string(buf[:n]), dfd, name); err != nil {
				return &os.PathError{Op: "symlinkat", Path: name, Err: err}
			}
			if err := chownAt(dfd, name, &st); err != nil {
				return err
			}
		default:
			if err := unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)); err != nil {
				return &os.PathError{Op: "mknodat", Path: name, Err: err}
			}
			if err := chownAt(dfd, name, &st); err != nil {
				return err
			}
			if err := unix.Fchmodat(dfd, name, perm, 0); err != nil {
				return &os.PathError{Op: "fchmodat", Path: name, Err: err}
			}
		}
	}
	return nil
}

// chownAt gives name in dirfd the owner in st, before any chmod (chown(2) clears the set-user-ID bit).
func chownAt(dirfd int, name string, st *unix.Stat_t) error {
	if err := unix.Fchownat(dirfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "fchownat", Path: name, Err: err}
	}
	return nil
}

// copyDir creates name in dfd and copies the directory name of sfd into it.
func copyDir(sfd, dfd int, name string, perm uint32, st *unix.Stat_t) error {
	if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
		return &os.PathError{Op: "mkdirat", Path: name, Err: err}
	}
	if err := chownAt(dfd, name, st); err != nil {
		return err
	}
	s, err := openDirAt(sfd, name)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := openDirAt(dfd, name)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := copyTree(s, d); err != nil {
		return err
	}
	if err := unix.Fchmod(int(d.Fd()), perm); err != nil {
		return &os.PathError{Op: "fchmod", Path: name, Err: err}
	}
	return nil
}

// openDirAt opens the directory name under dirfd without following a symlink.
func openDirAt(dirfd int, name string) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// errNotRegular means a file that was regular when the directory was read is something else once opened.
var errNotRegular = errors.New("not a regular file when opened")

// copyFile copies the regular file name of sfd to a new file (O_EXCL) in dfd, with the mode and owner of the file
// it opened. The type is checked again on the opened fd: a container sharing the directory may have swapped the file for a FIFO since the fstatat, and a
// blocking open of that would hang the init forever (issue 17). O_NONBLOCK makes the open of a FIFO or a device
// return at once; on a regular file it changes nothing.
func copyFile(sfd, dfd int, name string) (retErr error) {
	in, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "openat", Path: name, Err: err}
	}
	src := os.NewFile(uintptr(in), name)
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return &os.PathError{Op: "copy", Path: name, Err: errNotRegular}
	}
	perm := st.Mode & 0o7777
	out, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "openat", Path: name, Err: err}
	}
	dst := os.NewFile(uintptr(out), name)
	defer func() {
		if err := dst.Close(); err != nil && retErr == nil {
			retErr = err
		}
	}()
	if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := unix.Fchown(out, int(st.Uid), int(st.Gid)); err != nil {
		return &os.PathError{Op: "fchown", Path: name, Err: err}
	}
	if err := unix.Fchmod(out, perm); err != nil {
		return &os.PathError{Op: "fchmod", Path: name, Err: err}
	}
	return nil
}
