package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/cpulist"
	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/internal/rawfile"
	"github.com/rt-runtime/rt/libcontainer/seccomp"
)

// maxConfigSize bounds what LoadSpec reads of config.json: real configs, seccomp profiles included, are tens of
// KiB, and a file without end (a link to /dev/zero) must not be read until memory runs out.
const maxConfigSize = 4 << 20

// LoadSpec reads <bundle>/config.json. A malformed file is an error naming the line and column, or the JSON path of
// a field of the wrong type. Only a regular file of at most maxConfigSize bytes is read, and it is opened without
// blocking, so that a FIFO or a device planted there is refused instead of hanging or exhausting rt.
func LoadSpec(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, "config.json")
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			off := syn.Offset
			if !syntaxOffsetPast {
				off++
			}
			line, col := position(data, off)
			return nil, classErr(ErrConfig, "%s: line %d column %d: %v", path, line, col, syn)
		case errors.As(err, &typ):
			field := typeErrorField(reflect.TypeFor[specs.Spec](), typ.Field)
			if field == "" { // the top level is not an object
				return nil, classErr(ErrConfig, "%s: %s is not a %s", path, typ.Value, typ.Type)
			}
			return nil, classErr(ErrConfig, "%s: %s: %s is not a %s", path, field, typ.Value, typ.Type)
		}
		return nil, classErr(ErrConfig, "%s: %v", path, err)
	}
	return &spec, nil
}

// readConfig reads path if it is a regular file of at most maxConfigSize bytes. O_NONBLOCK: opening a FIFO for
// reading would otherwise wait for a writer; the flag has no effect on a regular file's reads. Bare syscalls, not
// an *os.File: os.OpenFile offers an O_NONBLOCK fd to the runtime's poller, and in `rt run` and `rt create` this
// was the poller's only user, so it cost them its epoll_create1, eventfd2 and two epoll_ctl, and an idle thread's
// epoll_pwait(2) calls for the rest of the command.
func readConfig(path string) ([]byte, error) {
	fd, err := rawfile.Open(path, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, classErr(ErrConfig, "%s: not a regular file (%s)", path, fileKind(st.Mode))
	}
	// The size may change under us: read one byte more than allowed rather than trust fstat. The buffer is sized
	// from fstat with room to spare (os.ReadFile's way), so that the file takes one read and the EOF another, not
	// io.ReadAll's growth from 512 bytes, a read and a copy per step (six reads for runc spec's 2.5 KB).
	lr := io.LimitReader(rawfile.Reader(fd), maxConfigSize+1)
	data := make([]byte, 0, min(max(st.Size, 0), maxConfigSize)+512)
	for {
		n, err := lr.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	if len(data) > maxConfigSize || st.Size > maxConfigSize {
		return nil, classErr(ErrConfig, "%s: larger than %d MiB", path, maxConfigSize>>20)
	}
	return data, nil
}

// fileKind names a file type (the S_IFMT bits of a stat(2) mode) for an error message.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	}
	return fmt.Sprintf("mode %#o", mode&unix.S_IFMT)
}

// position turns a byte offset into a 1-based line and column: off counts the bytes up to and including the one
// the column names (encoding/json v1's SyntaxError.Offset; at the end of the input, the length).
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n') - 1
	return line, col
}

// fieldError names the JSON path of the offending config field.
func fieldError(field, format string, args ...any) error {
	return classErr(ErrConfig, "config.json: %s: %s", field, fmt.Sprintf(format, args...))
}

// Validate checks a spec for what rt must refuse before doing anything, and returns the absolute rootfs path.
func Validate(spec *specs.Spec, bundle string) (string, error) {
	if err := validateVersion(spec.Version); err != nil {
		return "", err
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return "", fieldError("root.path", "must be set")
	}
	rootfs, err := validateRootfs(spec.Root.Path, bundle)
	if err != nil {
		return "", err
	}
	if p := spec.Process; p != nil {
		if err := validateProcess(p, "process"); err != nil {
			return "", err
		}
	}
	if spec.Linux == nil {
		return "", fieldError("linux", "must be set on Linux")
	}
	if err := validateLinux(spec); err != nil {
		return "", err
	}
	for i, m := range spec.Mounts {
		if !filepath.IsAbs(m.Destination) {
			// runtime-spec config.md: "This value MUST be an absolute path" (runc 1.1 still took relative ones).
			return "", fieldError(fmt.Sprintf("mounts[%d].destination", i), "%q is not an absolute path", m.Destination)
		}
	}
	if err := validateHooks(spec.Hooks); err != nil {
		return "", err
	}
	if err := validateLinuxAttrs(spec); err != nil {
		return "", err
	}
	return rootfs, nil
}

