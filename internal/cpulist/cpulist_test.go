package cpulist

import (
	"errors"
	"slices"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "empty", in: ""},
		{name: "blank", in: "  "},
		{name: "one", in: "7", want: []int{7}},
		{name: "range", in: "0-3", want: []int{0, 1, 2, 3}},
		{name: "spec example", in: "0-3,7", want: []int{0, 1, 2, 3, 7}},
		{name: "single-element range", in: "2-2", want: []int{2}},
		{name: "unsorted and overlapping", in: "5,1-3,2", want: []int{1, 2, 3, 5}},
		{name: "spaces around parts", in: " 1 , 3 - 4 ", want: []int{1, 3, 4}},
		{name: "leading zeros", in: "007", want: []int{7}},
		{name: "maximum", in: "65535", want: []int{65535}},
		{name: "above maximum", in: "65536", wantErr: true},
		{name: "huge range", in: "0-4000000000", wantErr: true},
		{name: "overflow", in: "99999999999999999999999", wantErr: true},
		{name: "backwards", in: "3-1", wantErr: true},
		{name: "open range", in: "1-", wantErr: true},
		{name: "open start", in: "-1", wantErr: true},
		{name: "empty element", in: "1,,2", wantErr: true},
		{name: "trailing comma", in: "1,", wantErr: true},
		{name: "letters", in: "cpu0", wantErr: true},
		{name: "sign", in: "+1", wantErr: true},
		{name: "stride is not supported", in: "0-7:2/4", wantErr: true},
		{name: "two dashes", in: "1-2-3", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrList) {
					t.Fatalf("Parse(%q) = %v, %v; want an ErrList error", tt.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
