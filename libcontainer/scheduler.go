package libcontainer

// process.scheduler: validated in the parent (validateScheduler), applied in `rt init` on the thread that execs
// (setScheduler, from applyThreadAttrs in init.go): sched_setattr(2) is per thread and survives execve.

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/cpulist"
	"github.com/rt-runtime/rt/internal/table"
)

// schedPolicies maps process.scheduler.policy to the kernel's policy numbers (include/uapi/linux/sched.h).
// SCHED_ISO (4) is reserved in the kernel headers but was never merged into mainline Linux.
var schedPolicies = table.Table[specs.LinuxSchedulerPolicy, uint32]{
	{Key: specs.SchedOther, Val: unix.SCHED_NORMAL},
	{Key: specs.SchedFIFO, Val: unix.SCHED_FIFO},
	{Key: specs.SchedRR, Val: unix.SCHED_RR},
	{Key: specs.SchedBatch, Val: unix.SCHED_BATCH},
	{Key: specs.SchedISO, Val: 4},
	{Key: specs.SchedIdle, Val: unix.SCHED_IDLE},
	{Key: specs.SchedDeadline, Val: unix.SCHED_DEADLINE},
}

// schedFlags maps process.scheduler.flags to sched_attr.sched_flags bits (sched_setattr(2)).
var schedFlags = table.Table[specs.LinuxSchedulerFlag, uint64]{
	{Key: specs.SchedFlagResetOnFork, Val: unix.SCHED_FLAG_RESET_ON_FORK},
	{Key: specs.SchedFlagReclaim, Val: unix.SCHED_FLAG_RECLAIM},
	{Key: specs.SchedFlagDLOverrun, Val: unix.SCHED_FLAG_DL_OVERRUN},
	{Key: specs.SchedFlagKeepPolicy, Val: unix.SCHED_FLAG_KEEP_POLICY},
	{Key: specs.SchedFlagKeepParams, Val: unix.SCHED_FLAG_KEEP_PARAMS},
	{Key: specs.SchedFlagUtilClampMin, Val: unix.SCHED_FLAG_UTIL_CLAMP_MIN},
	{Key: specs.SchedFlagUtilClampMax, Val: unix.SCHED_FLAG_UTIL_CLAMP_MAX},
}

// validateScheduler checks what sched_setattr(2) would refuse with a bare EINVAL, so the error names the field.
// The cross-field rules are runc's (libcontainer/configs/validate: priority only for FIFO/RR, runtime/deadline/
// period only for DEADLINE); the ranges are the man page's and the kernel's __checkparam_dl.
func validateScheduler(s *specs.Scheduler, field string) error {
	if s.Policy == "" {
		return fieldError(field+".policy", "must be set")
	}
	if !schedPolicies.Has(s.Policy) {
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
		if !schedFlags.Has(f) {
			return fieldError(fmt.Sprintf("%s.flags[%d]", field, i), "unknown flag %q", f)
		}
	}
	return nil
}

// setScheduler calls sched_setattr(2) on the calling thread with process.scheduler. A SCHED_DEADLINE thread cannot
// create threads or fork unless SCHED_FLAG_RESET_ON_FORK is set (sched(7)); rt's init gets from here to execve
// without a new thread, but a multi-threaded workload (any Go program) needs the flag.
func setScheduler(s *specs.Scheduler) error {
	policy, ok := schedPolicies.Get(s.Policy)
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
		attr.Flags |= schedFlags.Val(f)
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) && (s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR) {
			// kernel/sched/core.c __sched_setscheduler: with CONFIG_RT_GROUP_SCHED a real-time policy is refused
			// in a cpu cgroup whose cpu.rt_runtime_us is 0, the default for a new cgroup.
			return fmt.Errorf("process.scheduler: %w (with RT group scheduling, a real-time policy needs real-time "+
				"bandwidth in the container's cpu cgroup: linux.resources.cpu.realtimeRuntime)", os.NewSyscallError("sched_setattr", err))
		}
		if errors.Is(err, unix.EPERM) && s.Policy == specs.SchedDeadline && narrowedAffinity() {
			// sched_setattr(2) EPERM: a SCHED_DEADLINE thread must be allowed every CPU; the container's cpuset
			// (linux.resources.cpu.cpus) narrows it. runc's words, which its suite matches.
			return fmt.Errorf("process.scheduler: process scheduler can't be used together with AllowedCPUs: %w",
				os.NewSyscallError("sched_setattr", err))
		}
		return fmt.Errorf("process.scheduler: %w", os.NewSyscallError("sched_setattr", err))
	}
	return nil
}

// narrowedAffinity reports whether the calling thread may run on fewer CPUs than are online.
func narrowedAffinity() bool {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return false
	}
	online, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return false
	}
	cpus, err := cpulist.Parse(strings.TrimSpace(string(online)))
	if err != nil {
		return false
	}
	return set.Count() < len(cpus)
}
