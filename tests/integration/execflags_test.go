package integration

import "testing"

// TestExecFlagValuesKeepCommas: a repeated flag's value is taken whole, commas and all, as runc's flags are:
// `exec -e A=1,2 -e B=3` sets A to "1,2" (urfave/cli v2 splits such values on commas unless told not to).
func TestExecFlagValuesKeepCommas(t *testing.T) {
	t.Parallel()
	id, _ := runDetached(t, bundle(t, sleeper))
	r := mustRT(t, "exec", "-e", "A=1,2", "-e", "B=x,y=z", id, "sh", "-c", `echo "$A|$B"`)
	if r.Stdout != "1,2|x,y=z\n" {
		t.Errorf("exec -e A=1,2 -e B=x,y=z: %q, want \"1,2|x,y=z\"", r.Stdout)
	}
}
