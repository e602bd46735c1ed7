package libcontainer

// The per-process and per-container attributes of runtime-spec v1.3 that are one syscall each: process.scheduler,
// process.ioPriority, process.execCPUAffinity, linux.personality and linux.memoryPolicy; and the fields rt refuses
// clearly rather than ignore: linux.intelRdt, and process.apparmorProfile and process.selinuxLabel on a host without
// that LSM (applied by lsm.go where it is enabled). linux.mountLabel is accepted and not applied: runtime-tools'
// linux_mount_label expects a host without SELinux to run it (runc passes context= to the mounts, which then fail).
// linux.netDevices is validated here too (netdev.go).
//
// Validation runs in the parent before anything is created (validateExtras); the apply functions run in `rt init`
// on the thread that will execve (the OS thread is locked), because every one of these attributes is per thread
// and survives execve: sched_setattr(2), ioprio_set(2), sched_setaffinity(2), personality(2), set_mempolicy(2).

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// schedPolicies maps process.scheduler.policy to the kernel's policy numbers (include/uapi/linux/sched.h).
// SCHED_ISO (4) is reserved in the kernel headers but was never merged into mainline Linux.
var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    unix.SCHED_NORMAL,
	specs.SchedFIFO:     unix.SCHED_FIFO,
	specs.SchedRR:       unix.SCHED_RR,
	specs.SchedBatch:    unix.SCHED_BATCH,
	specs.SchedISO:      4,
	specs.SchedIdle:     unix.SCHED_IDLE,
	specs.SchedDeadline: unix.SCHED_DEADLINE,
}

// schedFlags maps process.scheduler.flags to sched_attr.sched_flags bits (sched_setattr(2)).
var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// ioprioClasses maps process.ioPriority.class to IOPRIO_CLASS_* (include/uapi/linux/ioprio.h).
var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

const (
	// ioprioWhoProcess is IOPRIO_WHO_PROCESS: with who 0, ioprio_set(2) changes the calling thread.
	ioprioWhoProcess = 1
	// ioprioClassShift is IOPRIO_CLASS_SHIFT: the value is class<<13 | level (ioprio_set(2)).
	ioprioClassShift = 13
	// ioprioLevels is IOPRIO_NR_LEVELS: levels 0 (highest) to 7 (lowest) for the RT and BE classes.
	ioprioLevels = 8
)

// personalityDomains maps linux.personality.domain to PER_* (include/uapi/linux/personality.h).
var personalityDomains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000, // PER_LINUX
	specs.PerLinux32: 0x0008, // PER_LINUX32: uname(2) reports a 32-bit machine (i686 on x86_64)
}

// mempolicyModes maps linux.memoryPolicy.mode to MPOL_* (include/uapi/linux/mempolicy.h).
var mempolicyModes = map[specs.MemoryPolicyModeType]int{
	specs.MpolDefault:            0,
	specs.MpolPreferred:          1,
	specs.MpolBind:               2,
	specs.MpolInterleave:         3,
	specs.MpolLocal:              4,
	specs.MpolPreferredMany:      5,
	specs.MpolWeightedInterleave: 6,
}

// mempolicyFlags maps linux.memoryPolicy.flags to the MPOL_F_* mode flags, or'ed into set_mempolicy's mode.
var mempolicyFlags = map[specs.MemoryPolicyFlagType]int{
	specs.MpolFStaticNodes:   1 << 15,
	specs.MpolFRelativeNodes: 1 << 14,
	specs.MpolFNumaBalancing: 1 << 13,
}

// maxListID bounds the ids of a CPU or node list, so that "0-4000000000" is an error rather than a 500 MB mask.
// The kernel's own limits are lower (CONFIG_NR_CPUS is at most 8192, MAX_NUMNODES at most 1024).
const maxListID = 1<<16 - 1