// validateRootfs returns the absolute, resolved root.path. The directory itself may not be a symlink (where it
// leads is decided by whoever can change the link, not by the config; its parents may be links), and it may not
// be the host's root, which pivot_root would refuse only late, half-way through the container's set-up.
func validateRootfs(path, bundle string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(bundle, path)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return "", fieldError("root.path", "%s is a symlink", path)
	}
	rootfs, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fieldError("root.path", "%v", err)
	}
	var st, host unix.Stat_t
	if err := unix.Stat(rootfs, &st); err != nil {
		return "", fieldError("root.path", "%v", &os.PathError{Op: "stat", Path: rootfs, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "", fieldError("root.path", "%s is not a directory", rootfs)
	}
	if unix.Stat("/", &host) == nil && st.Dev == host.Dev && st.Ino == host.Ino {
		return "", fieldError("root.path", "%s is the host's root directory", rootfs)
	}
	return rootfs, nil
}

// validateVersion accepts every 1.x config: rt implements runtime-spec 1.3, and minor versions only add fields.
func validateVersion(v string) error {
	if v == "" {
		return fieldError("ociVersion", "must be set")
	}
	major, _, _ := strings.Cut(v, ".")
	if major != "1" {
		return fieldError("ociVersion", "%q is not supported: rt implements runtime-spec 1.0 to %s", v, specs.Version)
	}
	return nil
}

// ValidateProcess checks a process config (the container's, or one given to exec) and names the field that is
// wrong under the given JSON path prefix.
func ValidateProcess(p *specs.Process, prefix string) error { return validateProcess(p, prefix) }

func validateProcess(p *specs.Process, prefix string) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return fieldError(prefix+".args", "must not be empty")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fieldError(prefix+".cwd", "%q is not an absolute path", p.Cwd)
	}
	if c := p.Capabilities; c != nil {
		for _, set := range []struct {
			name  string
			names []string
		}{
			{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable},
			{"permitted", c.Permitted}, {"ambient", c.Ambient},
		} {
			for i, capName := range set.names {
				if _, ok := capabilityValue(capName); !ok {
					return fieldError(fmt.Sprintf("%s.capabilities.%s[%d]", prefix, set.name, i), "unknown capability %q", capName)
				}
			}
		}
	}
	for i, kv := range p.Env {
		// As runc's init refuses them (libcontainer/env.go), but before anything is made.
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return fieldError(fmt.Sprintf("%s.env[%d]", prefix, i), "%q has no '='", kv)
		case name == "":
			return fieldError(fmt.Sprintf("%s.env[%d]", prefix, i), "%q has an empty name", kv)
		case strings.IndexByte(kv, 0) >= 0:
			return fieldError(fmt.Sprintf("%s.env[%d]", prefix, i), "%q contains a NUL byte", kv)
		}
	}
	seen := map[string]bool{}
	for i, r := range p.Rlimits {
		if !rlimitTypes.Has(r.Type) {
			return fieldError(fmt.Sprintf("%s.rlimits[%d].type", prefix, i), "unknown rlimit %q", r.Type)
		}
		if seen[r.Type] {
			return fieldError(fmt.Sprintf("%s.rlimits[%d].type", prefix, i), "%s given twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fieldError(fmt.Sprintf("%s.rlimits[%d]", prefix, i), "soft limit %d is above hard limit %d", r.Soft, r.Hard)
		}
	}
	return validateProcessAttrs(p, prefix)
}

