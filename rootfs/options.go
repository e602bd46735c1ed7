package rootfs

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// mountOpts is a spec mount's option list parsed the way runc's specconv does: classic mount(2) flags, propagation
// changes applied after the mount, recursive mount_setattr(2) attributes, and everything unknown as the data string.
type mountOpts struct {
	flags       uintptr         // MS_* flags for mount(2)
	cleared     uintptr         // MS_* flags an option asked to clear (rw, suid, dev, exec, atime, ...)
	propagation []uintptr       // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (maybe |MS_REC), in the order given
	recAttr     *unix.MountAttr // recursive attributes (rro, rnosuid, ...), nil when none was given
	data        string          // unknown options, comma-joined, passed to the filesystem
	tmpcopyup   bool            // copy the destination's contents into a new tmpfs (runc extension)
	idmap       bool            // idmapped mount, top mount only
	ridmap      bool            // idmapped mount, recursively
}

// flagOpt is one classic option: clear says whether it clears the flag rather than sets it.
type flagOpt struct {
	clear bool
	flag  uintptr
}

// flagOptions are the mount(8) options runc accepts, with the same meanings (runc libcontainer/specconv).
var flagOptions = table.Table[string, flagOpt]{
	{Key: "async", Val: flagOpt{true, unix.MS_SYNCHRONOUS}},
	{Key: "atime", Val: flagOpt{true, unix.MS_NOATIME}},
	{Key: "bind", Val: flagOpt{false, unix.MS_BIND}},
	{Key: "defaults", Val: flagOpt{false, 0}},
	{Key: "dev", Val: flagOpt{true, unix.MS_NODEV}},
	{Key: "diratime", Val: flagOpt{true, unix.MS_NODIRATIME}},
	{Key: "dirsync", Val: flagOpt{false, unix.MS_DIRSYNC}},
	{Key: "exec", Val: flagOpt{true, unix.MS_NOEXEC}},
	{Key: "iversion", Val: flagOpt{false, unix.MS_I_VERSION}},
	{Key: "lazytime", Val: flagOpt{false, unix.MS_LAZYTIME}},
	{Key: "loud", Val: flagOpt{true, unix.MS_SILENT}},
	{Key: "mand", Val: flagOpt{false, unix.MS_MANDLOCK}},
	{Key: "noatime", Val: flagOpt{false, unix.MS_NOATIME}},
	{Key: "nodev", Val: flagOpt{false, unix.MS_NODEV}},
	{Key: "nodiratime", Val: flagOpt{false, unix.MS_NODIRATIME}},
	{Key: "noexec", Val: flagOpt{false, unix.MS_NOEXEC}},
	{Key: "noiversion", Val: flagOpt{true, unix.MS_I_VERSION}},
	{Key: "nolazytime", Val: flagOpt{true, unix.MS_LAZYTIME}},
	{Key: "nomand", Val: flagOpt{true, unix.MS_MANDLOCK}},
	{Key: "norelatime", Val: flagOpt{true, unix.MS_RELATIME}},
	{Key: "nostrictatime", Val: flagOpt{true, unix.MS_STRICTATIME}},
	{Key: "nosuid", Val: flagOpt{false, unix.MS_NOSUID}},
	{Key: "nosymfollow", Val: flagOpt{false, unix.MS_NOSYMFOLLOW}},
	{Key: "rbind", Val: flagOpt{false, unix.MS_BIND | unix.MS_REC}},
	{Key: "relatime", Val: flagOpt{false, unix.MS_RELATIME}},
	{Key: "remount", Val: flagOpt{false, unix.MS_REMOUNT}},
	{Key: "ro", Val: flagOpt{false, unix.MS_RDONLY}},
	{Key: "rw", Val: flagOpt{true, unix.MS_RDONLY}},
	{Key: "silent", Val: flagOpt{false, unix.MS_SILENT}},
	{Key: "strictatime", Val: flagOpt{false, unix.MS_STRICTATIME}},
	{Key: "suid", Val: flagOpt{true, unix.MS_NOSUID}},
	{Key: "symfollow", Val: flagOpt{true, unix.MS_NOSYMFOLLOW}},
	{Key: "sync", Val: flagOpt{false, unix.MS_SYNCHRONOUS}},
}

