package rootfs

import "sort"

// OptionNames lists every mount option Prepare understands, for `rt features`.
func OptionNames() []string {
	var names []string
	for n := range flagOptions {
		names = append(names, n)
	}
	for n := range propagationOptions {
		names = append(names, n)
	}
	for n := range recAttrOptions {
		names = append(names, n)
	}
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
