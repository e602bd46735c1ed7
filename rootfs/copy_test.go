package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCopyFileNotRegular: copyFile of a name that was a regular file when listed but is a FIFO when opened (a
// sibling container swapped it) returns errNotRegular at once instead of blocking in open(2) for a writer.
func TestCopyFileNotRegular(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := unix.Mkfifo(filepath.Join(src, "f"), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	dd, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	done := make(chan error, 1)
	go func() { done <- copyFile(int(sd.Fd()), int(dd.Fd()), "f") }()
	select {
	case err := <-done:
		if !errors.Is(err, errNotRegular) {
			t.Errorf("copyFile of a FIFO: %v, want errNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("copyFile of a FIFO blocked in open")
	}
	if _, err := os.Lstat(filepath.Join(dst, "f")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("copyFile of a FIFO left %s/f: %v", dst, err)
	}
}
