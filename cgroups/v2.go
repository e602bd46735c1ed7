package cgroups

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Set writes the limits of r: to the v1 controllers where they are mounted, to the unified directory otherwise.
// Fields that are nil or zero are left alone, so `rt update` can pass only what changed. Do not call Set with the
// device rules alone on a running v1 container unless a brief deny-all window is acceptable (see setDevicesV1).
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if err := m.checkUnified(r); err != nil {
		return err
	}
	if m.sd != nil {
		// Unit properties first, for what systemd has a property for, then every file as the cgroupfs driver
		// writes them (runc's systemd driver does the same), so the two agree. A memory limit below the usage is
		// refused before systemd could apply it and the kernel OOM-kill the container.
		if mem := r.Memory; mem != nil {
			if err := checkBelowUsage(m.paths[""], "memory.current", mem); err != nil {
				return fmt.Errorf("set memory: %w", err)
			}
		}
		props, files, err := resourceProps(r, os.Geteuid() == 0)
		if err != nil {
			return err
		}
		if err := m.sd.setProperties(props); err != nil {
			return err
		}
		r = files
	}
	if m.unifiedOnly() {
		return m.setV2(m.paths[""], r)
	}
	if err := m.setV1(r); err != nil {
		return err
	}
	return m.setUnifiedMap(r.Unified)
}

