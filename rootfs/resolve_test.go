package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// resolveTree builds a hostile rootfs in a temp dir: symlinks that try to leave it in every way, a dangling link,
// a loop, a file where a directory is wanted. outside is a directory next to it that must never be touched.
func resolveTree(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for _, d := range []string{"a/b", "etc", "proc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"abs":             outside,                   // absolute: must mean <root>/<outside>
		"up":              "../../../../../../..",    // climbs: must stop at the root
		"toa":             "a",                       // resolves inside
		"dangling":        "../run/new",              // target missing
		"loop1":           "loop2",                   // a loop
		"loop2":           "loop1",                   //
		"etc/resolv.conf": "../run/resolv.conf",      // the runc case: a dangling file link
		"symproc":         "a",                       // a proc destination that is a symlink
		"escape":          "/../../../../" + outside, // absolute and climbing
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

// forEachResolver runs fn with openat2 and, forced, with the pathrs-lite fallback a kernel without openat2 gets.
func forEachResolver(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, legacy := range []bool{false, true} {
		name := "openat2"
		if legacy {
			name = "pathrs-lite"
		}
		t.Run(name, func(t *testing.T) {
			noOpenat2.Store(legacy)
			defer noOpenat2.Store(false)
			fn(t)
		})
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		op      string // open, mkdirAll, createFile, plainDir
		dest    string
		want    string // the in-root path of the result
		wantErr error
	}{
		{name: "existing directory", op: "open", dest: "/a/b", want: "/a/b"},
		{name: "root itself", op: "open", dest: "/", want: "/"},
		{name: "dot dot is lexical", op: "open", dest: "/a/../a/b", want: "/a/b"},
		{name: "symlink inside", op: "open", dest: "/toa/b", want: "/a/b"},
		{name: "climbing symlink stops at root", op: "open", dest: "/up/a", want: "/a"},
		{name: "missing", op: "open", dest: "/nope", wantErr: unix.ENOENT},
		{name: "loop", op: "open", dest: "/loop1", wantErr: unix.ELOOP},
		{name: "mkdir existing", op: "mkdirAll", dest: "/a/b", want: "/a/b"},
		{name: "mkdir new levels", op: "mkdirAll", dest: "/x/y/z", want: "/x/y/z"},
		{name: "mkdir through inside symlink", op: "mkdirAll", dest: "/toa/new", want: "/a/new"},
		{name: "mkdir through climbing symlink", op: "mkdirAll", dest: "/up/c", want: "/c"},
		{name: "mkdir through dangling symlink", op: "mkdirAll", dest: "/dangling/sub", want: "/run/new/sub"},
		{name: "mkdir through absolute symlink", op: "mkdirAll", dest: "/abs/sub", want: "<outside>/sub"},
		{name: "mkdir through absolute climbing symlink", op: "mkdirAll", dest: "/escape/sub", want: "<outside>/sub"},
		{name: "mkdir on a file", op: "mkdirAll", dest: "/file/x", wantErr: unix.ENOTDIR},
		{name: "mkdir through loop", op: "mkdirAll", dest: "/loop1/x", wantErr: unix.ELOOP},
		{name: "create new file", op: "createFile", dest: "/a/f", want: "/a/f"},
		{name: "create through dangling file link", op: "createFile", dest: "/etc/resolv.conf", want: "/run/resolv.conf"},
		{name: "create existing file", op: "createFile", dest: "/file", want: "/file"},
		{name: "plain dir existing", op: "plainDir", dest: "/proc", want: "/proc"},
		{name: "plain dir created", op: "plainDir", dest: "/sys", want: "/sys"},
		{name: "plain dir is a symlink", op: "plainDir", dest: "/symproc", wantErr: ErrUnsafeDestination},
		{name: "plain dir is a file", op: "plainDir", dest: "/file", wantErr: ErrUnsafeDestination},
	}
	forEachResolver(t, func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				root, outside := resolveTree(t)
				r, err := openRoot(root)
				if err != nil {
					t.Fatal(err)
				}
				defer r.close()
				var f *handle
				var p string
				switch tt.op {
				case "open":
					f, p, err = r.open(tt.dest)
				case "mkdirAll":
					f, p, err = r.mkdirAll(tt.dest)
				case "createFile":
					f, p, err = r.createFile(tt.dest)
				case "plainDir":
					f, p, err = r.plainDir(tt.dest)
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("%s(%q) = %q, %v; want %v", tt.op, tt.dest, p, err, tt.wantErr)
					}
				} else {
					if err != nil {
						t.Fatalf("%s(%q): %v", tt.op, tt.dest, err)
					}
					defer f.Close()
					want := tt.want
					if len(want) > 9 && want[:9] == "<outside>" {
						want = outside + want[9:]
					}
					if p != want {
						t.Errorf("%s(%q) resolved to %q, want %q", tt.op, tt.dest, p, want)
					}
					// The handle must be what the in-root path names, seen from the host.
					var got, exp unix.Stat_t
					if err := unix.Fstat(int(f.Fd()), &got); err != nil {
						t.Fatal(err)
					}
					if err := unix.Lstat(filepath.Join(root, p), &exp); err != nil {
						t.Fatal(err)
					}
					if got.Ino != exp.Ino || got.Dev != exp.Dev {
						t.Errorf("handle of %q is not %s", tt.dest, filepath.Join(root, p))
					}
				}
				if ents, err := os.ReadDir(outside); err != nil || len(ents) != 0 {
					t.Errorf("outside directory touched: %v %v", ents, err)
				}
			})
		}
	})
}

