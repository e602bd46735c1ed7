// Package rawfile opens and reads files with bare open(2) and read(2), for the hot paths that read or write many
// small files (cgroup control files, state.json, /proc/<pid>/stat). An *os.File costs more there: os.Open offers
// each fd to the runtime's poller (fcntl(2) and epoll_ctl(2), and epoll_create1/eventfd2 for the first), and
// os.ReadFile adds an fstat(2); `list` paid that three times per container, and a container's start writes dozens of
// control files. Not for a file that can block (a fifo, a pipe, a socket): nothing here polls.
package rawfile

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Open is open(2) of path with flags|O_CLOEXEC (mode 0: not for O_CREAT), retried on EINTR. Errors are
// *os.PathError with Op "open", so errors.Is(err, fs.ErrNotExist) works. The caller closes the fd.
func Open(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// OpenFile is Open wrapped in an *os.File for a reader that wants one (bufio, mountinfo's parser, flock). The fd
// stays out of the runtime's poller, which os.Open would offer it to (epoll_ctl(2) and fcntl(2) for each fd, and
// epoll_create1(2)/eventfd2(2) for the first, after which an idle thread of the runtime sleeps in epoll_pwait(2)).
// Not for a file to wait on (a fifo, a socket, mountinfo's POLLPRI on a mount change): deadlines do not work on it
// and its reads block a thread.
func OpenFile(path string, flags int) (*os.File, error) {
	fd, err := Open(path, flags)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Read appends the contents of the file at path to buf and returns it: Open O_RDONLY, read(2) until EOF (retried on
// EINTR), close(2). It reads into buf's spare capacity and grows buf only when that is full, so a buffer sized for
// the file costs one read(2) and the EOF's; procfs and cgroupfs files report size 0, hence no fstat(2). Errors are
// *os.PathError with Op "open" or "read".
func Read(path string, buf []byte) ([]byte, error) {
	fd, err := Open(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := Reader(fd).Read(buf[len(buf):cap(buf)])
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		buf = buf[:len(buf)+n]
	}
}

// Reader is an io.Reader of an open fd by bare read(2)s, retried on EINTR; 0 bytes read into a non-empty p is
// io.EOF. For a file whose reads never block (a regular file; or one opened O_NONBLOCK, whose EAGAIN it returns):
// an *os.File of the fd would offer it to the poller. The caller closes the fd.
type Reader int

// Read is one read(2) into p.
func (r Reader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