// setV2 maps every linux.resources field to its cgroup v2 file (Documentation/admin-guide/cgroup-v2.rst), with
// runc's conversions from the v1-shaped spec.
func (m *Manager) setV2(dir string, r *specs.LinuxResources) error {
	avail, _ := readFile(dir, "cgroup.controllers")
	ctrls := strings.Fields(avail)
	need := func(c string) error {
		if !slices.Contains(ctrls, c) {
			return fmt.Errorf("%s controller is not enabled for %s: %w", c, dir, ErrNotSupported)
		}
		return nil
	}
	if mem := r.Memory; mem != nil && (mem.Limit != nil || mem.Swap != nil || mem.Reservation != nil) {
		if err := need("memory"); err != nil {
			return err
		}
		if err := setMemoryV2(dir, mem); err != nil {
			return fmt.Errorf("set memory: %w", err)
		}
	}
	// memory.swappiness, disableOOMKiller, kernel and kernelTCP have no v2 file; runc's fs2 driver ignores them
	// too (memory.oom.group is a different knob: it kills the whole cgroup, it does not disable the killer).
	if c := r.CPU; c != nil {
		if err := m.setCPUV2(dir, c, need); err != nil {
			return fmt.Errorf("set cpu: %w", err)
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		if err := need("pids"); err != nil {
			return err
		}
		if err := writeFile(dir, "pids.max", pidsMax(*r.Pids.Limit)); err != nil {
			return fmt.Errorf("set pids limit: %w", err)
		}
	}
	if b := r.BlockIO; b != nil {
		if err := setIOV2(dir, b, need); err != nil {
			return fmt.Errorf("set io: %w", err)
		}
	}
	if len(r.HugepageLimits) > 0 {
		if err := need("hugetlb"); err != nil {
			return err
		}
		if err := setHugetlbV2(dir, r.HugepageLimits); err != nil {
			return err
		}
	}
	if len(r.Rdma) > 0 {
		if err := need("rdma"); err != nil {
			return err
		}
		if err := writeRdma(dir, r.Rdma); err != nil {
			return err
		}
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		// net_cls/net_prio are v1-only; v2 has no equivalent (use BPF socket programs instead).
		return fmt.Errorf("set network: net_cls/net_prio: %w", ErrNotSupported)
	}
	if len(r.Devices) > 0 {
		h := m.host()
		if h.devices == nil {
			return fmt.Errorf("set devices: device programs: %w", ErrNotSupported)
		}
		if err := h.devices(dir, r.Devices); err != nil {
			return fmt.Errorf("set devices: %w", err)
		}
	}
	return m.setUnifiedMap(r.Unified)
}

func setMemoryV2(dir string, mem *specs.LinuxMemory) error {
	limit, _ := ptrVal(mem.Limit)
	swapTotal, _ := ptrVal(mem.Swap)
	if err := checkBelowUsage(dir, "memory.current", mem); err != nil {
		return err
	}
	swap, err := swapToV2(swapTotal, limit)
	if err != nil {
		return err
	}
	swapStr := v2Num(swap)
	if swapStr == "" && swap == 0 && swapTotal > 0 {
		// memory == memory+swap: no swap at all.
		swapStr = "0"
	}
	if swapStr != "" {
		if err := writeFile(dir, "memory.swap.max", swapStr); err != nil {
			// Without swap accounting there is no file; "max" and "0" then already hold (runc does the same).
			if !errors.Is(err, os.ErrNotExist) || (swapStr != "max" && swapStr != "0") {
				return notSupported("memory.swap.max", err)
			}
		}
	}
	if v := v2Num(limit); v != "" {
		if err := writeFile(dir, "memory.max", v); err != nil {
			return err
		}
	}
	if v, ok := ptrVal(mem.Reservation); ok {
		if s := v2Num(v); s != "" {
			if err := writeFile(dir, "memory.low", s); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBelowUsage implements memory.checkBeforeUpdate (runtime-spec config-linux.md) as runc's cgroup v2 managers
// do, in their words: refuse a positive memory or memory+swap limit at or below the current usage, which v2 would
// answer with an immediate OOM kill. A usage that cannot be read lets the limit through (runc's: best effort).
func checkBelowUsage(dir, usageFile string, mem *specs.LinuxMemory) error {
	check, _ := ptrVal(mem.CheckBeforeUpdate)
	limit, _ := ptrVal(mem.Limit)
	swap, _ := ptrVal(mem.Swap)
	if !check || (limit <= 0 && swap <= 0) {
		return nil
	}
	if usage, ok := readUsage(dir, usageFile); ok {
		if swap > 0 && uint64(swap) <= usage {
			return fmt.Errorf("rejecting memory+swap limit %d <= usage %d: %w", swap, usage, ErrBelowUsage)
		}
		if limit > 0 && uint64(limit) <= usage {
			return fmt.Errorf("rejecting memory limit %d <= usage %d: %w", limit, usage, ErrBelowUsage)
		}
	}
	return nil
}

// readUsage reads a usage counter; ok is false when it cannot be read.
func readUsage(dir, file string) (uint64, bool) {
	v, err := readUint(dir, file)
	return v, err == nil
}

func (m *Manager) setCPUV2(dir string, c *specs.LinuxCPU, need func(string) error) error {
	rtRuntime, _ := ptrVal(c.RealtimeRuntime)
	rtPeriod, _ := ptrVal(c.RealtimePeriod)
	if rtRuntime != 0 || rtPeriod != 0 {
		// The v2 cpu controller has no RT group scheduling interface (cgroup-v2.rst, "CPU": realtime processes
		// must stay in the root cgroup), so runc refuses these on v2.
		return fmt.Errorf("realtime runtime/period: %w", ErrNotSupported)
	}
	shares, _ := ptrVal(c.Shares)
	quota, _ := ptrVal(c.Quota)
	period, _ := ptrVal(c.Period)
	if c.Idle != nil || shares != 0 || quota != 0 || period != 0 || c.Burst != nil {
		if err := need("cpu"); err != nil {
			return err
		}
	}
	if idle, ok := ptrVal(c.Idle); ok {
		if err := writeFile(dir, "cpu.idle", strconv.FormatInt(idle, 10)); err != nil {
			return notSupported("cpu.idle", err)
		}
	}
	// An idle cgroup has no weight (cpu.weight writes fail with EINVAL), so runc skips weight when idle is 1.
	if w := sharesToWeight(shares); w != 0 && (c.Idle == nil || *c.Idle == 0) {
		if err := writeFile(dir, "cpu.weight", strconv.FormatUint(w, 10)); err != nil {
			return err
		}
	}
	burstDone := false
	if b, ok := ptrVal(c.Burst); ok {
		// burst must not exceed the quota; if the new quota is what makes it fit, write it again after cpu.max.
		burstDone = writeFile(dir, "cpu.max.burst", strconv.FormatUint(b, 10)) == nil
	}
	if quota != 0 || period != 0 {
		s := "max"
		if quota > 0 {
			s = strconv.FormatInt(quota, 10)
		}
		if period == 0 {
			period = 100000 // the kernel default period (cgroup-v2.rst "cpu.max"), as runc writes it
		}
		s += " " + strconv.FormatUint(period, 10)
		if err := writeFile(dir, "cpu.max", s); err != nil {
			return err
		}
	}
	if b, ok := ptrVal(c.Burst); ok && !burstDone {
		if err := writeFile(dir, "cpu.max.burst", strconv.FormatUint(b, 10)); err != nil {
			return notSupported("cpu.max.burst", err)
		}
	}
	if c.Cpus != "" || c.Mems != "" {
		if err := need("cpuset"); err != nil {
			return err
		}
	}
	if c.Cpus != "" {
		if err := writeFile(dir, "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		if err := writeFile(dir, "cpuset.mems", c.Mems); err != nil {
			return err
		}
	}
	return nil
}

func setIOV2(dir string, b *specs.LinuxBlockIO, need func(string) error) error {
	w, _ := ptrVal(b.Weight)
	if w != 0 || len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 || len(b.ThrottleWriteBpsDevice) > 0 ||
		len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0 {
		if err := need("io"); err != nil {
			return err
		}
	}
	// With BFQ the weight file is io.bfq.weight and takes the v1 range unchanged; otherwise io.weight takes the
	// converted value (runc's fs2 setIo).
	bfq := exists(dir, "io.bfq.weight")
	if w != 0 {
		var err error
		if bfq {
			err = writeFile(dir, "io.bfq.weight", strconv.FormatUint(uint64(w), 10))
		} else {
			err = writeFile(dir, "io.weight", strconv.FormatUint(blkioToIOWeight(w), 10))
		}
		if err != nil {
			return notSupported("io weight", err)
		}
	}
	for _, wd := range b.WeightDevice {
		dw, ok := ptrVal(wd.Weight)
		if !ok || dw == 0 {
			continue
		}
		var err error
		if bfq {
			err = writeFile(dir, "io.bfq.weight", fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, dw))
		} else {
			err = writeFile(dir, "io.weight", fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, blkioToIOWeight(dw)))
		}
		if err != nil {
			return notSupported("io device weight", err)
		}
	}
	for _, t := range []struct {
		key  string
		devs []specs.LinuxThrottleDevice
	}{
		{"rbps", b.ThrottleReadBpsDevice},
		{"wbps", b.ThrottleWriteBpsDevice},
		{"riops", b.ThrottleReadIOPSDevice},
		{"wiops", b.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			// A rate of 0 lifts the limit, as writing 0 to a v1 blkio.throttle file does.
			rate := "max"
			if d.Rate != 0 {
				rate = strconv.FormatUint(d.Rate, 10)
			}
			if err := writeFile(dir, "io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setHugetlbV2 writes hugetlb.<size>.max, and the reservation limit hugetlb.<size>.rsvd.max where the kernel has
// it (5.7+), which the spec prefers ("Default to reservation limits if supported"), as runc does.
func setHugetlbV2(dir string, limits []specs.LinuxHugepageLimit) error {
	for _, l := range limits {
		if !validFileName(l.Pagesize) {
			return fmt.Errorf("hugepage size %q: %w", l.Pagesize, ErrInvalidPath)
		}
		v := strconv.FormatUint(l.Limit, 10)
		if err := writeFile(dir, "hugetlb."+l.Pagesize+".max", v); err != nil {
			return notSupported("set hugetlb "+l.Pagesize+" limit", err)
		}
		if err := writeFile(dir, "hugetlb."+l.Pagesize+".rsvd.max", v); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("set hugetlb %s reservation limit: %w", l.Pagesize, err)
		}
	}
	return nil
}

// writeRdma writes one rdma.max line per device: "<dev> hca_handle=N hca_object=M" (the same format in v1 and v2,
// Documentation/admin-guide/cgroup-v1/rdma.rst).
func writeRdma(dir string, rdma map[string]specs.LinuxRdma) error {
	devs := make([]string, 0, len(rdma))
	for d := range rdma {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	for _, d := range devs {
		if strings.ContainsAny(d, " \n") {
			return fmt.Errorf("rdma device %q: %w", d, ErrInvalidPath)
		}
		line := d
		if h, ok := ptrVal(rdma[d].HcaHandles); ok {
			line += " hca_handle=" + strconv.FormatUint(uint64(h), 10)
		}
		if o, ok := ptrVal(rdma[d].HcaObjects); ok {
			line += " hca_object=" + strconv.FormatUint(uint64(o), 10)
		}
		if line == d {
			continue
		}
		if err := writeFile(dir, "rdma.max", line); err != nil {
			return notSupported("set rdma limit", err)
		}
	}
	return nil
}

// setUnifiedMap writes linux.resources.unified: each key a file in the unified directory, validated so it cannot
// name anything outside it. On a pure v2 host Create already delegated every available controller, so writing a
// controller's file works; a key whose controller is not available fails with ErrNotSupported.
func (m *Manager) setUnifiedMap(u map[string]string) error {
	if len(u) == 0 {
		return nil
	}
	dir := m.paths[""]
	if dir == "" {
		return fmt.Errorf("set unified resources: no cgroup v2 hierarchy: %w", ErrNotSupported)
	}
	keys := make([]string, 0, len(u))
	for k := range u {
		if !validFileName(k) {
			return fmt.Errorf("unified key %q: %w", k, ErrInvalidPath)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := writeFile(dir, k, u[k]); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				ctrl, _, _ := strings.Cut(k, ".")
				return fmt.Errorf("set unified %s: %s controller not available: %w", k, ctrl, ErrNotSupported)
			}
			return fmt.Errorf("set unified %s: %w", k, err)
		}
	}
	return nil
}