// propagationOptions map the propagation options to the flags of a second mount(2) call (mount(2) "Changing the
// propagation type of an existing mount").
var propagationOptions = table.Table[string, uintptr]{
	{Key: "private", Val: unix.MS_PRIVATE},
	{Key: "rprivate", Val: unix.MS_PRIVATE | unix.MS_REC},
	{Key: "shared", Val: unix.MS_SHARED},
	{Key: "rshared", Val: unix.MS_SHARED | unix.MS_REC},
	{Key: "slave", Val: unix.MS_SLAVE},
	{Key: "rslave", Val: unix.MS_SLAVE | unix.MS_REC},
	{Key: "unbindable", Val: unix.MS_UNBINDABLE},
	{Key: "runbindable", Val: unix.MS_UNBINDABLE | unix.MS_REC},
}

// atimeMode marks the recursive atime options: MOUNT_ATTR_{RELATIME,NOATIME,STRICTATIME} are an enum, not bits, so
// mount_setattr(2) needs MOUNT_ATTR__ATIME in attr_clr whenever one is set (mount_setattr(2), "EINVAL").
const atimeMode = ^uint64(0)

// recAttrOptions are the recursive attributes runc accepts (runc 1.1+, applied with mount_setattr(2) and
// AT_RECURSIVE). value is the attribute; clear says whether the option clears it. The atime ones select a mode.
// recAttr is what one recursive attribute option does.
type recAttr struct {
	clear bool
	attr  uint64
	atime uint64 // the atime mode selected, when attr == atimeMode
}

var recAttrOptions = table.Table[string, recAttr]{
	{Key: "rro", Val: recAttr{false, unix.MOUNT_ATTR_RDONLY, 0}},
	{Key: "rrw", Val: recAttr{true, unix.MOUNT_ATTR_RDONLY, 0}},
	{Key: "rnosuid", Val: recAttr{false, unix.MOUNT_ATTR_NOSUID, 0}},
	{Key: "rsuid", Val: recAttr{true, unix.MOUNT_ATTR_NOSUID, 0}},
	{Key: "rnodev", Val: recAttr{false, unix.MOUNT_ATTR_NODEV, 0}},
	{Key: "rdev", Val: recAttr{true, unix.MOUNT_ATTR_NODEV, 0}},
	{Key: "rnoexec", Val: recAttr{false, unix.MOUNT_ATTR_NOEXEC, 0}},
	{Key: "rexec", Val: recAttr{true, unix.MOUNT_ATTR_NOEXEC, 0}},
	{Key: "rnodiratime", Val: recAttr{false, unix.MOUNT_ATTR_NODIRATIME, 0}},
	{Key: "rdiratime", Val: recAttr{true, unix.MOUNT_ATTR_NODIRATIME, 0}},
	{Key: "rnosymfollow", Val: recAttr{false, unix.MOUNT_ATTR_NOSYMFOLLOW, 0}},
	{Key: "rsymfollow", Val: recAttr{true, unix.MOUNT_ATTR_NOSYMFOLLOW, 0}},
	{Key: "rnoatime", Val: recAttr{false, atimeMode, unix.MOUNT_ATTR_NOATIME}},
	{Key: "rstrictatime", Val: recAttr{false, atimeMode, unix.MOUNT_ATTR_STRICTATIME}},
	{Key: "rrelatime", Val: recAttr{false, atimeMode, unix.MOUNT_ATTR_RELATIME}},
	{Key: "ratime", Val: recAttr{false, atimeMode, unix.MOUNT_ATTR_RELATIME}},         // "not noatime": the kernel default, relatime
	{Key: "rnorelatime", Val: recAttr{false, atimeMode, unix.MOUNT_ATTR_STRICTATIME}}, // "not relatime": always update
	{Key: "rnostrictatime", Val: recAttr{false, atimeMode, unix.MOUNT_ATTR_RELATIME}}, // "not strictatime": the kernel default
}