func validateLinux(spec *specs.Spec) error {
	l := spec.Linux
	has := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range l.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if _, ok := namespace.Lookup(ns.Type); !ok {
			return fieldError(field+".type", "unknown namespace type %q", ns.Type)
		}
		if has[ns.Type] {
			return fieldError(field+".type", "namespace %q given twice", ns.Type)
		}
		has[ns.Type] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return fieldError(field+".path", "%q is not an absolute path", ns.Path)
		}
		if ns.Path != "" {
			if _, err := os.Stat(ns.Path); err != nil {
				return fieldError(field+".path", "%v", err)
			}
		}
	}
	if (len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0) && !has[specs.UserNamespace] {
		return fieldError("linux.uidMappings", "set without a user namespace in linux.namespaces")
	}
	if namespace.Creates(spec, specs.UserNamespace) && (len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0) {
		return fieldError("linux.uidMappings", "a new user namespace needs linux.uidMappings and linux.gidMappings")
	}
	if spec.Hostname != "" && !has[specs.UTSNamespace] {
		return fieldError("hostname", "needs a uts namespace in linux.namespaces")
	}
	if spec.Domainname != "" && !has[specs.UTSNamespace] {
		return fieldError("domainname", "needs a uts namespace in linux.namespaces")
	}
	if len(l.TimeOffsets) > 0 {
		if !namespace.Creates(spec, specs.TimeNamespace) {
			return fieldError("linux.timeOffsets", "needs a new time namespace in linux.namespaces")
		}
		for clock := range l.TimeOffsets {
			if clock != "monotonic" && clock != "boottime" {
				return fieldError("linux.timeOffsets", "unknown clock %q (monotonic or boottime)", clock)
			}
		}
	}
	if err := seccomp.Check(l.Seccomp); err != nil {
		return classErr(ErrConfig, "config.json: %w", err)
	}
	switch l.RootfsPropagation {
	case "", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable":
	default:
		return fieldError("linux.rootfsPropagation", "unknown propagation %q", l.RootfsPropagation)
	}
	for key := range l.Sysctl {
		if err := validateSysctl(key, has); err != nil {
			return err
		}
	}
	for i, d := range l.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			return fieldError(field+".type", "unknown device type %q", d.Type)
		}
		if !filepath.IsAbs(d.Path) {
			return fieldError(field+".path", "%q is not an absolute path", d.Path)
		}
	}
	return nil
}

// validateSysctl refuses a sysctl that would change the host rather than the container: only keys that belong to a
// namespace the container has of its own are allowed, as runc's validator does.
func validateSysctl(key string, ns map[specs.LinuxNamespaceType]bool) error {
	field := "linux.sysctl." + strconv.Quote(key)
	ipc := map[string]bool{
		"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
		"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
	}
	switch {
	case ipc[key] || strings.HasPrefix(key, "fs.mqueue."):
		if !ns[specs.IPCNamespace] {
			return fieldError(field, "needs an ipc namespace")
		}
	case strings.HasPrefix(key, "net."):
		if !ns[specs.NetworkNamespace] {
			return fieldError(field, "needs a network namespace")
		}
	case key == "kernel.hostname" || key == "kernel.domainname":
		if !ns[specs.UTSNamespace] {
			return fieldError(field, "needs a uts namespace")
		}
	default:
		return fieldError(field, "not namespaced: it would change the host")
	}
	return nil
}

func validateHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	for _, kind := range []struct {
		name  string
		hooks []specs.Hook
	}{
		{"prestart", h.Prestart}, //nolint:staticcheck // Prestart is deprecated but still part of the spec.
		{"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	} {
		for i, hook := range kind.hooks {
			if !filepath.IsAbs(hook.Path) {
				return fieldError(fmt.Sprintf("hooks.%s[%d].path", kind.name, i), "%q is not an absolute path", hook.Path)
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fieldError(fmt.Sprintf("hooks.%s[%d].timeout", kind.name, i), "must be greater than zero")
			}
		}
	}
	return nil
}

