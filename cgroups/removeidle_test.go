package cgroups

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A killed create's slice unit (recorded, no init) is stopped by RemoveIdle once its cgroup is empty and gone; a
// scope is not (systemd drops an empty scope itself), nor a slice whose cgroup stays busy.
func TestRemoveIdleStopsSlice(t *testing.T) {
	var stopped []string
	old, oldTimeout := stopUnit, destroyTimeout
	stopUnit = func(d *systemdDriver) error { stopped = append(stopped, d.unit.Name); return nil }
	destroyTimeout = 200 * time.Millisecond
	t.Cleanup(func() { stopUnit, destroyTimeout = old, oldTimeout })

	for _, tc := range []struct {
		unit string
		busy bool
		want int
	}{
		{unit: "rt-x.slice", want: 1},
		{unit: "rt-x.scope", want: 0},
		{unit: "rt-x.slice", busy: true, want: 0},
	} {
		stopped = nil
		dir := filepath.Join(t.TempDir(), "cg")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if tc.busy { // a file makes rmdir fail with ENOTEMPTY, as processes in a cgroup make it EBUSY
			if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		m := LoadSystemd(map[string]string{"": dir}, &SystemdUnit{Name: tc.unit, Slice: "system.slice"})
		err := m.RemoveIdle()
		if tc.busy != (err != nil) {
			t.Errorf("%s busy=%v: RemoveIdle: %v", tc.unit, tc.busy, err)
		}
		if len(stopped) != tc.want {
			t.Errorf("%s busy=%v: stopped %v, want %d stop", tc.unit, tc.busy, stopped, tc.want)
		}
	}
}
