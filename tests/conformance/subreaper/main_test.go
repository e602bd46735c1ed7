package main

import (
	"path/filepath"
	"testing"
)

func TestRunExitCode(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want int
	}{
		{name: "success", args: []string{"sh", "-c", "exit 0"}, want: 0},
		{name: "exit status passed through", args: []string{"sh", "-c", "exit 3"}, want: 3},
		{name: "killed by a signal is 128+signal", args: []string{"sh", "-c", "kill -9 $$"}, want: 137},
		{name: "missing command", args: []string{filepath.Join(dir, "no-such-command")}, want: 127},
		{name: "no command", args: nil, want: 2},
		// The grandchild outlives its parent and is reparented here; run must still return the command's status.
		{name: "orphaned grandchild", args: []string{"sh", "-c", "(sleep 0.1) & exit 5"}, want: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(tc.args)
			if got != tc.want {
				t.Fatalf("run(%q) = %d (err %v), want %d", tc.args, got, err, tc.want)
			}
			if tc.want == 0 && err != nil {
				t.Fatalf("run(%q): unexpected error %v", tc.args, err)
			}
		})
	}
}
