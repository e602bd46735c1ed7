package rootfs

import "testing"

// TestTablesDistinct: a repeated key in a table would be silently shadowed (a map literal refused it at compile
// time).
func TestTablesDistinct(t *testing.T) {
	for name, dup := range map[string]func() (string, bool){
		"flagOptions":        flagOptions.Duplicate,
		"propagationOptions": propagationOptions.Duplicate,
		"recAttrOptions":     recAttrOptions.Duplicate,
		"procAllowed":        procAllowed.Duplicate,
	} {
		if k, ok := dup(); ok {
			t.Errorf("%s has %q twice", name, k)
		}
	}
}