// parseOptions parses a spec mount's options in order, so a later option wins ("ro,rw" is rw), as runc does.
func parseOptions(options []string) mountOpts {
	var o mountOpts
	var data []string
	for _, opt := range options {
		if f, ok := flagOptions.Get(opt); ok {
			if f.clear {
				o.flags &^= f.flag
				o.cleared |= f.flag
			} else {
				o.flags |= f.flag
				o.cleared &^= f.flag
			}
			continue
		}
		if p, ok := propagationOptions.Get(opt); ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if r, ok := recAttrOptions.Get(opt); ok {
			if o.recAttr == nil {
				o.recAttr = &unix.MountAttr{}
			}
			switch {
			case r.attr == atimeMode:
				o.recAttr.Attr_clr |= unix.MOUNT_ATTR__ATIME
				o.recAttr.Attr_set = o.recAttr.Attr_set&^unix.MOUNT_ATTR__ATIME | r.atime
			case r.clear:
				o.recAttr.Attr_clr |= r.attr
				o.recAttr.Attr_set &^= r.attr
			default:
				o.recAttr.Attr_set |= r.attr
				o.recAttr.Attr_clr &^= r.attr
			}
			continue
		}
		switch opt {
		case "tmpcopyup":
			o.tmpcopyup = true
		case "idmap":
			o.idmap = true
		case "ridmap":
			o.ridmap = true
		default:
			data = append(data, opt)
		}
	}
	o.data = strings.Join(data, ",")
	return o
}

// isBind says whether m is a bind mount: type "bind", or any type with the bind/rbind option (runc treats an
// empty type with "bind" the same way).
func isBind(typ string, o mountOpts) bool {
	return typ == "bind" || o.flags&unix.MS_BIND != 0
}

// IsBind is isBind for a config's mount entry: the one rule for the parent (which bind mounts it makes) and the
// init (how it mounts them).
func IsBind(m *specs.Mount) bool {
	return isBind(m.Type, parseOptions(m.Options))
}

// perMountFlags are the flags a bind remount (MS_REMOUNT|MS_BIND) can change: the per-mount ones, not the
// superblock ones (mount(2), "Remounting an existing mount").
const perMountFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME |
	unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NOSYMFOLLOW

// needsRemount says whether a bind mount needs the second MS_REMOUNT|MS_BIND call for its flags to take effect:
// mount(2) ignores everything but MS_REC on a new bind mount. runc 1.5 remounts when any flag other than
// MS_BIND/MS_REC/MS_REMOUNT is set or cleared (rw, dev, ...); so do we.
func needsRemount(o mountOpts) bool {
	return o.flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0 || o.cleared != 0
}

// lockableFlags are the flags the kernel locks on a mount that reaches a less privileged user namespace (its
// MNT_LOCK_* flags; runc's mntLockFlags).
const lockableFlags = unix.MS_RDONLY | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSUID | atimeFlags | unix.MS_NODIRATIME

// flagNames names MS_* flags in runc's words, for its error texts ("cannot clear locked flags MS_RDONLY|MS_NODEV").
func flagNames(flags uintptr) string {
	var names []string
	for _, f := range []struct {
		name string
		bit  uintptr
	}{
		{"MS_RDONLY", unix.MS_RDONLY}, {"MS_NOSUID", unix.MS_NOSUID}, {"MS_NODEV", unix.MS_NODEV},
		{"MS_NOEXEC", unix.MS_NOEXEC}, {"MS_NOSYMFOLLOW", unix.MS_NOSYMFOLLOW}, {"MS_NOATIME", unix.MS_NOATIME},
		{"MS_NODIRATIME", unix.MS_NODIRATIME}, {"MS_RELATIME", unix.MS_RELATIME}, {"MS_STRICTATIME", unix.MS_STRICTATIME},
	} {
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, "|")
}

// stNoSymfollow is ST_NOSYMFOLLOW from <sys/statvfs.h> (Linux 5.10), not in x/sys/unix.
const stNoSymfollow = 0x2000

// lockedFlags maps statfs(2) f_flags to the MS_* per-mount flags: in a user namespace the kernel locks the flags a
// mount had when it was propagated into the namespace, and a remount must keep them (runc does the same).
func lockedFlags(stFlags int64) uintptr {
	var f uintptr
	for st, ms := range map[int64]uintptr{
		unix.ST_RDONLY:     unix.MS_RDONLY,
		unix.ST_NOSUID:     unix.MS_NOSUID,
		unix.ST_NODEV:      unix.MS_NODEV,
		unix.ST_NOEXEC:     unix.MS_NOEXEC,
		unix.ST_NOATIME:    unix.MS_NOATIME,
		unix.ST_NODIRATIME: unix.MS_NODIRATIME,
		unix.ST_RELATIME:   unix.MS_RELATIME,
		stNoSymfollow:      unix.MS_NOSYMFOLLOW,
	} {
		if stFlags&st != 0 {
			f |= ms
		}
	}
	return f
}

