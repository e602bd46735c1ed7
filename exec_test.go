package main

import (
	"maps"
	"strings"
	"testing"
)

func TestSubCgroups(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{name: "none", args: nil, want: nil},
		{name: "one path", args: []string{"foo/bar"}, want: map[string]string{"": "foo/bar"}},
		{name: "controllers", args: []string{"memory:submem", "cpu,cpuacct:subcpu"}, want: map[string]string{"memory": "submem", "cpu": "subcpu", "cpuacct": "subcpu"}},
		{name: "path among several", args: []string{"memory:m", "foo"}, wantErr: "must be the only --cgroup"},
		{name: "empty controller", args: []string{",cpu:x"}, wantErr: "empty controller name"},
		{name: "controller twice", args: []string{"cpu:a", "cpu:b"}, wantErr: "controller cpu given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := subCgroups(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("subCgroups(%q) = %v, %v; want an error saying %q", tc.args, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Errorf("subCgroups(%q) = %v, %v; want %v", tc.args, got, err, tc.want)
			}
		})
	}
}
