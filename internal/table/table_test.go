package table

import (
	"slices"
	"testing"
)

func TestTable(t *testing.T) {
	tab := Table[string, int]{{Key: "a", Val: 1}, {Key: "b", Val: 0}, {Key: "c", Val: 3}}
	tests := []struct {
		name string
		key  string
		val  int
		has  bool
	}{
		{name: "first row", key: "a", val: 1, has: true},
		{name: "zero value present", key: "b", val: 0, has: true},
		{name: "last row", key: "c", val: 3, has: true},
		{name: "missing", key: "d", val: 0, has: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := tab.Get(tc.key)
			if v != tc.val || ok != tc.has {
				t.Errorf("Get(%q) = %d, %v; want %d, %v", tc.key, v, ok, tc.val, tc.has)
			}
			if tab.Has(tc.key) != tc.has || tab.Val(tc.key) != tc.val {
				t.Errorf("Has/Val(%q) = %v, %d; want %v, %d", tc.key, tab.Has(tc.key), tab.Val(tc.key), tc.has, tc.val)
			}
		})
	}
	if got := tab.Keys(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Keys() = %v", got)
	}
	if k, dup := tab.Duplicate(); dup {
		t.Errorf("Duplicate() = %q on distinct keys", k)
	}
	if k, dup := append(tab, Row[string, int]{Key: "b", Val: 9}).Duplicate(); !dup || k != "b" {
		t.Errorf("Duplicate() = %q, %v; want \"b\", true", k, dup)
	}
}
