package cgroups

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	dbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/internal/cpulist"
)

// The pure half of the systemd driver: naming the unit, and turning a config into unit properties. Nothing here
// talks to systemd, so all of it is unit-tested without one (systemd.go does the talking).

// SystemdUnit is the transient unit systemd made for a container's cgroup (--systemd-cgroup), recorded in the
// state so that later commands (update, delete) address the same unit on the same bus.
type SystemdUnit struct {
	Name  string `json:"name"`           // e.g. "cri-containerd-ID.scope", or a name ending in ".slice"
	Slice string `json:"slice"`          // the parent slice, e.g. "system.slice"
	User  bool   `json:"user,omitempty"` // the user's own systemd (the --user bus), for an unprivileged caller
}

// ErrSystemdPath marks a linux.cgroupsPath that is not a valid systemd "slice:prefix:name".
var ErrSystemdPath = errors.New("invalid systemd cgroups path")

// defaultScopePrefix names the scope of a container whose cgroupsPath is empty: "rt-<id>.scope" (runc uses
// ":runc:<id>" the same way).
const defaultScopePrefix = "rt"

// parseSystemdPath reads linux.cgroupsPath as runc's systemd driver does (libcontainer/specconv
// CreateCgroupConfig + systemd getUnitName): "slice:prefix:name" gives "prefix-name.scope" in slice, or the slice
// "name" itself when name ends in ".slice"; an empty slice is system.slice, or user.slice for the user's systemd;
// an empty cgroupsPath is ":rt:<id>".
func parseSystemdPath(cgroupsPath, id string, user bool) (SystemdUnit, error) {
	slice, prefix, name := "", defaultScopePrefix, id
	if cgroupsPath != "" {
		parts := strings.Split(cgroupsPath, ":")
		if len(parts) != 3 {
			// runc's wording, which users search for.
			return SystemdUnit{}, fmt.Errorf("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got %q instead: %w", cgroupsPath, ErrSystemdPath)
		}
		slice, prefix, name = parts[0], parts[1], parts[2]
	}
	if slice == "" {
		slice = "system.slice"
		if user {
			slice = "user.slice"
		}
	}
	if _, err := expandSlice(slice); err != nil {
		return SystemdUnit{}, err
	}
	if !validUnitPart(name) || name == "" {
		return SystemdUnit{}, fmt.Errorf("unit name %q in cgroupsPath %q: only letters, digits and \":-_.\\@\" allowed: %w", name, cgroupsPath, ErrSystemdPath)
	}
	if !validUnitPart(prefix) {
		return SystemdUnit{}, fmt.Errorf("unit prefix %q in cgroupsPath %q: only letters, digits and \":-_.\\@\" allowed: %w", prefix, cgroupsPath, ErrSystemdPath)
	}
	u := SystemdUnit{Slice: slice, User: user}
	if strings.HasSuffix(name, ".slice") {
		if _, err := expandSlice(name); err != nil {
			return SystemdUnit{}, err
		}
		u.Name = name
	} else {
		u.Name = prefix + "-" + name + ".scope"
	}
	return u, nil
}

