package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// sharesToWeight converts v1 cpu.shares [2, 262144] to v2 cpu.weight [1, 10000] with the quadratic-in-log curve
// runc adopted in opencontainers/runc#4785 (and crun in containers/crun#1721): it maps the minimum, the default
// (1024 -> 100) and the maximum exactly, where the older linear formula mapped 1024 to 39. 0 means unset.
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	return uint64(math.Ceil(math.Pow(10, (l*l+125*l)/612.0-7.0/34.0)))
}

// blkioToIOWeight converts v1 blkio.weight [10, 1000] to v2 io.weight [1, 10000] linearly, as runc's
// ConvertBlkIOToIOWeightValue does. 0 means unset.
func blkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

// errSwapWithoutMemory and errSwapBelowMemory are the two impossible swap requests runc refuses.
var (
	errSwapWithoutMemory = errors.New("unable to set swap limit without memory limit")
	errSwapBelowMemory   = errors.New("memory+swap limit should be >= memory limit")
)

// swapToV2 converts the spec's memory+swap total to v2's swap-only memory.swap.max, as runc's
// ConvertMemorySwapToCgroupV2Value does: -1 stays unlimited, 0 is unset, unlimited memory with unset swap means
// unlimited swap too (v1 compatibility), otherwise swap = total - memory.
func swapToV2(swap, memory int64) (int64, error) {
	switch {
	case memory == -1 && swap == 0:
		return -1, nil
	case swap == -1, swap == 0:
		return swap, nil
	case memory == -1:
		return swap, nil
	case memory == 0:
		return 0, errSwapWithoutMemory
	case memory < 0:
		return 0, fmt.Errorf("invalid memory value: %d", memory)
	case swap < memory:
		return 0, errSwapBelowMemory
	}
	return swap - memory, nil
}

// v2Num formats a limit for a v2 .max/.low/.high file: -1 is "max" (v1 wrote -1 to lift a limit), 0 is unset ("").
func v2Num(v int64) string {
	switch v {
	case 0:
		return ""
	case -1:
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// pidsMax formats linux.resources.pids.limit for pids.max as runc 1.5 does: a negative limit is "max", and 0 is
// written as "1" because systemd's TasksMax cannot express 0, keeping the cgroupfs and systemd drivers alike.
func pidsMax(limit int64) string {
	switch {
	case limit < 0:
		return "max"
	case limit == 0:
		return "1"
	}
	return strconv.FormatInt(limit, 10)
}

func ptrVal[T any](p *T) (T, bool) {
	if p == nil {
		var zero T
		return zero, false
	}
	return *p, true
}