// Host facts, variables so that unit tests can point them elsewhere.
var (
	// resctrlPath is where Intel RDT's resctrl filesystem is mounted (Documentation/arch/x86/resctrl.rst).
	resctrlPath = "/sys/fs/resctrl"
	// apparmorPaths are what runc's apparmor.IsEnabled reads: the securityfs directory, and the module
	// parameter that says "Y" when AppArmor is the active LSM.
	apparmorPaths = [2]string{"/sys/kernel/security/apparmor", "/sys/module/apparmor/parameters/enabled"}
	// selinuxfsPath is where selinuxfs is mounted when SELinux is enabled (go-selinux looks there first).
	selinuxfsPath = "/sys/fs/selinux"
)

// errSelinuxOff is runc's refusal of a SELinux label where SELinux is off (libcontainer/configs/validate, and
// validateProcessSpec for exec), word for word.
const errSelinuxOff = "selinux label is specified in config, but selinux is disabled or not supported"

// selinuxMagic is SELINUX_MAGIC (include/uapi/linux/magic.h), the f_type of selinuxfs.
const selinuxMagic = 0xf97cff8c

// validateExtras refuses, naming the JSON path, what rt cannot honour on this host, before anything is created.
// Called from Validate (libcontainer/validate.go) in the parent.
func validateExtras(spec *specs.Spec) error {
	if p := spec.Process; p != nil {
		if err := validateProcessExtras(p, "process"); err != nil {
			return err
		}
	}
	l := spec.Linux
	if l == nil {
		return nil
	}
	if per := l.Personality; per != nil {
		if _, ok := personalityDomains[per.Domain]; !ok {
			return fieldError("linux.personality.domain", "unknown domain %q (LINUX or LINUX32)", per.Domain)
		}
		if len(per.Flags) > 0 {
			// runtime-spec 1.3 config-linux.md: "Currently no flag values are supported."
			return fieldError("linux.personality.flags[0]", "unknown flag %q (runtime-spec defines none)", per.Flags[0])
		}
	}
	if mp := l.MemoryPolicy; mp != nil {
		if _, _, err := memoryPolicyArgs(mp); err != nil {
			return err
		}
	}
	if l.IntelRdt != nil {
		if !isFS(resctrlPath, unix.RDTGROUP_SUPER_MAGIC) {
			return fieldError("linux.intelRdt", "the host has no resctrl filesystem (mount -t resctrl)")
		}
		return fieldError("linux.intelRdt", "Intel RDT is not supported by rt yet")
	}
	return validateNetDevices(spec) // netdev.go
}

// validateProcessExtras checks the scheduler, I/O priority, CPU affinity and LSM fields of a process config (the
// container's, or one given to exec) under the JSON path prefix.
func validateProcessExtras(p *specs.Process, prefix string) error {
	if s := p.Scheduler; s != nil {
		if err := validateScheduler(s, prefix+".scheduler"); err != nil {
			return err
		}
	}
	if io := p.IOPriority; io != nil {
		if _, ok := ioprioClasses[io.Class]; !ok {
			return fieldError(prefix+".ioPriority.class", "unknown class %q (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", io.Class)
		}
		if io.Priority < 0 || io.Priority >= ioprioLevels {
			// ioprio_set(2): "the priority level within the class, 0 (highest) to 7 (lowest)"; runc checks the same.
			return fieldError(prefix+".ioPriority.priority", "%d is out of range (0 to 7)", io.Priority)
		}
	}
	if a := p.ExecCPUAffinity; a != nil {
		if _, err := parseList(a.Initial); err != nil {
			return fieldError(prefix+".execCPUAffinity.initial", "%v", err)
		}
		if _, err := parseList(a.Final); err != nil {
			return fieldError(prefix+".execCPUAffinity.final", "%v", err)
		}
	}
	if p.ApparmorProfile != "" {
		if !apparmorEnabled() {
			return fieldError(prefix+".apparmorProfile", "%q: AppArmor is not enabled on this host", p.ApparmorProfile)
		}
	}
	if p.SelinuxLabel != "" && !isFS(selinuxfsPath, selinuxMagic) {
		return fieldError(prefix+".selinuxLabel", "%q: %s", p.SelinuxLabel, errSelinuxOff)
	}
	return nil
}

