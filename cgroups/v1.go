package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setV1 writes r through the v1 controllers (Documentation/admin-guide/cgroup-v1/*). A resource whose controller is
// not mounted fails with ErrNotSupported, except hugetlb, which falls back to the unified tree of a hybrid host.
func (m *Manager) setV1(r *specs.LinuxResources) error {
	ctrl := func(name string) (string, error) {
		if d := m.paths[name]; d != "" {
			return d, nil
		}
		return "", fmt.Errorf("%s controller is not mounted: %w", name, ErrNotSupported)
	}
	if mem := r.Memory; mem != nil && memoryV1Set(mem) {
		dir, err := ctrl("memory")
		if err != nil {
			return err
		}
		if err := setMemoryV1(dir, mem); err != nil {
			return fmt.Errorf("set memory: %w", err)
		}
	}
	if c := r.CPU; c != nil {
		if cpuV1Set(c) {
			dir, err := ctrl("cpu")
			if err != nil {
				return err
			}
			if err := setCPUV1(dir, c); err != nil {
				return fmt.Errorf("set cpu: %w", err)
			}
		}
		if c.Cpus != "" || c.Mems != "" {
			dir, err := ctrl("cpuset")
			if err != nil {
				return err
			}
			if c.Cpus != "" {
				if err := writeFile(dir, "cpuset.cpus", c.Cpus); err != nil {
					return fmt.Errorf("set cpuset cpus: %w", err)
				}
			}
			if c.Mems != "" {
				if err := writeFile(dir, "cpuset.mems", c.Mems); err != nil {
					return fmt.Errorf("set cpuset mems: %w", err)
				}
			}
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		dir, err := ctrl("pids")
		if err != nil {
			return err
		}
		if err := writeFile(dir, "pids.max", pidsMax(*r.Pids.Limit)); err != nil {
			return fmt.Errorf("set pids limit: %w", err)
		}
	}
	if b := r.BlockIO; b != nil && blkioV1Set(b) {
		dir, err := ctrl("blkio")
		if err != nil {
			return err
		}
		if err := setBlkioV1(dir, b); err != nil {
			return fmt.Errorf("set blkio: %w", err)
		}
	}
	if len(r.HugepageLimits) > 0 {
		if err := m.setHugetlbV1(r.HugepageLimits); err != nil {
			return err
		}
	}
	if n := r.Network; n != nil {
		if id, ok := ptrVal(n.ClassID); ok {
			dir, err := ctrl("net_cls")
			if err != nil {
				return err
			}
			if err := writeFile(dir, "net_cls.classid", strconv.FormatUint(uint64(id), 10)); err != nil {
				return fmt.Errorf("set net_cls classid: %w", err)
			}
		}
		if len(n.Priorities) > 0 {
			dir, err := ctrl("net_prio")
			if err != nil {
				return err
			}
			for _, p := range n.Priorities {
				if err := writeFile(dir, "net_prio.ifpriomap", p.Name+" "+strconv.FormatUint(uint64(p.Priority), 10)); err != nil {
					return fmt.Errorf("set net_prio %s: %w", p.Name, err)
				}
			}
		}
	}
	if len(r.Rdma) > 0 {
		dir, err := ctrl("rdma")
		if err != nil {
			return err
		}
		if err := writeRdma(dir, r.Rdma); err != nil {
			return err
		}
	}
	if len(r.Devices) > 0 {
		dir, err := ctrl("devices")
		if err != nil {
			return err
		}
		if err := setDevicesV1(dir, r.Devices); err != nil {
			return fmt.Errorf("set devices: %w", err)
		}
	}
	return nil
}

func memoryV1Set(mem *specs.LinuxMemory) bool {
	return mem.Limit != nil || mem.Swap != nil || mem.Reservation != nil || mem.Swappiness != nil ||
		mem.DisableOOMKiller != nil
}

// setMemoryV1 writes memory.limit_in_bytes and memory.memsw.limit_in_bytes in the order the kernel accepts (the
// memory limit may never exceed memory+swap), then the soft limit, swappiness and the OOM-killer switch, following
// runc's fs memory controller. Kernel memory limits are ignored, as runc 1.2+ does (deprecated since Linux 5.4).
func setMemoryV1(dir string, mem *specs.LinuxMemory) error {
	if err := checkBelowUsage(dir, "memory.usage_in_bytes", mem); err != nil {
		return err
	}
	limit, _ := ptrVal(mem.Limit)
	swap, _ := ptrVal(mem.Swap)
	if limit == -1 && swap == 0 {
		// Unlimited memory with unset swap means both unlimited (runc's setMemoryAndSwap).
		swap = -1
	}
	writeLimit := func() error {
		if limit == 0 {
			return nil
		}
		err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(limit, 10))
		if errors.Is(err, unix.EBUSY) {
			// The kernel could not reclaim down to the new limit; say so in runc's words.
			usage, _ := readUint(dir, "memory.usage_in_bytes")
			peak, _ := readUint(dir, "memory.max_usage_in_bytes")
			return fmt.Errorf("unable to set memory limit to %d (current usage: %d, peak usage: %d): %w", limit, usage, peak, ErrBelowUsage)
		}
		return err
	}
	writeSwap := func() error {
		if swap == 0 {
			return nil
		}
		err := writeFile(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(swap, 10))
		if errors.Is(err, os.ErrNotExist) && swap == -1 {
			return nil // no swap accounting: unlimited swap already holds
		}
		if err != nil {
			return notSupported("memory.memsw.limit_in_bytes", err)
		}
		return nil
	}
	first, second := writeLimit, writeSwap
	if limit != 0 && swap != 0 {
		cur, err := readUint(dir, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		// Raising memory+swap above the current memory limit must come first, else the new memory limit could
		// exceed the old memory+swap limit (EINVAL).
		if swap == -1 || cur < uint64(swap) {
			first, second = writeSwap, writeLimit
		}
	}
	if err := first(); err != nil {
		return err
	}
	if err := second(); err != nil {
		return err
	}
	if v, ok := ptrVal(mem.Reservation); ok && v != 0 {
		if err := writeFile(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(v, 10)); err != nil {
			return err
		}
	}
	if v, ok := ptrVal(mem.Swappiness); ok {
		if v > 100 {
			return fmt.Errorf("swappiness %d is not in [0, 100]", v)
		}
		if err := writeFile(dir, "memory.swappiness", strconv.FormatUint(v, 10)); err != nil {
			return err
		}
	}
	if v, ok := ptrVal(mem.DisableOOMKiller); ok && v {
		if err := writeFile(dir, "memory.oom_control", "1"); err != nil {
			return err
		}
	}
	return nil
}

func cpuV1Set(c *specs.LinuxCPU) bool {
	return c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil || c.RealtimeRuntime != nil ||
		c.RealtimePeriod != nil || c.Idle != nil
}

// setCPUV1 writes cpu.shares, the CFS bandwidth pair and burst, the RT pair and cpu.idle, as runc's fs cpu
// controller does. A period write can fail until the matching quota is in place, so it is retried after the quota.
func setCPUV1(dir string, c *specs.LinuxCPU) error {
	if v, ok := ptrVal(c.Shares); ok && v != 0 {
		if err := writeFile(dir, "cpu.shares", strconv.FormatUint(v, 10)); err != nil {
			return err
		}
	}
	period, _ := ptrVal(c.Period)
	var periodErr error
	if period != 0 {
		periodErr = writeFile(dir, "cpu.cfs_period_us", strconv.FormatUint(period, 10))
	}
	if q, ok := ptrVal(c.Quota); ok && q != 0 {
		if err := writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(q, 10)); err != nil {
			return err
		}
		if periodErr != nil {
			periodErr = writeFile(dir, "cpu.cfs_period_us", strconv.FormatUint(period, 10))
		}
	}
	if periodErr != nil {
		return periodErr
	}
	if b, ok := ptrVal(c.Burst); ok {
		if err := writeFile(dir, "cpu.cfs_burst_us", strconv.FormatUint(b, 10)); err != nil {
			return notSupported("cpu.cfs_burst_us", err)
		}
	}
	// The RT period goes first, but the kernel refuses (EINVAL) a period that the current runtime does not fit in
	// (sched-rt-group.rst): then the runtime goes first and the period is written again after it, as runc does
	// (runc issue 4094).
	rtPeriod, _ := ptrVal(c.RealtimePeriod)
	rtRuntime, _ := ptrVal(c.RealtimeRuntime)
	var rtPeriodErr error
	if rtPeriod != 0 {
		rtPeriodErr = writeFile(dir, "cpu.rt_period_us", strconv.FormatUint(rtPeriod, 10))
		if rtPeriodErr != nil && (!errors.Is(rtPeriodErr, unix.EINVAL) || rtRuntime == 0) {
			return notSupported("cpu.rt_period_us", rtPeriodErr)
		}
	}
	if rtRuntime != 0 {
		if err := writeFile(dir, "cpu.rt_runtime_us", strconv.FormatInt(rtRuntime, 10)); err != nil {
			return notSupported("cpu.rt_runtime_us", err)
		}
		if rtPeriodErr != nil {
			if err := writeFile(dir, "cpu.rt_period_us", strconv.FormatUint(rtPeriod, 10)); err != nil {
				return notSupported("cpu.rt_period_us", err)
			}
		}
	}
	if v, ok := ptrVal(c.Idle); ok {
		if err := writeFile(dir, "cpu.idle", strconv.FormatInt(v, 10)); err != nil {
			return notSupported("cpu.idle", err)
		}
	}
	return nil
}

func blkioV1Set(b *specs.LinuxBlockIO) bool {
	return b.Weight != nil || b.LeafWeight != nil || len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 ||
		len(b.ThrottleWriteBpsDevice) > 0 || len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0
}

// setBlkioV1 writes the weights (blkio.weight with CFQ, blkio.bfq.weight with BFQ, whichever exists, as runc
// picks) and one throttle line per device.
func setBlkioV1(dir string, b *specs.LinuxBlockIO) error {
	weightFile, weightDevFile := "blkio.weight", "blkio.weight_device"
	if !exists(dir, weightFile) && exists(dir, "blkio.bfq.weight") {
		weightFile, weightDevFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if w, ok := ptrVal(b.Weight); ok && w != 0 {
		if err := writeFile(dir, weightFile, strconv.FormatUint(uint64(w), 10)); err != nil {
			return notSupported("blkio weight", err)
		}
	}
	if w, ok := ptrVal(b.LeafWeight); ok && w != 0 {
		if err := writeFile(dir, "blkio.leaf_weight", strconv.FormatUint(uint64(w), 10)); err != nil {
			return notSupported("blkio leaf weight", err)
		}
	}
	for _, wd := range b.WeightDevice {
		if w, ok := ptrVal(wd.Weight); ok && w != 0 {
			if err := writeFile(dir, weightDevFile, fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, w)); err != nil {
				return notSupported("blkio device weight", err)
			}
		}
		if w, ok := ptrVal(wd.LeafWeight); ok && w != 0 {
			if err := writeFile(dir, "blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, w)); err != nil {
				return notSupported("blkio device leaf weight", err)
			}
		}
	}
	for _, t := range []struct {
		file string
		devs []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			if err := writeFile(dir, t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)); err != nil {
				return notSupported(t.file, err)
			}
		}
	}
	return nil
}

// setHugetlbV1 writes hugetlb.<size>.limit_in_bytes (and .rsvd.limit_in_bytes where present) through the v1
// controller, or through the unified tree when only v2 has hugetlb (this machine's hybrid layout).
func (m *Manager) setHugetlbV1(limits []specs.LinuxHugepageLimit) error {
	if dir := m.paths["hugetlb"]; dir != "" {
		for _, l := range limits {
			if !validFileName(l.Pagesize) {
				return fmt.Errorf("hugepage size %q: %w", l.Pagesize, ErrInvalidPath)
			}
			v := strconv.FormatUint(l.Limit, 10)
			if err := writeFile(dir, "hugetlb."+l.Pagesize+".limit_in_bytes", v); err != nil {
				return notSupported("set hugetlb "+l.Pagesize+" limit", err)
			}
			err := writeFile(dir, "hugetlb."+l.Pagesize+".rsvd.limit_in_bytes", v)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("set hugetlb %s reservation limit: %w", l.Pagesize, err)
			}
		}
		return nil
	}
	if dir := m.paths[""]; dir != "" {
		return setHugetlbV2(dir, limits)
	}
	return fmt.Errorf("set hugetlb: hugetlb controller is not mounted: %w", ErrNotSupported)
}

// setDevicesV1 replaces the device list: "a" to devices.deny (deny everything, emptying the allow list), then each
// rule in order to devices.allow or devices.deny, so later rules win. What comes before the last deny of everything
// is undone by it and not written (a config that starts with "deny all", as most do, gets one such write, not
// two), and each file is opened once for all its lines. Do not use this on a running container whose devices must
// stay usable throughout: between the first and the last write the container briefly has no access (runc avoids
// the window by computing a transition with its devices emulator).
func setDevicesV1(dir string, rules []specs.LinuxDeviceCgroup) (retErr error) {
	type write struct{ file, line string }
	denyAll := write{"devices.deny", "a"}
	writes := []write{denyAll}
	for i, r := range rules {
		d, err := parseDeviceRule(r)
		if err != nil {
			return fmt.Errorf("device rule %d: %w", i, err)
		}
		f := "devices.deny"
		if d.allow {
			f = "devices.allow"
		}
		for _, l := range deviceLines(d) {
			if w := (write{f, l}); w == denyAll {
				writes = append(writes[:0], w)
			} else {
				writes = append(writes, w)
			}
		}
	}
	files := map[string]controlFile{}
	defer func() {
		for _, f := range files {
			if err := f.close(); err != nil && retErr == nil {
				retErr = err
			}
		}
	}()
	for _, w := range writes {
		f, ok := files[w.file]
		if !ok {
			var err error
			if f, err = openControl(dir, w.file); err != nil {
				return err
			}
			files[w.file] = f
		}
		if err := f.write(w.line); err != nil {
			return err
		}
	}
	return nil
}

// deviceLines formats a rule as v1 devices.allow/deny lines: "<type> <major|*>:<minor|*> <access>". The kernel
// reads any line starting with "a" as "everything", so an "a" rule narrower than that is written as one "b" and one
// "c" line, keeping v1 and the v2 program in agreement.
func deviceLines(d deviceRule) []string {
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	if d.matchesAll() {
		return []string{"a"}
	}
	acc := ""
	for _, c := range []struct {
		bit uint32
		ch  string
	}{{accRead, "r"}, {accWrite, "w"}, {accMknod, "m"}} {
		if d.access&c.bit != 0 {
			acc += c.ch
		}
	}
	nums := num(d.major) + ":" + num(d.minor)
	if d.typ == 'a' {
		return []string{"b " + nums + " " + acc, "c " + nums + " " + acc}
	}
	return []string{string(d.typ) + " " + nums + " " + acc}
}
