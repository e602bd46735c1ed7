package rootfs

import (
	"errors"
	"os"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		want    mountOpts
	}{
		{"empty", nil, mountOpts{}},
		{"ro bind", []string{"bind", "ro"}, mountOpts{flags: unix.MS_BIND | unix.MS_RDONLY}},
		{"rbind", []string{"rbind"}, mountOpts{flags: unix.MS_BIND | unix.MS_REC}},
		{"later wins", []string{"ro", "rw", "nosuid", "suid", "nodev"},
			mountOpts{flags: unix.MS_NODEV, cleared: unix.MS_RDONLY | unix.MS_NOSUID}},
		{"clear flags", []string{"noexec", "exec", "noatime", "atime", "nodiratime", "diratime"},
			mountOpts{cleared: unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME}},
		{"set after clear", []string{"rw", "ro", "symfollow"}, mountOpts{flags: unix.MS_RDONLY, cleared: unix.MS_NOSYMFOLLOW}},
		{"sb flags", []string{"sync", "dirsync", "mand", "remount"},
			mountOpts{flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_MANDLOCK | unix.MS_REMOUNT}},
		{"async nomand", []string{"sync", "async", "mand", "nomand"},
			mountOpts{cleared: unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK}},
		{"atime modes", []string{"relatime", "norelatime", "strictatime", "nostrictatime", "noatime"},
			mountOpts{flags: unix.MS_NOATIME, cleared: unix.MS_RELATIME | unix.MS_STRICTATIME}},
		{"defaults", []string{"defaults"}, mountOpts{}},
		{"data", []string{"nosuid", "mode=755", "size=65536k"},
			mountOpts{flags: unix.MS_NOSUID, data: "mode=755,size=65536k"}},
		{"propagation in order", []string{"rshared", "slave", "private", "runbindable", "rslave", "shared", "rprivate", "unbindable"},
			mountOpts{propagation: []uintptr{
				unix.MS_SHARED | unix.MS_REC, unix.MS_SLAVE, unix.MS_PRIVATE, unix.MS_UNBINDABLE | unix.MS_REC,
				unix.MS_SLAVE | unix.MS_REC, unix.MS_SHARED, unix.MS_PRIVATE | unix.MS_REC, unix.MS_UNBINDABLE,
			}}},
		{"rro rnosuid", []string{"rbind", "rro", "rnosuid", "rnodev", "rnoexec"},
			mountOpts{flags: unix.MS_BIND | unix.MS_REC, recAttr: &unix.MountAttr{
				Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
			}}},
		{"recursive clears", []string{"rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"},
			mountOpts{recAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID |
				unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}}},
		{"rro then rrw", []string{"rro", "rrw"}, mountOpts{recAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}}},
		{"rnoatime", []string{"rnoatime"},
			mountOpts{recAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}}},
		{"rstrictatime after rnoatime", []string{"rnoatime", "rstrictatime"},
			mountOpts{recAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_STRICTATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}}},
		{"rrelatime", []string{"rnoatime", "rrelatime"},
			mountOpts{recAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RELATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}}},
		{"ratime", []string{"ratime"}, mountOpts{recAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR__ATIME}}},
		{"rnorelatime", []string{"rnorelatime"},
			mountOpts{recAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_STRICTATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}}},
		{"rnostrictatime", []string{"rnostrictatime"}, mountOpts{recAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR__ATIME}}},
		{"rnodiratime rnosymfollow", []string{"rnodiratime", "rnosymfollow"},
			mountOpts{recAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}}},
		{"nosymfollow", []string{"nosymfollow"}, mountOpts{flags: unix.MS_NOSYMFOLLOW}},
		{"tmpcopyup", []string{"tmpcopyup", "mode=1777"}, mountOpts{tmpcopyup: true, data: "mode=1777"}},
		{"idmap", []string{"bind", "idmap"}, mountOpts{flags: unix.MS_BIND, idmap: true}},
		{"ridmap", []string{"rbind", "ridmap"}, mountOpts{flags: unix.MS_BIND | unix.MS_REC, ridmap: true}},
		{"unknown passes as data", []string{"newinstance", "ptmxmode=0666", "gid=5"},
			mountOpts{data: "newinstance,ptmxmode=0666,gid=5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOptions(tt.options)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseOptions(%q) = %+v (recAttr %+v), want %+v (recAttr %+v)",
					tt.options, got, got.recAttr, tt.want, tt.want.recAttr)
			}
		})
	}
}