// TestResolveMagicLink checks that a /proc magic link is refused even where the root is the host's "/", where
// following it would be harmless: RESOLVE_NO_MAGICLINKS is part of every lookup.
func TestResolveMagicLink(t *testing.T) {
	tests := []struct {
		name string
		dest string
	}{
		{name: "root link", dest: "/proc/self/root/etc"},
		{name: "cwd link", dest: "/proc/thread-self/cwd"},
	}
	r, err := openRoot("/")
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p, err := r.open(tt.dest)
			if err == nil {
				f.Close()
				t.Fatalf("open(%q) = %q, want ELOOP", tt.dest, p)
			}
			if !errors.Is(err, unix.ELOOP) {
				t.Fatalf("open(%q): %v, want ELOOP", tt.dest, err)
			}
		})
	}
}

func TestMkdirAll(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want string // the directory that must exist afterwards, relative to the rootfs
	}{
		{name: "existing", dir: "/a/b", want: "a/b"},
		{name: "new", dir: "/work/dir", want: "work/dir"},
		{name: "through a climbing symlink", dir: "/up/home", want: "home"},
		{name: "through an absolute symlink", dir: "/abs/cwd", want: "<outside>/cwd"},
	}
	forEachResolver(t, func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				root, outside := resolveTree(t)
				if err := MkdirAll(root, tt.dir); err != nil {
					t.Fatal(err)
				}
				want := strings.Replace(tt.want, "<outside>", strings.TrimPrefix(outside, "/"), 1)
				if st, err := os.Lstat(filepath.Join(root, want)); err != nil || !st.IsDir() {
					t.Errorf("%s not made: %v", want, err)
				}
				if ents, err := os.ReadDir(outside); err != nil || len(ents) != 0 {
					t.Errorf("outside directory touched: %v %v", ents, err)
				}
			})
		}
	})
}

// TestMkdirAllRoot: "/" (the usual process.cwd) is the rootfs itself and costs no syscall: not even the rootfs is
// opened, so a root that does not exist is no error, while any other directory still needs it.
func TestMkdirAllRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, dir := range []string{"/", "", ".", "/.."} {
		if err := MkdirAll(missing, dir); err != nil {
			t.Errorf("MkdirAll(%q): %v, want nil without opening the rootfs", dir, err)
		}
	}
	if err := MkdirAll(missing, "/a"); err == nil {
		t.Error("MkdirAll(/a) in a missing rootfs succeeded")
	}
}

// TestMkdirAllTopLevel: "/" is the rootfs's own handle (no lookup), which closing the handle mkdirAll returns leaves
// open; directories at the top are made on it.
func TestMkdirAllTopLevel(t *testing.T) {
	root, _ := resolveTree(t)
	r, err := openRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	h, p, err := r.mkdirAll("/")
	if err != nil || p != "/" {
		t.Fatalf("mkdirAll(/) = %q, %v; want /", p, err)
	}
	h.Close()
	h, p, err = r.mkdirAll("/new")
	if err != nil || p != "/new" {
		t.Fatalf("mkdirAll(/new) after closing the handle of / = %q, %v; want /new", p, err)
	}
	h.Close()
	if st, err := os.Lstat(filepath.Join(root, "new")); err != nil || !st.IsDir() {
		t.Errorf("/new not made: %v", err)
	}
	if h, _, err := r.open("/a/b"); err != nil {
		t.Errorf("open(/a/b) after closing the handles: %v", err)
	} else {
		h.Close()
	}
}

// TestMkdirMissingExisting: mkdirMissing makes the directory without looking the name up first; a name that has
// appeared meanwhile is taken only if it is a directory (a file is ENOTDIR and stays as it was).
func TestMkdirMissingExisting(t *testing.T) {
	root, _ := resolveTree(t)
	r, err := openRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	links := 0
	h, p, err := r.mkdirMissing("/a/b", &links)
	if err != nil || p != "/a/b" {
		t.Fatalf("mkdirMissing(/a/b), an existing directory = %q, %v; want /a/b", p, err)
	}
	h.Close()
	if _, _, err := r.mkdirMissing("/file", &links); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("mkdirMissing(/file), an existing file: %v, want ENOTDIR", err)
	}
	if st, err := os.Lstat(filepath.Join(root, "file")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("/file changed: %v %v", st, err)
	}
}
