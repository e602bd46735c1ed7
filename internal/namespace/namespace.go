// Package namespace is the one table of the namespace kinds rt knows: the spec's type, the clone flag and the name
// of the /proc/PID/ns file. Clone flags, the namespaces to join, validation and `rt features` derive from it; the C
// constructor's names (nsenter.h NS_TABLE) are checked against it by nsenter's TestNamespaceTable.
package namespace

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kind is one kind of namespace.
type Kind struct {
	Type specs.LinuxNamespaceType // the spec's name: "mount", "network", ...
	Flag uint32                   // CLONE_NEW*
	Proc string                   // the file under /proc/PID/ns: "mnt", "net", ...
}

// Kinds are every namespace kind, in the order a process joins them: the user namespace first, so that the others
// are entered with the capabilities it gives (setns(2)).
var Kinds = []Kind{
	{Type: specs.UserNamespace, Flag: unix.CLONE_NEWUSER, Proc: "user"},
	{Type: specs.MountNamespace, Flag: unix.CLONE_NEWNS, Proc: "mnt"},
	{Type: specs.PIDNamespace, Flag: unix.CLONE_NEWPID, Proc: "pid"},
	{Type: specs.NetworkNamespace, Flag: unix.CLONE_NEWNET, Proc: "net"},
	{Type: specs.IPCNamespace, Flag: unix.CLONE_NEWIPC, Proc: "ipc"},
	{Type: specs.UTSNamespace, Flag: unix.CLONE_NEWUTS, Proc: "uts"},
	{Type: specs.CgroupNamespace, Flag: unix.CLONE_NEWCGROUP, Proc: "cgroup"},
	{Type: specs.TimeNamespace, Flag: unix.CLONE_NEWTIME, Proc: "time"},
}

// Lookup returns the kind of type t, and whether rt knows it.
func Lookup(t specs.LinuxNamespaceType) (Kind, bool) {
	for _, k := range Kinds {
		if k.Type == t {
			return k, true
		}
	}
	return Kind{}, false
}

// Flag is the clone flag of type t, 0 for a type rt does not know (validation refuses those first).
func Flag(t specs.LinuxNamespaceType) uint32 {
	k, _ := Lookup(t)
	return k.Flag
}

// Names are the spec's names of every kind, sorted, as `rt features` lists them.
func Names() []string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k.Type)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the config gives the container a namespace of type t, new or joined.
func Has(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	_, ok := find(spec, t)
	return ok
}

// Creates reports whether the config gives the container a new namespace of type t (one without a path).
func Creates(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	ns, ok := find(spec, t)
	return ok && ns.Path == ""
}

func find(spec *specs.Spec, t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	if spec.Linux == nil {
		return specs.LinuxNamespace{}, false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}
