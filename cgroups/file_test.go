package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMkdirAll(t *testing.T) {
	tests := []struct {
		name     string
		existing []string // directories made before, relative to the temp dir
		file     string   // a plain file made before, relative
		dir      string   // what mkdirAll is asked for, relative
		want     []string // what it reports it made, relative
		wantErr  error
	}{
		{name: "new under an existing parent", existing: []string{"a"}, dir: "a/ctr", want: []string{"a/ctr"}},
		{name: "missing levels are made top down", dir: "x/y/z", want: []string{"x", "x/y", "x/y/z"}},
		{name: "existing directory makes nothing", existing: []string{"a/ctr"}, dir: "a/ctr"},
		{name: "file in the way", file: "f", dir: "f/ctr", wantErr: unix.ENOTDIR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range tt.existing {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(root, tt.file), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// mkdirAll appends to what the caller made before: a directory of another hierarchy.
			made, err := mkdirAll([]string{"before"}, filepath.Join(root, tt.dir))
			if len(made) == 0 || made[0] != "before" {
				t.Fatalf("mkdirAll = %q, want it to start with the caller's %q", made, "before")
			}
			made = made[1:]
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(made) != 0 {
					t.Fatalf("mkdirAll = %q, %v; want nothing made and %v", made, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rel []string
			for _, m := range made {
				rel = append(rel, strings.TrimPrefix(m, root+"/"))
			}
			if !reflect.DeepEqual(rel, tt.want) {
				t.Errorf("made %q, want %q", rel, tt.want)
			}
			if st, err := os.Stat(filepath.Join(root, tt.dir)); err != nil || !st.IsDir() {
				t.Errorf("%s is not a directory: %v", tt.dir, err)
			}
		})
	}
}

func TestReadWriteFile(t *testing.T) {
	tests := []struct {
		name    string
		before  *string // the file's contents before the write; nil: no file
		write   string
		want    string // what readFile returns afterwards
		wantErr error
	}{
		{name: "short value", before: ptr(""), write: "42", want: "42"},
		{name: "replaces, never appends", before: ptr("123456789\n"), write: "7", want: "7"},
		{name: "value longer than the first read", before: ptr(""), write: strings.Repeat("1 2 3 ", 400), want: strings.TrimSpace(strings.Repeat("1 2 3 ", 400))},
		{name: "missing file is not created", write: "1", wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.before != nil {
				if err := os.WriteFile(filepath.Join(dir, "f"), []byte(*tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := writeFile(dir, "f", tt.write)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("writeFile = %v, want %v", err, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dir, "f")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("writeFile created the file: %v", err)
				}
				if _, err := readFile(dir, "f"); !errors.Is(err, tt.wantErr) {
					t.Errorf("readFile = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := readFile(dir, "f")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("readFile = %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), tt.want, len(tt.want))
			}
		})
	}
}
