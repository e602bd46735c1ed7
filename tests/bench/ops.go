package main

import (
	"fmt"
	"strings"
)

// op is one measured operation. measure returns what the measured command(s) cost; any preparation and
// clean-up it needs (a created container to start, kill or delete) runs outside the measurement.
type op struct {
	name    string
	title   string
	floors  bool // the floors do it too (only `run`)
	measure func(b *bench, r *runtime, id string) (sample, error)
}

// rtArgs is r's command line with --root root.
func rtArgs(r *runtime, root string, args ...string) []string {
	return append([]string{r.path, "--root", root}, args...)
}

var allOps = []op{
	{name: "run", title: "`run` /bin/true", floors: true, measure: func(b *bench, r *runtime, id string) (sample, error) {
		if r.floor {
			return b.spawnCmd(r.path, b.rootfs)
		}
		return b.spawnCmd(rtArgs(r, r.root, "run", "--bundle", b.bundle, id)...)
	}},
	{name: "lifecycle", title: "create+start+wait+delete", measure: func(b *bench, r *runtime, id string) (sample, error) {
		// spawn is the subreaper the created init is reparented to: @wait reaps it, so its cost counts.
		args := rtArgs(r, r.root, "create", "--bundle", b.bundle, id)
		args = append(append(args, "---"), rtArgs(r, r.root, "start", id)...)
		args = append(args, "---", "@wait", "---")
		return b.spawnCmd(append(args, rtArgs(r, r.root, "delete", id)...)...)
	}},
	{name: "exec", title: "`exec` /bin/true into a running container", measure: func(b *bench, r *runtime, _ string) (sample, error) {
		return b.spawnCmd(rtArgs(r, r.root, "exec", r.id("up"), "/bin/true")...)
	}},
	{name: "state", title: "`state`", measure: func(b *bench, r *runtime, _ string) (sample, error) {
		return b.spawnCmd(rtArgs(r, r.root, "state", r.id("up"))...)
	}},
	{name: "list", title: "`list` (1 container)", measure: func(b *bench, r *runtime, _ string) (sample, error) {
		return b.spawnCmd(rtArgs(r, r.root, "list")...)
	}},
	{name: "start", title: "`start` of a created container", measure: measureStartDelete(false)},
	{name: "delete", title: "`delete` of a stopped container", measure: measureStartDelete(true)},
	{name: "kill", title: "`kill` KILL of a created container", measure: func(b *bench, r *runtime, id string) (sample, error) {
		if err := b.direct(r, r.root, "create", "--bundle", b.bundle, id); err != nil {
			return sample{}, err
		}
		pid, err := b.initPid(r, id)
		if err != nil {
			return sample{}, err
		}
		s, err := b.spawnCmd(rtArgs(r, r.root, "kill", id, "KILL")...)
		if err != nil {
			_ = b.direct(r, r.root, "delete", "--force", id)
			return s, err
		}
		if err := waitExit(pid); err != nil {
			return s, err
		}
		return s, b.direct(r, r.root, "delete", id)
	}},
	{name: "batch", title: "10 `run`s at once (CPU of the batch)", measure: func(b *bench, r *runtime, id string) (sample, error) {
		return b.spawnCmd(append([]string{"-p", "10"}, rtArgs(r, r.root, "run", "--bundle", b.bundle, id)...)...)
	}},
	{name: "list100", title: "`list` among 100 containers", measure: func(b *bench, r *runtime, _ string) (sample, error) {
		return b.spawnCmd(rtArgs(r, r.root1, "list")...)
	}},
	{name: "state100", title: "`state` among 100 containers", measure: func(b *bench, r *runtime, _ string) (sample, error) {
		return b.spawnCmd(rtArgs(r, r.root1, "state", r.id("c50"))...)
	}},
	{name: "version", title: "`--version`", measure: func(b *bench, r *runtime, _ string) (sample, error) {
		return b.spawnCmd(r.path, "--version")
	}},
}

// measureStartDelete creates a container, starts it, waits for it to stop and deletes it, measuring the
// start (del false) or the delete of the stopped container (del true).
func measureStartDelete(del bool) func(b *bench, r *runtime, id string) (sample, error) {
	return func(b *bench, r *runtime, id string) (s sample, err error) {
		if err := b.direct(r, r.root, "create", "--bundle", b.bundle, id); err != nil {
			return sample{}, err
		}
		defer func() {
			if err != nil {
				_ = b.direct(r, r.root, "delete", "--force", id)
			}
		}()
		pid, err := b.initPid(r, id)
		if err != nil {
			return sample{}, err
		}
		start := rtArgs(r, r.root, "start", id)
		if !del {
			s, err = b.spawnCmd(start...)
		} else {
			err = b.direct(r, r.root, "start", id)
		}
		if err != nil {
			return s, err
		}
		if err := waitExit(pid); err != nil {
			return s, err
		}
		if del {
			return b.spawnCmd(rtArgs(r, r.root, "delete", id)...)
		}
		return s, b.direct(r, r.root, "delete", id)
	}
}

// selectOps returns the operations named in the comma-separated list, or all of them.
func selectOps(list string) []op {
	if list == "" {
		return allOps
	}
	var ops []op
	for _, o := range allOps {
		for name := range strings.SplitSeq(list, ",") {
			if name == o.name {
				ops = append(ops, o)
			}
		}
	}
	if len(ops) == 0 {
		panic(fmt.Sprintf("no operation in %q", list))
	}
	return ops
}
