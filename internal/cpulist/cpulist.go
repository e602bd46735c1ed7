// Package cpulist parses the kernel's list format for CPUs and memory nodes ("0-3,7"), as cpuset files, the
// runtime-spec's execCPUAffinity and memoryPolicy.nodes write it.
package cpulist

// MaxID bounds the ids of a CPU or node list, so that "0-4000000000" is an error rather than a 500 MB mask.
// The kernel's own limits are lower (CONFIG_NR_CPUS is at most 8192, MAX_NUMNODES at most 1024).

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

const MaxID = 1<<16 - 1

// ErrList is the class of every CPU or node list syntax error.
var ErrList = errors.New("invalid list")

// Parse parses a CPU or memory node list, "0-3,7" (the kernel's cpulist format without strides, as
// runtime-spec config.md describes execCPUAffinity and memoryPolicy.nodes), into its sorted, distinct ids. An
// empty (or all blank) list is no ids and no error.
func Parse(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	var ids []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := id(lo, s)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = id(hi, s); err != nil {
				return nil, err
			}
			if last < first {
				return nil, fmt.Errorf("%q: range %q goes backwards: %w", s, part, ErrList)
			}
		}
		for id := first; id <= last; id++ {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	sort.Ints(ids)
	return ids, nil
}

// id parses one id of the list whole.
func id(s, whole string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q: %q is not a number: %w", whole, s, ErrList)
	}
	id, err := strconv.Atoi(s)
	if err != nil || id > MaxID {
		return 0, fmt.Errorf("%q: %s is above the maximum id %d: %w", whole, s, MaxID, ErrList)
	}
	return id, nil
}
