package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "CONTAINER_ID",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "LinuxResources JSON file, or - for stdin"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight, 10 to 1000"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds per period"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst in microseconds"},
		&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in microseconds"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in microseconds"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "1 makes the cgroup SCHED_IDLE"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to use, e.g. 0-3,6"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit, e.g. 256M (-1: none)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit (-1: none)"},
		&cli.StringFlag{Name: "kernel-memory", Hidden: true, Usage: "ignored, as by runc"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Hidden: true, Usage: "ignored, as by runc"},
		&cli.IntFlag{Name: "pids-limit", Usage: "maximum number of tasks (-1: none)"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema (not supported)"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema (not supported)"},
	},
	Action: func(cliCtx *cli.Context) error {
		c, err := loadContainer(cliCtx)
		if err != nil {
			return err
		}
		defer c.Close()
		spec, err := c.Config()
		if err != nil {
			return err
		}
		var cur specs.LinuxResources
		if l := spec.Linux; l != nil && l.Resources != nil {
			cur = *l.Resources
		}
		r, err := updatedResources(cliCtx, cur)
		if err != nil {
			return err
		}
		return c.Update(r)
	},
}

// updatedResources applies -r (a whole LinuxResources, merged over the current one) and then the flags, with
// runc 1.5's rules for what an update does not name: `--memory -1` without a swap limit lifts the swap limit too;
// cpu.idle without shares drops the shares (an idle cgroup refuses them); the unified map and checkBeforeUpdate
// are the update's own, not the config's; device rules are never changed by update.
func updatedResources(cliCtx *cli.Context, cur specs.LinuxResources) (*specs.LinuxResources, error) {
	// A deep copy (-r decodes into it, through its pointers), so that a failed update leaves the config as it was.
	var r specs.LinuxResources
	data, err := json.Marshal(cur)
	if err == nil {
		err = json.Unmarshal(data, &r)
	}
	if err != nil {
		return nil, fmt.Errorf("copy linux.resources: %w", err)
	}
	devices := cur.Devices
	r.Unified = nil
	if r.Memory != nil {
		r.Memory.CheckBeforeUpdate = nil
	}
	var named specs.LinuxResources // what this update names itself
	if path := cliCtx.String("resources"); path != "" {
		var in io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			in = f
		}
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("--resources %s: %w", path, err)
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("--resources %s: %w", path, err)
		}
		_ = json.Unmarshal(data, &named)
	}
	if cliCtx.IsSet("l3-cache-schema") || cliCtx.IsSet("mem-bw-schema") {
		return nil, fmt.Errorf("--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported by rt")
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	for _, f := range []struct {
		name string
		set  func(string) error
	}{
		{"memory", func(v string) (err error) { mem().Limit, err = parseBytes(v); return }},
		{"memory-reservation", func(v string) (err error) { mem().Reservation, err = parseBytes(v); return }},
		{"memory-swap", func(v string) (err error) { mem().Swap, err = parseBytes(v); return }},
		{"cpu-period", func(v string) (err error) { cpu().Period, err = parseUint(v); return }},
		{"cpu-quota", func(v string) (err error) { cpu().Quota, err = parseInt(v); return }},
		{"cpu-burst", func(v string) (err error) { cpu().Burst, err = parseUint(v); return }},
		{"cpu-share", func(v string) (err error) { cpu().Shares, err = parseUint(v); return }},
		{"cpu-rt-period", func(v string) (err error) { cpu().RealtimePeriod, err = parseUint(v); return }},
		{"cpu-rt-runtime", func(v string) (err error) { cpu().RealtimeRuntime, err = parseInt(v); return }},
		{"cpu-idle", func(v string) (err error) { cpu().Idle, err = parseInt(v); return }},
		{"cpuset-cpus", func(v string) error { cpu().Cpus = v; return nil }},
		{"cpuset-mems", func(v string) error { cpu().Mems = v; return nil }},
		{"blkio-weight", func(v string) error {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return err
			}
			w := uint16(n)
			if r.BlockIO == nil {
				r.BlockIO = &specs.LinuxBlockIO{}
			}
			r.BlockIO.Weight = &w
			return nil
		}},
	} {
		if !cliCtx.IsSet(f.name) {
			continue
		}
		if err := f.set(cliCtx.String(f.name)); err != nil {
			return nil, fmt.Errorf("--%s %q: %w", f.name, cliCtx.String(f.name), err)
		}
	}
	if cliCtx.IsSet("pids-limit") {
		n := cliCtx.Int64("pids-limit")
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	r.Devices = devices
	if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit == -1 && !cliCtx.IsSet("memory-swap") &&
		(named.Memory == nil || named.Memory.Swap == nil) {
		r.Memory.Swap = nil // runc: no limit on memory and none given on swap lifts both
	}
	if r.CPU != nil && (cliCtx.IsSet("cpu-idle") || named.CPU != nil && named.CPU.Idle != nil) &&
		!cliCtx.IsSet("cpu-share") && (named.CPU == nil || named.CPU.Shares == nil) {
		r.CPU.Shares = nil // runc: an idle cgroup refuses shares (EINVAL), so idle without shares drops them
	}
	return &r, nil
}

func parseUint(v string) (*uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	return &n, err
}

func parseInt(v string) (*int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	return &n, err
}

// parseBytes reads a size such as 1024, 512k, 256M or 1g (powers of 1024, as runc's units.RAMInBytes); -1 means
// no limit.
func parseBytes(v string) (*int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	if s == "-1" {
		n := int64(-1)
		return &n, nil
	}
	mult := int64(1)
	s = strings.TrimSuffix(s, "b")
	s = strings.TrimSuffix(s, "i")
	if s != "" {
		switch s[len(s)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || n*float64(mult) >= math.MaxInt64 {
		return nil, fmt.Errorf("not a size")
	}
	b := int64(n * float64(mult))
	return &b, nil
}
