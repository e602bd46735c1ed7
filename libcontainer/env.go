package libcontainer

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/rawfile"
)

// passwdFile is the container's user database, read from inside its root (after pivot_root, or in the joined mount
// namespace for exec).
const passwdFile = "/etc/passwd"

// processEnv is process.env as the process gets it, as runc 1.5 prepares it: each entry must be NAME=VALUE without
// a NUL byte; a name given twice keeps its last value, at the place of its last occurrence; and HOME, when unset or
// empty, is the home directory of uid in the container's /etc/passwd, or "/" without an entry (Docker puts no HOME
// in the config and relies on this). passwd is the file to read (passwdFile).
func processEnv(env []string, uid uint32, passwd string) ([]string, error) {
	out := make([]string, 0, len(env)+1)
	seen := make(map[string]bool, len(env))
	homeSet := false
	// Backwards, so that the first occurrence met is the last one given.
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("process.env[%d] %q: want NAME=VALUE", i, kv)
		}
		if key == "" {
			return nil, fmt.Errorf("process.env[%d] %q: empty name", i, kv)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("process.env[%d] %s: contains a NUL byte", i, key)
		}
		if key == "HOME" {
			if val == "" {
				continue // replaced below, as runc does
			}
			homeSet = true
		}
		out = append(out, kv)
	}
	slices.Reverse(out)
	if !homeSet {
		out = append(out, "HOME="+userHome(passwd, uid))
	}
	return out, nil
}

// userHome is the home directory of the first entry for uid in the passwd file at path (passwd(5):
// name:password:UID:GID:GECOS:directory:shell), and "/" when there is none or the file cannot be read, as runc's.
func userHome(path string, uid uint32) string {
	const none = "/"
	// O_NONBLOCK: the container's /etc/passwd could be a fifo, which must not hang the init; a regular file ignores it.
	// O_NOCTTY: or a link to a terminal, which the init (a session leader, without one unless process.terminal)
	// would otherwise take as its controlling terminal on open, before the regular-file check refuses it.
	fd, err := rawfile.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return none
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return none
	}
	// Read through the bare fd: an *os.File of a non-blocking fd would be offered to the poller (fcntl(2),
	// epoll_ctl(2)) for a file that never blocks.
	sc := bufio.NewScanner(rawfile.Reader(fd))
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) < 3 {
			continue
		}
		if id, err := strconv.ParseUint(fields[2], 10, 32); err != nil || uint32(id) != uid {
			continue
		}
		if len(fields) < 6 {
			return "" // an entry without a directory field: runc's lookup gives an empty home
		}
		return fields[5]
	}
	return none
}