// atimeFlags are the mutually exclusive atime modes of mount(2).
const atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// keepLocked merges the flags a mount already has into the requested remount flags: the requested ones win, except
// that a set flag the kernel locked is never cleared, and the atime mode is kept unless one was requested.
func keepLocked(requested, current uintptr) uintptr {
	f := requested | current&(unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOSYMFOLLOW)
	if requested&atimeFlags == 0 {
		f |= current & (atimeFlags | unix.MS_NODIRATIME)
	}
	return f
}

// propagationFlag parses linux.rootfsPropagation; "" means runc's default, MS_SLAVE|MS_REC.
func propagationFlag(s string) (uintptr, error) {
	if s == "" {
		return unix.MS_SLAVE | unix.MS_REC, nil
	}
	p, ok := propagationOptions.Get(s)
	if !ok {
		return 0, fmt.Errorf("linux.rootfsPropagation %q: %w", s, ErrInvalidPropagation)
	}
	return p, nil
}

// attrFromFlags translates the per-mount MS_* flags to mount_setattr(2) attributes to set (and, for an atime
// mode, MOUNT_ATTR__ATIME to clear: the modes are an enum).
func attrFromFlags(flags uintptr) unix.MountAttr {
	var a unix.MountAttr
	for _, f := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
		{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		if flags&f.ms != 0 {
			a.Attr_set |= f.attr
		}
	}
	switch {
	case flags&unix.MS_NOATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_NOATIME
	case flags&unix.MS_STRICTATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
	case flags&(unix.MS_RELATIME|unix.MS_NODIRATIME) != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME // relatime (0)
	}
	return a
}

// remountAttr is what MS_REMOUNT|MS_BIND with the per-mount flags does to a mount, as mount_setattr(2) attributes:
// every one of ro, nosuid, nodev, noexec and nosymfollow is set or cleared to match flags, and the atime mode (with
// nodiratime) is replaced when flags name any atime flag and kept otherwise (mount(2) "MS_REMOUNT", fs/namespace.c
// path_mount).
func remountAttr(flags uintptr) unix.MountAttr {
	a := attrFromFlags(flags)
	const settable = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC |
		unix.MOUNT_ATTR_NOSYMFOLLOW
	a.Attr_clr |= settable &^ a.Attr_set
	if flags&atimeFlags != 0 || flags&unix.MS_NODIRATIME != 0 {
		a.Attr_clr |= unix.MOUNT_ATTR_NODIRATIME &^ a.Attr_set
	}
	return a
}

// fsmountAttr is fsmount(2)'s attr_flags for the per-mount MS_* flags (the atime mode is a value there:
// MOUNT_ATTR_RELATIME is 0, the default, as mount(2)'s).
func fsmountAttr(flags uintptr) int {
	return int(attrFromFlags(flags).Attr_set)
}

// sbFlagOptions are the fsconfig(2) flags for the superblock flags among the MS_* flags, the ones mount(2) takes
// from its flags argument (fs/fs_context.c common_set_sb_flag). MS_SILENT and MS_I_VERSION have no fsconfig key
// and only change logging and what the kernel does by default. rw leaves out "ro" (the caller makes the mount
// read-only once it has filled it).
func sbFlagOptions(flags uintptr, rw bool) []string {
	var opts []string
	for _, f := range []struct {
		ms  uintptr
		key string
	}{
		{unix.MS_RDONLY, "ro"},
		{unix.MS_SYNCHRONOUS, "sync"},
		{unix.MS_DIRSYNC, "dirsync"},
		{unix.MS_LAZYTIME, "lazytime"},
		{unix.MS_MANDLOCK, "mand"},
	} {
		if flags&f.ms != 0 && !(rw && f.ms == unix.MS_RDONLY) {
			opts = append(opts, f.key)
		}
	}
	return opts
}
