package namespace

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestKinds: every kind has a flag, a /proc file that exists on this kernel (time namespaces from Linux 5.6), and
// each value appears once.
func TestKinds(t *testing.T) {
	types, flags, procs := map[specs.LinuxNamespaceType]bool{}, map[uint32]bool{}, map[string]bool{}
	for _, k := range Kinds {
		if types[k.Type] || flags[k.Flag] || procs[k.Proc] || k.Flag == 0 {
			t.Errorf("%+v: repeated or empty", k)
		}
		types[k.Type], flags[k.Flag], procs[k.Proc] = true, true, true
		if _, err := os.Lstat("/proc/self/ns/" + k.Proc); err != nil && k.Type != specs.TimeNamespace {
			t.Errorf("%s: %v", k.Type, err)
		}
	}
	if Kinds[0].Type != specs.UserNamespace {
		t.Errorf("the user namespace must be joined first, not %s", Kinds[0].Type)
	}
	if got := len(Names()); got != len(Kinds) {
		t.Errorf("Names() has %d names for %d kinds", got, len(Kinds))
	}
}

func TestHasCreates(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.NetworkNamespace, Path: "/run/netns/x"},
	}}}
	tests := []struct {
		name         string
		spec         *specs.Spec
		typ          specs.LinuxNamespaceType
		has, creates bool
	}{
		{name: "new", spec: spec, typ: specs.PIDNamespace, has: true, creates: true},
		{name: "joined", spec: spec, typ: specs.NetworkNamespace, has: true},
		{name: "absent", spec: spec, typ: specs.UserNamespace},
		{name: "no linux", spec: &specs.Spec{}, typ: specs.PIDNamespace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Has(tc.spec, tc.typ); got != tc.has {
				t.Errorf("Has = %v, want %v", got, tc.has)
			}
			if got := Creates(tc.spec, tc.typ); got != tc.creates {
				t.Errorf("Creates = %v, want %v", got, tc.creates)
			}
		})
	}
}