// validateScheduler checks what sched_setattr(2) would refuse with a bare EINVAL, so the error names the field.
// The cross-field rules are runc's (libcontainer/configs/validate: priority only for FIFO/RR, runtime/deadline/
// period only for DEADLINE); the ranges are the man page's and the kernel's __checkparam_dl.
func validateScheduler(s *specs.Scheduler, field string) error {
	if s.Policy == "" {
		return fieldError(field+".policy", "must be set")
	}
	if _, ok := schedPolicies[s.Policy]; !ok {
		return fieldError(field+".policy", "unknown policy %q", s.Policy)
	}
	if s.Policy == specs.SchedISO {
		return fieldError(field+".policy", "SCHED_ISO is not implemented by Linux")
	}
	if s.Nice < -20 || s.Nice > 19 {
		return fieldError(field+".nice", "%d is out of range (-20 to 19)", s.Nice)
	}
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case realtime && (s.Priority < 1 || s.Priority > 99):
		// sched(7): the static priority of SCHED_FIFO and SCHED_RR threads is 1 (low) to 99 (high).
		return fieldError(field+".priority", "%d is out of range for %s (1 to 99)", s.Priority, s.Policy)
	case !realtime && s.Priority != 0:
		return fieldError(field+".priority", "only SCHED_FIFO and SCHED_RR take a priority, not %s", s.Policy)
	}
	if s.Policy != specs.SchedDeadline {
		if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
			return fieldError(field, "runtime, deadline and period are only for SCHED_DEADLINE, not %s", s.Policy)
		}
	} else {
		// sched_setattr(2) and kernel/sched/deadline.c __checkparam_dl: runtime <= deadline <= period (a period
		// of 0 means the deadline), a runtime of at least 1024 ns, and no value with the top bit set.
		const minRuntime, maxValue = 1 << 10, 1 << 63
		switch {
		case s.Deadline == 0:
			return fieldError(field+".deadline", "must be set for SCHED_DEADLINE")
		case s.Runtime < minRuntime:
			return fieldError(field+".runtime", "%d ns is below the minimum of %d ns", s.Runtime, minRuntime)
		case s.Runtime > s.Deadline:
			return fieldError(field+".runtime", "%d ns is above the deadline (%d ns)", s.Runtime, s.Deadline)
		case s.Period != 0 && s.Deadline > s.Period:
			return fieldError(field+".deadline", "%d ns is above the period (%d ns)", s.Deadline, s.Period)
		case s.Deadline >= maxValue || s.Period >= maxValue:
			return fieldError(field, "deadline and period must be below 2^63 ns")
		}
	}
	for i, f := range s.Flags {
		if _, ok := schedFlags[f]; !ok {
			return fieldError(fmt.Sprintf("%s.flags[%d]", field, i), "unknown flag %q", f)
		}
	}
	return nil
}

// applyExtras applies the per-process attributes in the container's init (or exec'd process) just before the
// user switch; the OS thread is locked (runtime.LockOSThread), the process still has its capabilities.
// final=true is called a second time right before execve (execCPUAffinity.final).
//
// Each attribute is set on the calling thread only, which is the one that execs; the kernel keeps them across
// execve (sched(7), ioprio_set(2), sched_setaffinity(2)).
func applyExtras(p *specs.Process, final bool) error {
	if p == nil {
		return nil
	}
	if final {
		if a := p.ExecCPUAffinity; a != nil && a.Final != "" {
			return setAffinity(a.Final, "process.execCPUAffinity.final")
		}
		return nil
	}
	// The initial affinity first: it says where the rest of the runtime's work in the container runs.
	if a := p.ExecCPUAffinity; a != nil && a.Initial != "" {
		if err := setAffinity(a.Initial, "process.execCPUAffinity.initial"); err != nil {
			return err
		}
	}
	if io := p.IOPriority; io != nil {
		if err := setIOPriority(io); err != nil {
			return err
		}
	}
	// The scheduler last: a SCHED_IDLE or a low-priority policy slows down everything that follows it.
	if s := p.Scheduler; s != nil {
		if err := setScheduler(s); err != nil {
			return err
		}
	}
	return nil
}