// validUnitPart reports whether s has only the characters systemd allows in a unit name (unit_name_is_valid:
// letters, digits, ":-_.\"), and "@"; no "/" and no "..", so a name never climbs in the cgroup tree.
func validUnitPart(s string) bool {
	if strings.Contains(s, "..") {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte(":-_.\\@", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// expandSlice turns a slice name into its cgroup path below the manager's root, as systemd nests slices by their
// dashes: "kubepods-burstable-pod1.slice" is "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice";
// "-.slice" is the root, "/". A name without ".slice", with "/" or "..", or with an empty dash component
// ("a--b.slice", "-a.slice") is refused, as systemd's slice_build_parent_slice would.
func expandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" || strings.ContainsAny(slice, "/") || strings.Contains(slice, "..") || !validUnitPart(slice) {
		return "", fmt.Errorf("slice %q: must be a NAME.slice without \"/\" or \"..\": %w", slice, ErrSystemdPath)
	}
	if base == "-" {
		return "/", nil
	}
	var path, prefix strings.Builder
	for c := range strings.SplitSeq(base, "-") {
		if c == "" {
			return "", fmt.Errorf("slice %q: empty component between dashes: %w", slice, ErrSystemdPath)
		}
		prefix.WriteString(c)
		path.WriteString("/" + prefix.String() + ".slice")
		prefix.WriteString("-")
	}
	return path.String(), nil
}

// annotationPrefix marks the config annotations that become unit properties (runc's form).
const annotationPrefix = "org.systemd.property."

// annotationProps turns the org.systemd.property.NAME annotations into unit properties, as runc's
// initSystemdProps does: NAME is letters only, at least 3; the value is GVariant text ("uint64 123",
// "'inactive-or-failed'"); a NAME ending in a lower-case letter + "Sec" is sent as NAMEUSec in microseconds
// (systemd's D-Bus API knows only the USec form). The properties come in sorted order, so errors are stable.
func annotationProps(annotations map[string]string) ([]sd.Property, error) {
	var keys []string
	for k := range annotations {
		if strings.HasPrefix(k, annotationPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var props []sd.Property
	for _, k := range keys {
		v := annotations[k]
		name := strings.TrimPrefix(k, annotationPrefix)
		field := fmt.Sprintf("annotations[%q]", k)
		if !validPropertyName(name) {
			return nil, fmt.Errorf("%s: property name must be at least 3 letters (A-Z, a-z)", field)
		}
		value, err := dbus.ParseVariant(v, dbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("%s: value %q is not GVariant text (e.g. \"uint64 123\", \"'text'\", \"true\"): %w", field, v, err)
		}
		if trimmed, ok := strings.CutSuffix(name, "Sec"); ok && trimmed != "" {
			if c := trimmed[len(trimmed)-1]; c >= 'a' && c <= 'z' {
				usec, err := secToUSec(value)
				if err != nil {
					return nil, fmt.Errorf("%s: value %q: %w", field, v, err)
				}
				name, value = trimmed+"USec", usec
			}
		}
		props = append(props, sd.Property{Name: name, Value: value})
	}
	return props, nil
}

func validPropertyName(s string) bool {
	if len(s) < 3 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// secToUSec converts a number of seconds of any GVariant numeric type to a uint64 of microseconds.
func secToUSec(v dbus.Variant) (dbus.Variant, error) {
	const m = 1_000_000
	var sec float64
	switch x := v.Value().(type) {
	case byte:
		sec = float64(x)
	case int16:
		sec = float64(x)
	case uint16:
		sec = float64(x)
	case int32:
		sec = float64(x)
	case uint32:
		sec = float64(x)
	case int64:
		sec = float64(x)
	case uint64:
		return dbus.MakeVariant(x * m), nil
	case float64:
		sec = x
	default:
		return v, fmt.Errorf("a ...Sec property needs a number of seconds, not %s", v.Signature())
	}
	if sec < 0 {
		return v, errors.New("a ...Sec property cannot be negative")
	}
	return dbus.MakeVariant(uint64(sec * m)), nil
}

func newProp(name string, value any) sd.Property {
	return sd.Property{Name: name, Value: dbus.MakeVariant(value)}
}

// defaultCPUPeriod is the kernel's cfs period when none is given (Documentation/scheduler/sched-bwc.rst).
const defaultCPUPeriod = 100000

// resourceProps converts linux.resources to the unit properties systemd has for them on cgroup v2
// (systemd.resource-control(5); the table of runc's docs/systemd.md), and returns the resources to write to the
// cgroup files afterwards: a copy of r whose cpu quota is rounded up as systemd's CPUQuota is (to 1% of a CPU),
// so the file and the property agree, as runc does. Anything systemd has no property for is left to the files.
// systemd >= 244 is assumed (AllowedCPUs, CPUQuotaPeriodUSec).
func resourceProps(r *specs.LinuxResources, withDevices bool) ([]sd.Property, *specs.LinuxResources, error) {
	if r == nil {
		return nil, nil, nil
	}
	out := *r
	var props []sd.Property
	if withDevices && len(r.Devices) > 0 {
		props = append(props, deviceProps(r.Devices)...)
	}
	if mem := r.Memory; mem != nil {
		limit, _ := ptrVal(mem.Limit)
		if limit != 0 {
			props = append(props, newProp("MemoryMax", infinity(limit)))
		}
		if v, _ := ptrVal(mem.Reservation); v != 0 {
			props = append(props, newProp("MemoryLow", infinity(v)))
		}
		if swapTotal, ok := ptrVal(mem.Swap); ok {
			swap, err := swapToV2(swapTotal, limit)
			if err != nil {
				return nil, nil, fmt.Errorf("memory.swap: %w", err)
			}
			if swap != 0 || (swapTotal > 0 && swapTotal == limit) {
				props = append(props, newProp("MemorySwapMax", infinity(swap)))
			}
		}
	}
	if c := r.CPU; c != nil {
		if w := sharesToWeight(derefU64(c.Shares)); w != 0 {
			props = append(props, newProp("CPUWeight", w))
		}
		quota, _ := ptrVal(c.Quota)
		period, _ := ptrVal(c.Period)
		if period != 0 {
			props = append(props, newProp("CPUQuotaPeriodUSec", period))
		}
		if quota != 0 || period != 0 {
			perSec := uint64(math.MaxUint64) // USEC_INFINITY: no quota
			if quota > 0 {
				p := period
				if p == 0 {
					p = defaultCPUPeriod
				}
				perSec = uint64(quota) * 1_000_000 / p
				if perSec%10000 != 0 {
					// systemd keeps CPUQuota in whole percent of a CPU: round up, and write the same to cpu.max.
					perSec = (perSec/10000 + 1) * 10000
					cpu := *c
					q := int64(perSec * p / 1_000_000)
					cpu.Quota = &q
					out.CPU = &cpu
				}
			}
			props = append(props, newProp("CPUQuotaPerSecUSec", perSec))
		}
		if c.Cpus != "" {
			bits, err := rangeToBits(c.Cpus)
			if err != nil {
				return nil, nil, fmt.Errorf("cpu.cpus %q: %w", c.Cpus, err)
			}
			props = append(props, newProp("AllowedCPUs", bits))
		}
		if c.Mems != "" {
			bits, err := rangeToBits(c.Mems)
			if err != nil {
				return nil, nil, fmt.Errorf("cpu.mems %q: %w", c.Mems, err)
			}
			props = append(props, newProp("AllowedMemoryNodes", bits))
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		// 0 is sent as 1: TasksMax cannot be 0 (as runc; pidsMax writes the same to pids.max).
		tasks := uint64(math.MaxUint64)
		switch l := *p.Limit; {
		case l == 0:
			tasks = 1
		case l > 0:
			tasks = uint64(l)
		}
		props = append(props, newProp("TasksMax", tasks))
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		props = append(props, newProp("IOWeight", blkioToIOWeight(*b.Weight)))
	}
	return props, &out, nil
}

// infinity maps the spec's -1 ("no limit") to systemd's "infinity", UINT64_MAX.
func infinity(v int64) uint64 {
	if v < 0 {
		return math.MaxUint64
	}
	return uint64(v)
}

func derefU64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// rangeToBits turns a cpuset list ("0-3,7") into systemd's AllowedCPUs byte array: bit i%8 of byte i/8 is cpu i
// (systemd's cpu_set_to_dbus).
func rangeToBits(list string) ([]byte, error) {
	ids, err := cpulist.Parse(list)
	if err != nil {
		return nil, err
	}
	var bits []byte
	for _, i := range ids {
		for len(bits) <= i/8 {
			bits = append(bits, 0)
		}
		bits[i/8] |= 1 << (i % 8)
	}
	return bits, nil
}

// deviceAllow is one DeviceAllow= entry, D-Bus type (ss): a path or "char-*"/"block-MAJOR" group, and "rwm" access.
type deviceAllow struct {
	Path  string
	Perms string
}

// deviceProps converts the device rules to DevicePolicy and DeviceAllow. systemd has only an allow list, so this
// is a superset of what the rules allow: a deny-all rule restarts the list, an allow-all rule after it gives
// DevicePolicy=auto (everything), other deny rules and wildcard-major rules are left to rt's own device program,
// which is attached to the same cgroup afterwards and enforces the rules exactly (runc does the same, and its fs2
// code too replaces systemd's program with its own).
func deviceProps(rules []specs.LinuxDeviceCgroup) []sd.Property {
	var allow []deviceAllow
	all := false
	for _, r := range rules {
		t := r.Type
		if t == "" {
			t = "a"
		}
		major, minor := int64(-1), int64(-1)
		if r.Major != nil {
			major = *r.Major
		}
		if r.Minor != nil {
			minor = *r.Minor
		}
		if t == "a" && major < 0 && minor < 0 {
			allow, all = nil, r.Allow
			continue
		}
		if !r.Allow || major < 0 && minor >= 0 {
			continue
		}
		access := r.Access
		if access == "" {
			access = "rwm"
		}
		types := []string{t}
		if t == "a" {
			types = []string{"c", "b"}
		}
		for _, t := range types {
			group := map[string]string{"c": "char-", "b": "block-"}[t]
			var path string
			switch {
			case major < 0:
				path = group + "*"
			case minor < 0:
				path = group + strconv.FormatInt(major, 10)
			case t == "c":
				path = fmt.Sprintf("/dev/char/%d:%d", major, minor)
			default:
				path = fmt.Sprintf("/dev/block/%d:%d", major, minor)
			}
			allow = append(allow, deviceAllow{Path: path, Perms: access})
		}
	}
	if all {
		return []sd.Property{newProp("DeviceAllow", []deviceAllow{}), newProp("DevicePolicy", "auto")}
	}
	// An empty DeviceAllow first clears what an earlier update set (the property appends otherwise).
	return []sd.Property{
		newProp("DeviceAllow", []deviceAllow{}),
		newProp("DevicePolicy", "strict"),
		newProp("DeviceAllow", allow),
	}
}
