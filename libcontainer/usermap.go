package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/internal/procfs"
)

// idMapKind is what differs between the uid and the gid map of a user namespace.
type idMapKind struct {
	file  string // under /proc/<pid>/
	field string // the config field, for errors
	tool  string // shadow's setuid helper that writes the map for an unprivileged caller (newuidmap(1))
	sub   string // the file the helper checks the caller's ranges against (subuid(5))
}

var (
	uidMapKind = idMapKind{file: "uid_map", field: "linux.uidMappings", tool: "newuidmap", sub: "/etc/subuid"}
	gidMapKind = idMapKind{file: "gid_map", field: "linux.gidMappings", tool: "newgidmap", sub: "/etc/subgid"}
)

// writeIDMaps writes the user namespace's uid and gid maps for the child with the given pid (user_namespaces(7)).
//
// root writes both files itself. An unprivileged caller may write only a map of its own id with size 1, and for
// gid_map only after denying setgroups; anything else goes through newuidmap/newgidmap, which check the ranges
// against /etc/subuid and /etc/subgid. runc makes the same choice (requiresRootOrMappingTool, update_uidmap).
// The child is dumpable (nsenter.c new_user_namespace), so /proc/<pid> belongs to the caller, which is what the
// helpers require of their target.
func writeIDMaps(pid int, l *specs.Linux) error {
	base := "/proc/" + strconv.Itoa(pid) + "/"
	euid := os.Geteuid()
	uidTool := needsMapTool(euid, euid, l.UIDMappings)
	gidTool := needsMapTool(euid, os.Getegid(), l.GIDMappings)
	if euid != 0 && !gidTool {
		// An unprivileged writer of gid_map must deny setgroups first (user_namespaces(7)). When newgidmap
		// writes the map, rt leaves setgroups alone, as runc does (it writes "deny" only for the caller's own
		// gid, requiresRootOrMappingTool): the helper is privileged, and shadow >= 4.6 denies setgroups itself
		// when no range of the map comes from /etc/subgid (CVE-2018-7169), so a container with subordinate
		// gids may still call setgroups(2).
		if err := os.WriteFile(base+"setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("write setgroups: %w", err)
		}
	}
	if err := writeIDMap(pid, uidMapKind, l.UIDMappings, uidTool); err != nil {
		return err
	}
	return writeIDMap(pid, gidMapKind, l.GIDMappings, gidTool)
}

// needsMapTool reports whether a caller with effective uid euid needs the setuid helper for the map m, own being
// its effective id of the map's kind (euid for uid_map, egid for gid_map). Root writes any map; anyone else only
// one line mapping its own id with size 1, whatever the container id (user_namespaces(7) "Defining user and group
// ID mappings").
func needsMapTool(euid, own int, m []specs.LinuxIDMapping) bool {
	if euid == 0 {
		return false
	}
	return len(m) != 1 || int64(m[0].HostID) != int64(own) || m[0].Size != 1
}

// writeIDMap writes one map, itself or with k's helper.
func writeIDMap(pid int, k idMapKind, m []specs.LinuxIDMapping, tool bool) error {
	if tool {
		path, err := exec.LookPath(k.tool)
		if err != nil {
			return fmt.Errorf("%s: mapping ids other than your own needs %s (install shadow's uidmap package) or root: %w",
				k.field, k.tool, err)
		}
		return runMapTool(path, k, mapToolArgs(pid, m))
	}
	path := "/proc/" + strconv.Itoa(pid) + "/" + k.file
	if err := os.WriteFile(path, []byte(procfs.IDMapText(m)), 0); err != nil {
		return fmt.Errorf("write %s (%s): %w", k.file, k.field, err)
	}
	return nil
}

// mapToolArgs is newuidmap(1)'s command line for m: the pid, then "inside outside count" for each line. The pid
// cannot be reused under the helper: the child waits, unreaped, for MsgUsermapDone.
func mapToolArgs(pid int, m []specs.LinuxIDMapping) []string {
	args := []string{strconv.Itoa(pid)}
	for _, e := range m {
		args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10), strconv.FormatUint(uint64(e.HostID), 10),
			strconv.FormatUint(uint64(e.Size), 10))
	}
	return args
}

// runMapTool runs the helper at path with args and turns a refusal into one line naming the config field, with
// the helper's own words and what to do about it.
func runMapTool(path string, k idMapKind, args []string) error {
	cmd := exec.Command(path, args...)
	// No environment, as runc runs it: the helper is setuid and needs nothing from ours.
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := RunCommand(cmd)
	if err == nil {
		return nil
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(stderr.String(), "\n", "; ")), " ")
	msg = strings.TrimSuffix(msg, ";")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return fmt.Errorf("%s: run %s: %w", k.field, k.tool, err)
	}
	if msg == "" {
		msg = "no message"
	}
	return fmt.Errorf("%s: %s %s: %w (%s); the host ids must be your own id or a range listed for uid %d in %s",
		k.field, k.tool, strings.Join(args, " "), err, msg, os.Getuid(), k.sub)
}
