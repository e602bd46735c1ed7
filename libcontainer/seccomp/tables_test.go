package seccomp

import "testing"

// TestTablesDistinct: a repeated key in a table would be silently shadowed (a map literal refused it at compile
// time).
func TestTablesDistinct(t *testing.T) {
	if k, dup := actions.Duplicate(); dup {
		t.Errorf("actions has %s twice", k)
	}
	if k, dup := operators.Duplicate(); dup {
		t.Errorf("operators has %s twice", k)
	}
	if k, dup := archs.Duplicate(); dup {
		t.Errorf("archs has %s twice", k)
	}
	if k, dup := auditArchs.Duplicate(); dup {
		t.Errorf("auditArchs has %v twice", k)
	}
}