// setScheduler calls sched_setattr(2) on the calling thread with process.scheduler. A SCHED_DEADLINE thread cannot
// create threads or fork unless SCHED_FLAG_RESET_ON_FORK is set (sched(7)); rt's init gets from here to execve
// without a new thread, but a multi-threaded workload (any Go program) needs the flag.
func setScheduler(s *specs.Scheduler) error {
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return fieldError("process.scheduler.policy", "unknown policy %q", s.Policy)
	}
	attr := unix.SchedAttr{
		Policy:   policy,
		Nice:     s.Nice,
		Priority: uint32(s.Priority),
		Runtime:  s.Runtime,
		Deadline: s.Deadline,
		Period:   s.Period,
	}
	for _, f := range s.Flags {
		attr.Flags |= schedFlags[f]
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) && (s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR) {
			// kernel/sched/core.c __sched_setscheduler: with CONFIG_RT_GROUP_SCHED a real-time policy is refused
			// in a cpu cgroup whose cpu.rt_runtime_us is 0, the default for a new cgroup.
			return fmt.Errorf("process.scheduler: %w (with RT group scheduling, a real-time policy needs real-time "+
				"bandwidth in the container's cpu cgroup: linux.resources.cpu.realtimeRuntime)", os.NewSyscallError("sched_setattr", err))
		}
		return fmt.Errorf("process.scheduler: %w", os.NewSyscallError("sched_setattr", err))
	}
	return nil
}

// setIOPriority calls ioprio_set(2) on the calling thread with process.ioPriority, as runc does (who 0).
func setIOPriority(io *specs.LinuxIOPriority) error {
	class, ok := ioprioClasses[io.Class]
	if !ok {
		return fieldError("process.ioPriority.class", "unknown class %q", io.Class)
	}
	value := class<<ioprioClassShift | io.Priority
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(value)); errno != 0 {
		return fmt.Errorf("process.ioPriority: %w", os.NewSyscallError("ioprio_set", errno))
	}
	return nil
}

// setAffinity calls sched_setaffinity(2) on the calling thread with the CPU list list, field naming its JSON path.
func setAffinity(list, field string) error {
	ids, err := parseList(list)
	if err != nil {
		return fieldError(field, "%v", err)
	}
	set := unix.NewCPUSet(ids[len(ids)-1] + 1)
	for _, id := range ids {
		set.Set(id)
	}
	if err := unix.SchedSetaffinityDynamic(0, set); err != nil {
		return fmt.Errorf("%s %q: %w", field, list, os.NewSyscallError("sched_setaffinity", err))
	}
	return nil
}

// applyPersonality calls personality(2) with linux.personality. It is per task and kept across execve, so it is
// called on the thread that execs, in the container's init and in an exec'd process (runc applies it to both).
func applyPersonality(per *specs.LinuxPersonality) error {
	if per == nil {
		return nil
	}
	domain, ok := personalityDomains[per.Domain]
	if !ok {
		return fieldError("linux.personality.domain", "unknown domain %q", per.Domain)
	}
	// personality(2) returns the previous persona; only -1 is an error. 0xffffffff would query, not set.
	if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, domain, 0, 0); errno != 0 {
		return fmt.Errorf("linux.personality: %w", os.NewSyscallError("personality", errno))
	}
	return nil
}

// applyMemoryPolicy calls set_mempolicy(2) with linux.memoryPolicy on the calling thread; the policy is inherited
// by children and kept across execve (set_mempolicy(2)), so it is called on the thread that execs.
func applyMemoryPolicy(mp *specs.LinuxMemoryPolicy) error {
	if mp == nil {
		return nil
	}
	mode, mask, err := memoryPolicyArgs(mp)
	if err != nil {
		return err
	}
	var ptr unsafe.Pointer
	// maxnode counts bits, and the kernel reads only maxnode-1 of them (mm/mempolicy.c get_nodes), hence the +1.
	maxnode := uintptr(0)
	if len(mask) > 0 {
		ptr = unsafe.Pointer(&mask[0])
		maxnode = uintptr(len(mask)*bits.UintSize) + 1
	}
	if _, _, errno := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(ptr), maxnode); errno != 0 {
		return fmt.Errorf("linux.memoryPolicy: %w", os.NewSyscallError("set_mempolicy", errno))
	}
	return nil
}

