package libcontainer

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedExe returns a handle on rt's own binary that a container cannot write through: CVE-2019-5736 let a
// container overwrite the runtime's binary by reopening /proc/<pid>/exe of a runtime process that had entered it.
// `rt init` is exec'd through this handle, so its /proc/<pid>/exe leads there and not to the host's file:
//
//   - a detached read-only mount of the binary (open_tree OPEN_TREE_CLONE + mount_setattr MOUNT_ATTR_RDONLY): a
//     reopen for writing fails with EROFS. It costs two syscalls and is visible in no mount namespace.
//   - without the privilege for that (rootless), a sealed memfd copy: write seals make it immutable. It costs a
//     copy of the binary (a few milliseconds), so it is only the fallback.
//
// Either way the exec itself stays a single one (no re-exec of a cloned binary).
func sealedExe() (*os.File, error) {
	f, err := roExe()
	if err != nil {
		if f, err = memfdExe(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// placeFd returns f at an fd in [low, high) or at least above, closing f when it has to be moved: where the
// child's fd shuffling before the exec cannot replace it (childFdsSafe).
func placeFd(f *os.File, low, high, above int) (*os.File, error) {
	if fd := int(f.Fd()); fd >= low && fd < high || fd >= above {
		return f, nil
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, low)
	if err == nil && fd >= high {
		unix.Close(fd)
		fd, err = unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, above)
	}
	if err != nil {
		f.Close()
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	moved := os.NewFile(uintptr(fd), f.Name())
	f.Close()
	return moved, nil
}

// roExe is a detached read-only mount of rt's binary.
func roExe() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("open_tree", err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("mount_setattr", err)
	}
	return os.NewFile(uintptr(fd), "rt-exe-ro"), nil
}

// memfdExe copies rt's binary into a memfd and seals it against every change.
func memfdExe() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("seal rt binary: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("rt-exe", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("seal rt binary: %w", os.NewSyscallError("memfd_create", err))
	}
	f := os.NewFile(uintptr(fd), "rt-exe-memfd")
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal rt binary: copy: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal rt binary: %w", os.NewSyscallError("fcntl F_ADD_SEALS", err))
	}
	return f, nil
}
