package libcontainer

import (
	"testing"

	"github.com/rt-runtime/rt/internal/table"
)

func distinct[K comparable, V any](t *testing.T, name string, tab table.Table[K, V]) {
	t.Helper()
	if k, dup := tab.Duplicate(); dup {
		t.Errorf("%s has %v twice", name, k)
	}
}

// TestTablesDistinct: a repeated key in a table would be silently shadowed (a map literal refused it at compile
// time).
func TestTablesDistinct(t *testing.T) {
	distinct(t, "capabilities", capabilities)
	distinct(t, "ioprioClasses", ioprioClasses)
	distinct(t, "mempolicyModes", mempolicyModes)
	distinct(t, "mempolicyFlags", mempolicyFlags)
	distinct(t, "personalityDomains", personalityDomains)
	distinct(t, "rlimitTypes", rlimitTypes)
	distinct(t, "schedPolicies", schedPolicies)
	distinct(t, "schedFlags", schedFlags)
}