// memoryPolicyArgs checks linux.memoryPolicy and returns set_mempolicy's mode (with its flags) and node mask (nil
// for no nodes). The rules are set_mempolicy(2)'s EINVAL cases (and mm/mempolicy.c mpol_new), checked here so the
// error names the field.
func memoryPolicyArgs(mp *specs.LinuxMemoryPolicy) (int, []uint, error) {
	const field = "linux.memoryPolicy"
	mode, ok := mempolicyModes[mp.Mode]
	if !ok {
		return 0, nil, fieldError(field+".mode", "unknown mode %q", mp.Mode)
	}
	var flags int
	for i, f := range mp.Flags {
		bit, ok := mempolicyFlags[f]
		if !ok {
			return 0, nil, fieldError(fmt.Sprintf("%s.flags[%d]", field, i), "unknown flag %q", f)
		}
		flags |= bit
	}
	static, relative := flags&mempolicyFlags[specs.MpolFStaticNodes] != 0, flags&mempolicyFlags[specs.MpolFRelativeNodes] != 0
	if static && relative {
		return 0, nil, fieldError(field+".flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
	}
	if flags&mempolicyFlags[specs.MpolFNumaBalancing] != 0 && mp.Mode != specs.MpolBind {
		return 0, nil, fieldError(field+".flags", "MPOL_F_NUMA_BALANCING needs mode MPOL_BIND, not %s", mp.Mode)
	}
	nodes, err := parseList(mp.Nodes)
	if err != nil {
		return 0, nil, fieldError(field+".nodes", "%v", err)
	}
	switch mp.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if len(nodes) > 0 {
			return 0, nil, fieldError(field+".nodes", "must be empty for %s", mp.Mode)
		}
		if mp.Mode == specs.MpolLocal && (static || relative) {
			return 0, nil, fieldError(field+".flags", "MPOL_LOCAL takes neither MPOL_F_STATIC_NODES nor MPOL_F_RELATIVE_NODES")
		}
	case specs.MpolPreferred:
		// No nodes means local allocation, which cannot be static or relative.
		if len(nodes) == 0 && (static || relative) {
			return 0, nil, fieldError(field+".nodes", "MPOL_PREFERRED with MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES needs a node")
		}
	default:
		if len(nodes) == 0 {
			return 0, nil, fieldError(field+".nodes", "%s needs at least one node", mp.Mode)
		}
	}
	var mask []uint
	if len(nodes) > 0 {
		mask = make([]uint, nodes[len(nodes)-1]/bits.UintSize+1)
		for _, n := range nodes {
			mask[n/bits.UintSize] |= 1 << (uint(n) % bits.UintSize)
		}
	}
	return mode | flags, mask, nil
}

// errList is the class of every CPU or node list syntax error.
var errList = errors.New("invalid list")

// parseList parses a CPU or memory node list, "0-3,7" (the kernel's cpulist format without strides, as
// runtime-spec config.md describes execCPUAffinity and memoryPolicy.nodes), into its sorted, distinct ids. An
// empty (or all blank) list is no ids and no error.
func parseList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	var ids []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := listID(lo, s)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = listID(hi, s); err != nil {
				return nil, err
			}
			if last < first {
				return nil, fmt.Errorf("%q: range %q goes backwards: %w", s, part, errList)
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

// listID parses one id of the list whole.
func listID(s, whole string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q: %q is not a number: %w", whole, s, errList)
	}
	id, err := strconv.Atoi(s)
	if err != nil || id > maxListID {
		return 0, fmt.Errorf("%q: %s is above the maximum id %d: %w", whole, s, maxListID, errList)
	}
	return id, nil
}

// isFS reports whether path is the root of a mounted filesystem of the given type (statfs(2) f_type).
func isFS(path string, magic uint32) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return uint32(st.Type) == magic //nolint:gosec // f_type is a 32-bit magic number, whatever the field's width
}

// apparmorEnabled is runc's apparmor.IsEnabled: securityfs has an apparmor directory and the module says "Y".
func apparmorEnabled() bool {
	if _, err := os.Stat(apparmorPaths[0]); err != nil {
		return false
	}
	b, err := os.ReadFile(apparmorPaths[1])
	return err == nil && bytes.HasPrefix(b, []byte("Y"))
}
