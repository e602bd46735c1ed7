package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStateAppendJSON holds appendJSON to json.MarshalIndent's bytes, escaping included.
func TestStateAppendJSON(t *testing.T) {
	created := time.Date(2026, 12, 7, 17, 59, 19, 57053076, time.UTC)
	tests := []struct {
		name string
		s    containerState
	}{
		{name: "zero"},
		{name: "running", s: containerState{Version: "1.3.0", ID: "c1", InitProcessPid: 42, Status: "running",
			Bundle: "/b", Rootfs: "/b/rootfs", Created: created, Owner: "root"}},
		{name: "annotations", s: containerState{Version: "1.3.0", ID: "c1", Status: "stopped", Created: created,
			Annotations: map[string]string{"z": "1", "a": "<&>", "io.k8s/x": "é\u2028\x01\"\\\t"}}},
		{name: "empty annotations", s: containerState{ID: "c1", Annotations: map[string]string{}}},
		{name: "escaping", s: containerState{Version: "<v>", ID: "a&b", Status: "created", Bundle: "/b\x7f\xff\xfe",
			Rootfs: "/r\u2029\n", Created: created.In(time.FixedZone("x", 3600)), Owner: "#1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.MarshalIndent(tc.s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.s.appendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("appendJSON:\n%s\nMarshalIndent:\n%s", got, want)
			}
		})
	}
	// A time MarshalIndent refuses is refused too.
	bad := containerState{Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := bad.appendJSON(nil); err == nil {
		t.Error("appendJSON of a year-10000 time: no error")
	}
}
