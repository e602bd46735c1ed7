package seccomp

import (
	"fmt"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Features reports what `rt features` lists under "seccomp" (features-linux.md):
// the actions, operators and architectures rt accepts, the filter flags it
// knows and those the linked libseccomp and the running kernel support.
// SCMP_ACT_NOTIFY is listed only when libseccomp's API level makes it usable.
func Features() *features.Seccomp {
	enabled := true
	fs := &features.Seccomp{Enabled: &enabled}
	api, _ := libseccomp.GetAPI()
	for _, a := range actions.Keys() {
		if a != specs.ActNotify || api >= notifyAPI {
			fs.Actions = append(fs.Actions, string(a))
		}
	}
	slices.Sort(fs.Actions)
	for _, op := range operators.Keys() {
		fs.Operators = append(fs.Operators, string(op))
	}
	slices.Sort(fs.Operators)

	// Probe scratch filters: what they accept is what Load accepts. Each arch
	// is tried alone, since one filter cannot mix byte orders (libseccomp
	// refuses with EDOM), so a big-endian arch is listed on amd64 though a
	// profile can only combine it with same-endian ones; runc lists it too.
	for _, row := range archs {
		name, arch := row.Key, row.Val
		alone := func(f *libseccomp.ScmpFilter) error {
			native, err := libseccomp.GetNativeArch()
			if err == nil && native != arch {
				err = f.RemoveArch(native)
			}
			if err != nil {
				return err
			}
			return f.AddArch(arch)
		}
		if probe(alone) == nil {
			fs.Archs = append(fs.Archs, string(name))
		}
	}
	slices.Sort(fs.Archs)
	for _, fl := range knownFlags {
		fs.KnownFlags = append(fs.KnownFlags, string(fl))
		if probe(func(f *libseccomp.ScmpFilter) error { return setFlag(f, fl) }) == nil {
			fs.SupportedFlags = append(fs.SupportedFlags, string(fl))
		}
	}
	return fs
}

// probe runs fn on a fresh, never loaded filter.
func probe(fn func(f *libseccomp.ScmpFilter) error) error {
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return err
	}
	defer f.Release()
	return fn(f)
}

// Version returns the version of the linked libseccomp, e.g. "2.5.4", for
// `rt --version`'s "libseccomp: 2.5.4" line (runc prints the same line).
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}
