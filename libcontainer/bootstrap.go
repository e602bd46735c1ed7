package libcontainer

// What the nsenter constructor is told (nsenter.Bootstrap): the namespaces to create and to join, the time offsets,
// and whether the process is non-dumpable. The namespace kinds come from the one table, internal/namespace.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/internal/procfs"
	"github.com/rt-runtime/rt/nsenter"
)

// bootstrapFor builds the nsenter records for a new container from its namespaces.
func bootstrapFor(l *specs.Linux) nsenter.Bootstrap {
	var b nsenter.Bootstrap
	if l == nil {
		return b
	}
	for _, ns := range l.Namespaces {
		if ns.Path != "" {
			b.Join = append(b.Join, nsenter.NsPath{Type: namespace.Flag(ns.Type), Path: ns.Path})
			continue
		}
		b.CloneFlags |= namespace.Flag(ns.Type)
		if ns.Type == specs.TimeNamespace {
			b.TimeOffsets = timeOffsets(l.TimeOffsets)
		}
	}
	return b
}

// initBootstrap is bootstrapFor a new container's init, which is kept non-dumpable until it execs the
// workload, as runc's init is: while it waits on the exec fifo it holds the fifo and a procfs handle, which a
// process exec'd into the created container could otherwise reach through /proc/1/fd (same uid, no CAP_SYS_PTRACE
// needed). An unprivileged caller keeps it dumpable: it could not even stat the init's /proc/<pid>/ns files then,
// so `rt exec` into a created rootless container would fail; its procfs handle is a private instance of the
// container's own pid namespace (trustedProcfs), which leads nowhere outside.
func initBootstrap(l *specs.Linux) nsenter.Bootstrap {
	b := bootstrapFor(l)
	b.NonDumpable = os.Geteuid() == 0
	return b
}

// timeOffsets renders linux.timeOffsets as /proc/PID/timens_offsets takes them (time_namespaces(7)).
func timeOffsets(offs map[string]specs.LinuxTimeOffset) string {
	var b strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if o, ok := offs[clock]; ok {
			fmt.Fprintf(&b, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
		}
	}
	return b.String()
}

// joinBootstrap builds the nsenter records to enter every namespace of a running process that differs from rt's own.
// Entering one's own user namespace is EINVAL (setns(2)), and entering the others again is wasted work.
func joinBootstrap(pid int) (nsenter.Bootstrap, error) {
	var b nsenter.Bootstrap
	for _, k := range namespace.Kinds {
		path := "/proc/" + strconv.Itoa(pid) + "/ns/" + k.Proc
		same, err := procfs.SameNamespace(path, "/proc/self/ns/"+k.Proc)
		if err != nil {
			if errors.Is(err, unix.ENOENT) && k.Type == specs.TimeNamespace {
				continue // kernel without time namespaces
			}
			return b, err
		}
		if !same {
			b.Join = append(b.Join, nsenter.NsPath{Type: k.Flag, Path: path})
		}
	}
	return b, nil
}