// TestIsBind: the parent and the init share this rule for which mounts are bind mounts.
func TestIsBind(t *testing.T) {
	tests := []struct {
		typ     string
		options []string
		want    bool
	}{
		{"bind", nil, true},
		{"", []string{"bind"}, true},
		{"none", []string{"rbind", "ro"}, true},
		{"tmpfs", []string{"nosuid", "size=64k"}, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		if got := IsBind(&specs.Mount{Type: tt.typ, Options: tt.options}); got != tt.want {
			t.Errorf("IsBind(type %q, options %q) = %v, want %v", tt.typ, tt.options, got, tt.want)
		}
	}
}

func TestNeedsRemount(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		want    bool
	}{
		{"plain bind", []string{"bind"}, false},
		{"rbind", []string{"rbind"}, false},
		{"rbind rw", []string{"rbind", "rw"}, true}, // a clearing flag remounts too (runc 1.5)
		{"ro", []string{"bind", "ro"}, true},
		{"nosuid", []string{"rbind", "nosuid"}, true},
		{"noatime", []string{"bind", "noatime"}, true},
		{"propagation only", []string{"bind", "rshared"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsRemount(parseOptions(tt.options)); got != tt.want {
				t.Errorf("needsRemount(%q) = %v, want %v", tt.options, got, tt.want)
			}
		})
	}
}

func TestKeepLocked(t *testing.T) {
	tests := []struct {
		name               string
		requested, current uintptr
		want               uintptr
	}{
		{"nothing locked", unix.MS_RDONLY, 0, unix.MS_RDONLY},
		{"nosuid nodev kept", unix.MS_RDONLY, unix.MS_NOSUID | unix.MS_NODEV, unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV},
		{"ro kept when rw asked", 0, unix.MS_RDONLY, unix.MS_RDONLY},
		{"atime kept", unix.MS_NOSUID, unix.MS_NOATIME, unix.MS_NOSUID | unix.MS_NOATIME},
		{"atime requested wins", unix.MS_STRICTATIME, unix.MS_RELATIME, unix.MS_STRICTATIME},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keepLocked(tt.requested, tt.current); got != tt.want {
				t.Errorf("keepLocked(%#x, %#x) = %#x, want %#x", tt.requested, tt.current, got, tt.want)
			}
		})
	}
}

func TestLockedFlags(t *testing.T) {
	tests := []struct {
		name string
		st   int64
		want uintptr
	}{
		{"none", 0, 0},
		{"ro nosuid", unix.ST_RDONLY | unix.ST_NOSUID, unix.MS_RDONLY | unix.MS_NOSUID},
		{"nodev noexec relatime", unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_RELATIME,
			unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME},
		{"noatime nodiratime nosymfollow", unix.ST_NOATIME | unix.ST_NODIRATIME | stNoSymfollow,
			unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_NOSYMFOLLOW},
		{"sb flags ignored", unix.ST_SYNCHRONOUS | unix.ST_MANDLOCK, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lockedFlags(tt.st); got != tt.want {
				t.Errorf("lockedFlags(%#x) = %#x, want %#x", tt.st, got, tt.want)
			}
		})
	}
}

