package cgroups

import (
	"errors"
	"strconv"
	"testing"
)

func fmtU(v uint64) string { return strconv.FormatUint(v, 10) }

func TestSharesToWeight(t *testing.T) {
	tests := []struct {
		name   string
		shares uint64
		want   uint64
	}{
		{name: "unset", shares: 0, want: 0},
		{name: "minimum", shares: 2, want: 1},
		{name: "default maps to the v2 default", shares: 1024, want: 100},
		{name: "half", shares: 512, want: 59},
		{name: "double", shares: 2048, want: 174},
		{name: "maximum", shares: 262144, want: 10000},
		{name: "above maximum clamps", shares: 1 << 20, want: 10000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sharesToWeight(tc.shares); got != tc.want {
				t.Errorf("sharesToWeight(%d) = %d, want %d", tc.shares, got, tc.want)
			}
		})
	}
}

func TestSwapToV2(t *testing.T) {
	tests := []struct {
		name         string
		swap, memory int64
		want         int64
		wantErr      error
	}{
		{name: "both unset", swap: 0, memory: 0, want: 0},
		{name: "unlimited memory, unset swap", swap: 0, memory: -1, want: -1},
		{name: "unlimited swap", swap: -1, memory: 100, want: -1},
		{name: "total minus memory", swap: 300, memory: 100, want: 200},
		{name: "equal means no swap", swap: 100, memory: 100, want: 0},
		{name: "unlimited memory keeps swap", swap: 300, memory: -1, want: 300},
		{name: "swap without memory", swap: 300, memory: 0, wantErr: errSwapWithoutMemory},
		{name: "swap below memory", swap: 50, memory: 100, wantErr: errSwapBelowMemory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := swapToV2(tc.swap, tc.memory)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("swapToV2(%d, %d) = %d, want %d", tc.swap, tc.memory, got, tc.want)
			}
		})
	}
}

func TestSmallConversions(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{name: "blkio weight min", got: fmtU(blkioToIOWeight(10)), want: "1"},
		{name: "blkio weight default", got: fmtU(blkioToIOWeight(500)), want: "4950"},
		{name: "blkio weight max", got: fmtU(blkioToIOWeight(1000)), want: "10000"},
		{name: "blkio weight unset", got: fmtU(blkioToIOWeight(0)), want: "0"},
		{name: "v2 number -1", got: v2Num(-1), want: "max"},
		{name: "v2 number 0 is unset", got: v2Num(0), want: ""},
		{name: "v2 number", got: v2Num(4096), want: "4096"},
		{name: "pids negative", got: pidsMax(-5), want: "max"},
		{name: "pids zero", got: pidsMax(0), want: "1"},
		{name: "pids positive", got: pidsMax(7), want: "7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestValidFileName(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{name: "plain", key: "memory.high", want: true},
		{name: "empty", key: "", want: false},
		{name: "dot", key: ".", want: false},
		{name: "dot-dot", key: "..", want: false},
		{name: "slash", key: "a/b", want: false},
		{name: "absolute", key: "/etc/passwd", want: false},
		{name: "nul", key: "a\x00b", want: false},
		{name: "leading dots are a name", key: "..foo", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validFileName(tc.key); got != tc.want {
				t.Errorf("validFileName(%q) = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}
