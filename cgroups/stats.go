package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rt-runtime/rt/internal/cpulist"
)

// Stats is a cgroup's resource usage in the shape of the "data" object of runc's `events --stats` output
// (runc types/events.go Stats): the field names and JSON tags match so tools parsing runc's output parse rt's, and
// there is nothing more (runc's suite greps the stream for "oom": a stats line must not match).
// intel_rdt and network_interfaces are emitted empty, as runc does when it has no data for them.
type Stats struct {
	CPU               CPUStats                `json:"cpu"`
	CPUSet            CPUSetStats             `json:"cpuset"`
	Memory            MemoryStats             `json:"memory"`
	Pids              PidsStats               `json:"pids"`
	Blkio             BlkioStats              `json:"blkio"`
	Hugetlb           map[string]HugetlbStats `json:"hugetlb"`
	IntelRdt          struct{}                `json:"intel_rdt"`
	NetworkInterfaces []struct{}              `json:"network_interfaces"`
}

// HugetlbStats is the usage of one huge page size.
type HugetlbStats struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// BlkioEntry is one per-device, per-operation counter.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// BlkioStats holds the block I/O counters (v1 blkio.throttle.*_recursive; v2 io.stat mapped onto them).
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []BlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []BlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []BlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []BlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []BlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []BlkioEntry `json:"sectorsRecursive,omitempty"`
}

// PidsStats is the number of tasks and the limit (0 when unlimited, as runc reports "max").
type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// Throttling is the CFS bandwidth throttling count; ThrottledTime is in nanoseconds.
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// CPUUsage is CPU time in nanoseconds.
type CPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

// CPUStats is CPU usage and throttling.
type CPUStats struct {
	Usage      CPUUsage   `json:"usage,omitzero"`
	Throttling Throttling `json:"throttling,omitzero"`
}

// CPUSetStats is the cpuset configuration in effect.
type CPUSetStats struct {
	CPUs                  []uint16 `json:"cpus,omitempty"`
	CPUExclusive          uint64   `json:"cpu_exclusive"`
	Mems                  []uint16 `json:"mems,omitempty"`
	MemHardwall           uint64   `json:"mem_hardwall"`
	MemExclusive          uint64   `json:"mem_exclusive"`
	MemoryMigrate         uint64   `json:"memory_migrate"`
	MemorySpreadPage      uint64   `json:"memory_spread_page"`
	MemorySpreadSlab      uint64   `json:"memory_spread_slab"`
	MemoryPressure        uint64   `json:"memory_pressure"`
	SchedLoadBalance      uint64   `json:"sched_load_balance"`
	SchedRelaxDomainLevel int64    `json:"sched_relax_domain_level"`
}

