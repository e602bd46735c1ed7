package rootfs

import "sort"

// OptionNames lists every mount option Prepare understands, for `rt features`.
func OptionNames() []string {
	names := append(flagOptions.Keys(), propagationOptions.Keys()...)
	names = append(names, recAttrOptions.Keys()...)
	names = append(names, "bind", "rbind", "tmpcopyup", "idmap", "ridmap")
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}