// validateLinuxAttrs refuses, naming the JSON path, what rt cannot honour on this host, before anything is created:
// the per-process attributes (validateProcessAttrs), linux.personality (personality.go), linux.memoryPolicy
// (mempolicy.go), linux.intelRdt (rdt.go) and linux.netDevices (netdev.go). linux.mountLabel is accepted and not
// applied: runtime-tools' linux_mount_label expects a host without SELinux to run it (runc passes context= to the
// mounts, which then fail).
func validateLinuxAttrs(spec *specs.Spec) error {
	if p := spec.Process; p != nil {
		if err := validateProcessAttrs(p, "process"); err != nil {
			return err
		}
	}
	l := spec.Linux
	if l == nil {
		return nil
	}
	if per := l.Personality; per != nil {
		if !personalityDomains.Has(per.Domain) {
			return fieldError("linux.personality.domain", "unknown domain %q (LINUX or LINUX32)", per.Domain)
		}
		if len(per.Flags) > 0 {
			// runtime-spec 1.3 config-linux.md: "Currently no flag values are supported."
			return fieldError("linux.personality.flags[0]", "unknown flag %q (runtime-spec defines none)", per.Flags[0])
		}
	}
	if mp := l.MemoryPolicy; mp != nil {
		if _, _, err := memoryPolicyArgs(mp); err != nil {
			return err
		}
	}
	if err := validateIntelRdt(l.IntelRdt); err != nil { // rdt.go
		return err
	}
	return validateNetDevices(spec) // netdev.go
}

// validateProcessAttrs checks the scheduler (scheduler.go), I/O priority (iopriority.go), CPU affinity and LSM
// (lsm.go) fields of a process config (the container's, or one given to exec) under the JSON path prefix.
func validateProcessAttrs(p *specs.Process, prefix string) error {
	if s := p.Scheduler; s != nil {
		if err := validateScheduler(s, prefix+".scheduler"); err != nil {
			return err
		}
	}
	if io := p.IOPriority; io != nil {
		if !ioprioClasses.Has(io.Class) {
			return fieldError(prefix+".ioPriority.class", "unknown class %q (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", io.Class)
		}
		if io.Priority < 0 || io.Priority >= ioprioLevels {
			// ioprio_set(2): "the priority level within the class, 0 (highest) to 7 (lowest)"; runc checks the same.
			return fieldError(prefix+".ioPriority.priority", "%d is out of range (0 to 7)", io.Priority)
		}
	}
	if a := p.ExecCPUAffinity; a != nil {
		if _, err := cpulist.Parse(a.Initial); err != nil {
			return fieldError(prefix+".execCPUAffinity.initial", "%v", err)
		}
		if _, err := cpulist.Parse(a.Final); err != nil {
			return fieldError(prefix+".execCPUAffinity.final", "%v", err)
		}
	}
	if p.ApparmorProfile != "" {
		if !apparmorEnabled() {
			return fieldError(prefix+".apparmorProfile", "%q: AppArmor is not enabled on this host", p.ApparmorProfile)
		}
	}
	if p.SelinuxLabel != "" && !isFS(selinuxfsPath, selinuxMagic) {
		return fieldError(prefix+".selinuxLabel", "%q: %s", p.SelinuxLabel, errSelinuxOff)
	}
	return nil
}

// isFS reports whether path is the root of a mounted filesystem of the given type (statfs(2) f_type).
func isFS(path string, magic uint32) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return uint32(st.Type) == magic //nolint:gosec // f_type is a 32-bit magic number, whatever the field's width
}

// idPattern is runc's rule for container ids; the length bound keeps <root>/<id> well inside PATH_MAX. It is checked
// by IDChar, not compiled as a regexp at every rt start-up.
const idPattern = `^[A-Za-z0-9_+-][A-Za-z0-9_+.-]*$`

// IDChar reports whether c may appear in a container id (idPattern); a '.' may not start one.
func IDChar(c byte, first bool) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '+', c == '-':
		return true
	}
	return c == '.' && !first
}

// matchesIDPattern is idPattern.MatchString.
func matchesIDPattern(id string) bool {
	for i := 0; i < len(id); i++ {
		if !IDChar(id[i], i == 0) {
			return false
		}
	}
	return id != ""
}

const maxIDLen = 1024

// ValidateID refuses ids that are empty, too long, or could name a path outside the state root ("/", "..").
func ValidateID(id string) error {
	switch {
	case id == "":
		return classErr(ErrInvalidID, "container id is empty")
	case len(id) > maxIDLen:
		return classErr(ErrInvalidID, "container id %q... is %d bytes, longer than %d", id[:32], len(id), maxIDLen)
	case id == "." || id == ".." || !matchesIDPattern(id):
		return classErr(ErrInvalidID, "container id %q must match %s", id, idPattern)
	}
	return nil
}