// MemoryEntry is one memory counter set; Limit is MaxUint64 when unlimited.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// MemoryStats is memory usage. On v2, Swap is memory+swap as on v1 (runc reports it that way for compatibility).
type MemoryStats struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage,omitzero"`
	Swap      MemoryEntry       `json:"swap,omitzero"`
	Kernel    MemoryEntry       `json:"kernel,omitzero"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitzero"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// Stats reads the cgroup's resource usage. Controllers that are absent leave their part zero; a read failure of a
// present file is an error.
func (m *Manager) Stats() (*Stats, error) {
	s := &Stats{Hugetlb: map[string]HugetlbStats{}}
	if m.unifiedOnly() {
		if err := statsV2(m.paths[""], s); err != nil {
			return nil, fmt.Errorf("read cgroup stats: %w", err)
		}
		return s, nil
	}
	if err := m.statsV1(s); err != nil {
		return nil, fmt.Errorf("read cgroup stats: %w", err)
	}
	return s, nil
}

// ignoreMissing drops a "file does not exist" error: the controller or the counter is not there.
func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func statsV2(dir string, s *Stats) error {
	// cpu.stat is always there (the core cgroup keeps usage even without the cpu controller).
	if cs, err := readKV(dir, "cpu.stat"); err == nil {
		s.CPU.Usage.Total = cs["usage_usec"] * 1000
		s.CPU.Usage.User = cs["user_usec"] * 1000
		s.CPU.Usage.Kernel = cs["system_usec"] * 1000
		s.CPU.Throttling.Periods = cs["nr_periods"]
		s.CPU.Throttling.ThrottledPeriods = cs["nr_throttled"]
		s.CPU.Throttling.ThrottledTime = cs["throttled_usec"] * 1000
	} else if err := ignoreMissing(err); err != nil {
		return err
	}
	if err := statsMemoryV2(dir, &s.Memory); err != nil {
		return err
	}
	if cur, err := readUint(dir, "pids.current"); err == nil {
		s.Pids.Current = cur
		if lim, err := readUint(dir, "pids.max"); err == nil && lim != ^uint64(0) {
			s.Pids.Limit = lim
		}
	} else if err := ignoreMissing(err); err != nil {
		return err
	}
	if err := ignoreMissing(statsIOV2(dir, &s.Blkio)); err != nil {
		return err
	}
	if err := statsHugetlb(dir, s, ".current", ".max", ".events"); err != nil {
		return err
	}
	return ignoreMissing(statsCpuset(dir, "cpuset.cpus.effective", "cpuset.mems.effective", &s.CPUSet))
}

func statsMemoryV2(dir string, ms *MemoryStats) error {
	raw, err := readKV(dir, "memory.stat")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ms.Raw = raw
	ms.Cache = raw["file"]
	entry := func(prefix string) (MemoryEntry, error) {
		var e MemoryEntry
		var err error
		if e.Usage, err = readUint(dir, prefix+".current"); err != nil {
			return e, err
		}
		if e.Limit, err = readUint(dir, prefix+".max"); err != nil {
			return e, err
		}
		// memory.peak since Linux 5.19, memory.swap.peak since 6.5.
		if e.Max, err = readUint(dir, prefix+".peak"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return e, err
		}
		return e, nil
	}
	if ms.Usage, err = entry("memory"); err != nil {
		return err
	}
	swap, err := entry("memory.swap")
	if err := ignoreMissing(err); err != nil {
		return err
	}
	// v1 reports swap as memory+swap; runc sums for compatibility and zeroes the peak, which cannot be summed.
	swap.Usage += ms.Usage.Usage
	if swap.Limit != ^uint64(0) {
		swap.Limit += ms.Usage.Limit
	}
	swap.Max = 0
	ms.Swap = swap
	if ev, err := readKV(dir, "memory.events"); err == nil {
		ms.Usage.Failcnt = ev["max"]
	} else if err := ignoreMissing(err); err != nil {
		return err
	}
	return nil
}

// statsIOV2 maps io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N ...") onto the v1 blkio entries, as runc does.
func statsIOV2(dir string, b *BlkioStats) error {
	f, err := os.Open(filepath.Join(dir, "io.stat"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		majS, minS, ok := strings.Cut(fields[0], ":")
		if !ok {
			continue
		}
		maj, _ := strconv.ParseUint(majS, 10, 64)
		mnr, _ := strconv.ParseUint(minS, 10, 64)
		for _, kv := range fields[1:] {
			k, vs, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			v, err := strconv.ParseUint(vs, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: maj, Minor: mnr, Value: v}
			switch k {
			case "rbytes":
				e.Op = "Read"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
	return sc.Err()
}

// statsHugetlb fills one entry per huge page size found in dir; the suffixes name the usage, limit and failure
// files (v2: .current .max .events; v1: .usage_in_bytes .max_usage_in_bytes .failcnt).
func statsHugetlb(dir string, s *Stats, usage, max, fail string) error {
	matches, _ := filepath.Glob(filepath.Join(dir, "hugetlb.*"+usage))
	for _, p := range matches {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "hugetlb."), usage)
		if strings.Contains(size, ".") { // hugetlb.2MB.rsvd.current and the like
			continue
		}
		var h HugetlbStats
		var err error
		if h.Usage, err = readUint(dir, "hugetlb."+size+usage); err != nil {
			return err
		}
		if fail == ".events" {
			// v2 has no usage peak; events "max N" counts allocations refused at the limit.
			if ev, err := readKV(dir, "hugetlb."+size+".events"); err == nil {
				h.Failcnt = ev["max"]
			}
		} else {
			if h.Max, err = readUint(dir, "hugetlb."+size+max); err != nil {
				return err
			}
			if h.Failcnt, err = readUint(dir, "hugetlb."+size+fail); err != nil {
				return err
			}
		}
		s.Hugetlb[size] = h
	}
	return nil
}

func (m *Manager) statsV1(s *Stats) error {
	if dir := m.paths["cpuacct"]; dir != "" {
		if err := ignoreMissing(statsCpuacct(dir, &s.CPU.Usage)); err != nil {
			return err
		}
	}
	if dir := m.paths["cpu"]; dir != "" {
		if cs, err := readKV(dir, "cpu.stat"); err == nil {
			s.CPU.Throttling = Throttling{Periods: cs["nr_periods"], ThrottledPeriods: cs["nr_throttled"], ThrottledTime: cs["throttled_time"]}
		} else if err := ignoreMissing(err); err != nil {
			return err
		}
	}
	if dir := m.paths["memory"]; dir != "" {
		if err := ignoreMissing(statsMemoryV1(dir, &s.Memory)); err != nil {
			return err
		}
	}
	if dir := m.paths["pids"]; dir != "" {
		if cur, err := readUint(dir, "pids.current"); err == nil {
			s.Pids.Current = cur
			if lim, err := readUint(dir, "pids.max"); err == nil && lim != ^uint64(0) {
				s.Pids.Limit = lim
			}
		} else if err := ignoreMissing(err); err != nil {
			return err
		}
	}
	if dir := m.paths["blkio"]; dir != "" {
		var err error
		if s.Blkio.IoServiceBytesRecursive, err = readBlkio(dir, "blkio.throttle.io_service_bytes_recursive"); ignoreMissing(err) != nil {
			return err
		}
		if s.Blkio.IoServicedRecursive, err = readBlkio(dir, "blkio.throttle.io_serviced_recursive"); ignoreMissing(err) != nil {
			return err
		}
	}
	if dir := m.paths["hugetlb"]; dir != "" {
		if err := statsHugetlb(dir, s, ".usage_in_bytes", ".max_usage_in_bytes", ".failcnt"); err != nil {
			return err
		}
	} else if dir := m.paths[""]; dir != "" {
		if err := statsHugetlb(dir, s, ".current", ".max", ".events"); err != nil {
			return err
		}
	}
	if dir := m.paths["cpuset"]; dir != "" {
		if err := ignoreMissing(statsCpuset(dir, "cpuset.cpus", "cpuset.mems", &s.CPUSet)); err != nil {
			return err
		}
	}
	return nil
}

// userHZ is the unit of cpuacct.stat; Linux fixes USER_HZ at 100 on every architecture rt supports.
const userHZ = 100

func statsCpuacct(dir string, u *CPUUsage) error {
	var err error
	if u.Total, err = readUint(dir, "cpuacct.usage"); err != nil {
		return err
	}
	if u.Percpu, err = readUints(dir, "cpuacct.usage_percpu"); err != nil {
		return err
	}
	if u.PercpuKernel, err = readUints(dir, "cpuacct.usage_percpu_sys"); ignoreMissing(err) != nil {
		return err
	}
	if u.PercpuUser, err = readUints(dir, "cpuacct.usage_percpu_user"); ignoreMissing(err) != nil {
		return err
	}
	st, err := readKV(dir, "cpuacct.stat")
	if err != nil {
		return err
	}
	u.User = st["user"] * (1e9 / userHZ)
	u.Kernel = st["system"] * (1e9 / userHZ)
	return nil
}

func readUints(dir, name string) ([]uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, f := range strings.Fields(s) {
		v, err := parseUint(f, filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func statsMemoryV1(dir string, ms *MemoryStats) error {
	raw, err := readKV(dir, "memory.stat")
	if err != nil {
		return err
	}
	ms.Raw = raw
	ms.Cache = raw["cache"]
	entry := func(prefix string) (MemoryEntry, error) {
		var e MemoryEntry
		var err error
		for _, f := range []struct {
			name string
			dst  *uint64
		}{{".usage_in_bytes", &e.Usage}, {".limit_in_bytes", &e.Limit}, {".max_usage_in_bytes", &e.Max}, {".failcnt", &e.Failcnt}} {
			if *f.dst, err = readUint(dir, prefix+f.name); err != nil {
				return e, err
			}
		}
		return e, nil
	}
	if ms.Usage, err = entry("memory"); err != nil {
		return err
	}
	// Swap and kernel accounting may be compiled out or disabled at boot; their absence is not an error.
	if ms.Swap, err = entry("memory.memsw"); ignoreMissing(err) != nil {
		return err
	}
	if ms.Kernel, err = entry("memory.kmem"); ignoreMissing(err) != nil {
		return err
	}
	if ms.KernelTCP, err = entry("memory.kmem.tcp"); ignoreMissing(err) != nil {
		return err
	}
	return nil
}

// readBlkio parses v1 "MAJ:MIN Op value" lines; the "Total" summary line has no device and is skipped, as runc does.
func readBlkio(dir, name string) ([]BlkioEntry, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []BlkioEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		majS, minS, ok := strings.Cut(fields[0], ":")
		if !ok {
			continue
		}
		maj, err1 := strconv.ParseUint(majS, 10, 64)
		mnr, err2 := strconv.ParseUint(minS, 10, 64)
		v, err3 := strconv.ParseUint(fields[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("parse %s line %q", filepath.Join(dir, name), sc.Text())
		}
		out = append(out, BlkioEntry{Major: maj, Minor: mnr, Op: fields[1], Value: v})
	}
	return out, sc.Err()
}

func statsCpuset(dir, cpusFile, memsFile string, c *CPUSetStats) error {
	var err error
	if c.CPUs, err = readList(dir, cpusFile); err != nil {
		return err
	}
	if c.Mems, err = readList(dir, memsFile); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		dst  *uint64
	}{
		{"cpuset.cpu_exclusive", &c.CPUExclusive}, {"cpuset.mem_hardwall", &c.MemHardwall},
		{"cpuset.mem_exclusive", &c.MemExclusive}, {"cpuset.memory_migrate", &c.MemoryMigrate},
		{"cpuset.memory_spread_page", &c.MemorySpreadPage}, {"cpuset.memory_spread_slab", &c.MemorySpreadSlab},
		{"cpuset.memory_pressure", &c.MemoryPressure}, {"cpuset.sched_load_balance", &c.SchedLoadBalance},
	} {
		if v, err := readUint(dir, f.name); err == nil { // v1 only; v2 has none of these
			*f.dst = v
		}
	}
	if s, err := readFile(dir, "cpuset.sched_relax_domain_level"); err == nil {
		c.SchedRelaxDomainLevel, _ = strconv.ParseInt(s, 10, 64)
	}
	return nil
}

// readList parses a cpuset list ("0-3,8,10-11").
func readList(dir, name string) ([]uint16, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	ids, err := cpulist.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
	}
	var out []uint16
	for _, id := range ids {
		out = append(out, uint16(id)) //nolint:gosec // cpulist.MaxID fits
	}
	return out, nil
}

// OOMKillCount returns how many processes the kernel's OOM killer has killed in the cgroup: v1
// memory.oom_control "oom_kill" (Linux 4.13+), v2 memory.events "oom_kill". Poll it to report `events` oom.
func (m *Manager) OOMKillCount() (uint64, error) {
	if dir := m.paths["memory"]; dir != "" {
		oc, err := readKV(dir, "memory.oom_control")
		if err != nil {
			return 0, fmt.Errorf("read oom kill count: %w", err)
		}
		return oc["oom_kill"], nil
	}
	if dir := m.paths[""]; dir != "" {
		ev, err := readKV(dir, "memory.events")
		if err != nil {
			return 0, notSupported("read oom kill count", err)
		}
		return ev["oom_kill"], nil
	}
	return 0, fmt.Errorf("read oom kill count: no memory controller: %w", ErrNotSupported)
}