func TestPropagationFlag(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    uintptr
		wantErr error
	}{
		{"default rslave", "", unix.MS_SLAVE | unix.MS_REC, nil},
		{"shared", "shared", unix.MS_SHARED, nil},
		{"rprivate", "rprivate", unix.MS_PRIVATE | unix.MS_REC, nil},
		{"runbindable", "runbindable", unix.MS_UNBINDABLE | unix.MS_REC, nil},
		{"bogus", "sideways", 0, ErrInvalidPropagation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := propagationFlag(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("propagationFlag(%q) = %#x, %v; want %#x, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCheckProcDest(t *testing.T) {
	tests := []struct {
		name, path, typ string
		src             string // the bind's source, whose filesystem is checked
		wantErr         error
	}{
		{"proc on /proc", "/proc", "proc", "", nil},
		{"tmpfs on /proc", "/proc", "tmpfs", "", ErrForbiddenDestination},
		{"bind of a procfs on /proc", "/proc", "bind", "/proc", nil},
		{"bind of a procfs directory on /proc", "/proc", "bind", "/proc/self", nil},
		{"bind of a directory on /proc", "/proc", "bind", t.TempDir(), ErrForbiddenDestination},
		{"bind of a procfs on /proc/sys", "/proc/sys", "bind", "/proc/sys", ErrForbiddenDestination},
		{"lxcfs meminfo", "/proc/meminfo", "bind", "", nil},
		{"elsewhere", "/procfoo", "bind", "", nil},
		{"mnt", "/mnt", "tmpfs", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src *tree
			if tt.src != "" {
				fd, err := unix.Open(tt.src, unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				src = &tree{fd: fd, name: tt.src}
				defer src.Close()
			}
			if err := checkProcDest(tt.path, tt.typ, src); !errors.Is(err, tt.wantErr) {
				t.Errorf("checkProcDest(%q, %q) = %v, want %v", tt.path, tt.typ, err, tt.wantErr)
			}
		})
	}
}

func TestDeviceMode(t *testing.T) {
	mode := func(m os.FileMode) *os.FileMode { return &m }
	tests := []struct {
		name    string
		dev     specs.LinuxDevice
		want    uint32
		wantErr bool
	}{
		{"char default 0666", specs.LinuxDevice{Type: "c"}, unix.S_IFCHR | 0o666, false},
		{"unbuffered char", specs.LinuxDevice{Type: "u", FileMode: mode(0o600)}, unix.S_IFCHR | 0o600, false},
		{"block", specs.LinuxDevice{Type: "b", FileMode: mode(0o640)}, unix.S_IFBLK | 0o640, false},
		{"fifo", specs.LinuxDevice{Type: "p"}, unix.S_IFIFO | 0o666, false},
		{"bad type", specs.LinuxDevice{Type: "x"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := deviceMode(&tt.dev)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("deviceMode(%+v) = %#o, %v; want %#o (error %v)", tt.dev, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNeedsSetupDev(t *testing.T) {
	tests := []struct {
		name   string
		mounts []specs.Mount
		want   bool
	}{
		{"no mounts", nil, true},
		{"tmpfs /dev", []specs.Mount{{Destination: "/dev", Type: "tmpfs"}}, true},
		{"bind /dev", []specs.Mount{{Destination: "/dev", Type: "bind", Source: "/dev"}}, false},
		{"rbind option /dev/", []specs.Mount{{Destination: "/dev/", Source: "/dev", Options: []string{"rbind"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsSetupDev(tt.mounts); got != tt.want {
				t.Errorf("needsSetupDev = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRemountAttr: the mount_setattr(2) attributes that stand for a MS_REMOUNT|MS_BIND with the per-mount flags:
// each of ro, nosuid, nodev, noexec, nosymfollow set or cleared to match, the atime mode replaced only when one
// is named (fs/namespace.c path_mount).
func TestRemountAttr(t *testing.T) {
	const settable = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC |
		unix.MOUNT_ATTR_NOSYMFOLLOW
	tests := []struct {
		name     string
		flags    uintptr
		set, clr uint64
	}{
		{"nothing: clear all, keep atime", 0, 0, settable},
		{"ro nosuid", unix.MS_RDONLY | unix.MS_NOSUID, unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID,
			unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW},
		{"noatime", unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME, settable | unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME},
		{"strictatime", unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME, settable | unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME},
		{"relatime", unix.MS_RELATIME, 0, settable | unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME},
		{"nodiratime alone: relatime", unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME, settable | unix.MOUNT_ATTR__ATIME},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := remountAttr(tt.flags)
			if a.Attr_set != tt.set || a.Attr_clr != tt.clr {
				t.Errorf("remountAttr(%#x) = set %#x clr %#x, want set %#x clr %#x", tt.flags, a.Attr_set, a.Attr_clr, tt.set, tt.clr)
			}
			if a.Attr_set&a.Attr_clr&^unix.MOUNT_ATTR__ATIME != 0 {
				t.Errorf("remountAttr(%#x) sets and clears %#x", tt.flags, a.Attr_set&a.Attr_clr)
			}
		})
	}
}

// TestFsconfigOptions: what fsTree hands fsconfig(2): the superblock flags by name, fsmount(2)'s attributes, and
// the data string split at its unescaped commas.
func TestFsconfigOptions(t *testing.T) {
	o := parseOptions([]string{"ro", "nosuid", "nodev", "noatime", "sync", "mode=755", "size=64k", "newinstance"})
	if got, want := sbFlagOptions(o.flags, false), []string{"ro", "sync"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sbFlagOptions = %q, want %q", got, want)
	}
	if got, want := sbFlagOptions(o.flags, true), []string{"sync"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sbFlagOptions (rw) = %q, want %q", got, want)
	}
	want := unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOATIME
	if got := fsmountAttr(o.flags); got != want {
		t.Errorf("fsmountAttr = %#x, want %#x", got, want)
	}
	for data, want := range map[string][]string{
		"":                              nil,
		"mode=755,size=64k":             {"mode=755", "size=64k"},
		",a,,b,":                        {"a", "b"},
		`lowerdir=/a\,b:/c,upperdir=/u`: {`lowerdir=/a\,b:/c`, "upperdir=/u"},
	} {
		if got := splitData(data); !reflect.DeepEqual(got, want) {
			t.Errorf("splitData(%q) = %q, want %q", data, got, want)
		}
	}
	if !hasOption("size=1k,mode=700", "mode") || hasOption("size=1k,nomode", "mode") {
		t.Errorf("hasOption: mode= not told apart")
	}
}
