// Command gofloor is `make bench`'s Go floor: the least a static Go runtime does to start a container.
//
// It re-executes itself (/proc/self/exe) into new mount, pid, network, ipc and uts namespaces, and the child
// bind-mounts the rootfs, mounts /proc, pivots into it and executes /bin/true, while the parent waits. No
// cgroups, no config, no other mounts: what is left of a runtime written in Go once the work is taken away,
// so that the distance from rt to it is the part that is not the language. Only the standard library's
// syscall package, built with CGO_ENABLED=0.
//
// Usage: gofloor ROOTFS
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "init" {
		err := initChild(os.Args[2])
		fmt.Fprintf(os.Stderr, "gofloor init: %v\n", err)
		os.Exit(1)
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gofloor ROOTFS")
		os.Exit(2)
	}
	code, err := parent(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofloor: %v\n", err)
	}
	os.Exit(code)
}

// parent starts the child in its namespaces and returns its exit code.
func parent(rootfs string) (int, error) {
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"gofloor", "init", rootfs}, &syscall.ProcAttr{
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
			syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS},
	})
	if err != nil {
		return 1, fmt.Errorf("fork/exec: %w", err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return 1, fmt.Errorf("wait4: %w", err)
	}
	return ws.ExitStatus(), nil
}

// initChild makes rootfs the root and executes /bin/true in it; it returns only on failure.
func initChild(rootfs string) error {
	steps := []struct {
		what string
		do   func() error
	}{
		{"make / private", func() error { return syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, "") }},
		{"bind rootfs", func() error { return syscall.Mount(rootfs, rootfs, "", syscall.MS_BIND|syscall.MS_REC, "") }},
		{"chdir rootfs", func() error { return syscall.Chdir(rootfs) }},
		{"mount proc", func() error { return syscall.Mount("proc", "proc", "proc", 0, "") }},
		{"pivot_root", func() error { return syscall.PivotRoot(".", ".") }},
		{"detach old root", func() error { return syscall.Unmount(".", syscall.MNT_DETACH) }},
		{"chdir /", func() error { return syscall.Chdir("/") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return syscall.Exec("/bin/true", []string{"/bin/true"}, []string{"PATH=/bin"})
}
