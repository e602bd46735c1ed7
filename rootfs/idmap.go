package rootfs

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// IsIdmapped says whether m asks for an idmapped mount (runtime-spec config.md "uidMappings"/"gidMappings"):
// mappings of its own, or the idmap or ridmap option.
func IsIdmapped(m *specs.Mount) bool {
	o := parseOptions(m.Options)
	return len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 || o.idmap || o.ridmap
}
