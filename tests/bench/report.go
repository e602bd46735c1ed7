package main

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// metric is one table of the report.
type metric struct {
	title string
	get   func(sample) float64
	prec  int
}

var metrics = []metric{
	{"CPU ms (user+system of the whole process tree)", func(s sample) float64 { return s.cpuMs }, 1},
	{"page faults (minor+major, whole tree)", func(s sample) float64 { return s.faults }, 0},
	{"peak RSS MiB (largest process of the tree)", func(s sample) float64 { return s.rssMiB }, 1},
	{"wall ms", func(s sample) float64 { return s.wallMs }, 1},
	{"caller's CPU µs to start and reap it (vfork+wait4: what a shim pays on top)", func(s sample) float64 { return s.selfUs }, 0},
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// med is the median of metric m of runtime key at op, and whether there is one.
func (b *bench) med(op, key string, m func(sample) float64) (float64, bool) {
	ss := b.samples[op][key]
	if len(ss) == 0 {
		return 0, false
	}
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = m(s)
	}
	return median(v), true
}

// report writes results.md (tables, targets) and samples.csv into out, and prints the Markdown.
func (b *bench) report(ops []op, out string, rounds, warmup int) error {
	var w strings.Builder
	host, _ := os.Hostname()
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	fmt.Fprintf(&w, "# make bench: %s\n\n", b.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&w, "Machine: %s, %s, %d CPUs, kernel %s. Load average %s at the start, %s at the end (%s).\n",
		host, cpuModel(), goruntime.NumCPU(), unix.ByteSliceToString(uts.Release[:]), b.load0, loadAvg(),
		time.Since(b.started).Round(time.Second))
	fmt.Fprintf(&w, "%d rounds (+%d warm-up), runtimes interleaved round by round, medians; (x) = ratio to crun. "+
		"Busybox rootfs with `runc spec`'s config, cgroup v1 view, roots on a tmpfs.\n\n", rounds, warmup)
	for _, r := range b.rts {
		if r.err != "" {
			fmt.Fprintf(&w, "- %s not measured: %s\n", r.label, r.err)
		}
	}
	for _, m := range metrics {
		fmt.Fprintf(&w, "\n## %s\n\n| operation |", m.title)
		for _, r := range b.rts {
			fmt.Fprintf(&w, " %s |", r.label)
		}
		w.WriteString("\n|---|" + strings.Repeat("---|", len(b.rts)) + "\n")
		for _, o := range ops {
			fmt.Fprintf(&w, "| %s |", o.title)
			crun, hasCrun := b.med(o.name, "crun", m.get)
			for _, r := range b.rts {
				v, ok := b.med(o.name, r.key, m.get)
				switch {
				case !ok && b.fails[o.name][r.key] != "":
					w.WriteString(" failed |")
				case !ok:
					w.WriteString(" |")
				case hasCrun && crun > 0 && r.key != "crun":
					fmt.Fprintf(&w, " %.*f (%.2f) |", m.prec, v, v/crun)
				default:
					fmt.Fprintf(&w, " %.*f |", m.prec, v)
				}
			}
			w.WriteString("\n")
		}
	}
	for _, r := range b.rts {
		if r.key != "rt" && r.key != "rt2" {
			continue
		}
		fmt.Fprintf(&w, "\n## Targets of issue 15: %s\n\n", r.label)
		for _, t := range b.targets(r.key) {
			w.WriteString(t + "\n")
		}
	}
	if len(b.fails) > 0 {
		w.WriteString("\n## Failures (first of each)\n\n")
		for _, o := range ops {
			for _, r := range b.rts {
				if e := b.fails[o.name][r.key]; e != "" {
					fmt.Fprintf(&w, "- %s %s: %s\n", r.label, o.name, e)
				}
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(w.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(w.String())
	var csv strings.Builder
	csv.WriteString("op,runtime,cpu_ms,faults,rss_mib,wall_ms,caller_us\n")
	for _, o := range ops {
		for _, r := range b.rts {
			for _, s := range b.samples[o.name][r.key] {
				fmt.Fprintf(&csv, "%s,%s,%.3f,%.0f,%.2f,%.3f,%.0f\n", o.name, r.key, s.cpuMs, s.faults, s.rssMiB, s.wallMs, s.selfUs)
			}
		}
	}
	return os.WriteFile(filepath.Join(out, "samples.csv"), []byte(csv.String()), 0o644)
}

// targets are the targets for runtime key, each "- met:" or "- NOT met:" with the numbers.
func (b *bench) targets(key string) []string {
	cpu := func(s sample) float64 { return s.cpuMs }
	var lines []string
	check := func(what string, ok bool, detail string) {
		verdict := "NOT met"
		if ok {
			verdict = "met"
		}
		lines = append(lines, fmt.Sprintf("- %s: %s (%s)", verdict, what, detail))
	}
	vsCrun := func(op string, m func(sample) float64, unit string, factor float64, what string) {
		rt, ok1 := b.med(op, key, m)
		cr, ok2 := b.med(op, "crun", m)
		if !ok1 || !ok2 {
			lines = append(lines, "- not measured: "+what)
			return
		}
		check(what, rt <= factor*cr, fmt.Sprintf("%.1f %s, crun %.1f %s, %.2fx", rt, unit, cr, unit, rt/cr))
	}
	limit := func(op string, m func(sample) float64, unit string, limit float64, what string) {
		rt, ok := b.med(op, key, m)
		if !ok {
			lines = append(lines, "- not measured: "+what)
			return
		}
		check(what, rt <= limit, fmt.Sprintf("%.1f %s", rt, unit))
	}
	vsCrun("run", cpu, "ms", 1, "`run` CPU <= crun")
	vsCrun("run", func(s sample) float64 { return s.wallMs }, "ms", 1, "`run` wall <= crun")
	limit("run", func(s sample) float64 { return s.faults }, "faults", 600, "`run` page faults <= 600")
	limit("run", func(s sample) float64 { return s.rssMiB }, "MiB", 5, "`run` peak RSS <= 5 MiB")
	vsCrun("lifecycle", cpu, "ms", 1, "create+start+wait+delete CPU <= crun")
	for _, op := range []string{"state", "kill", "delete", "list"} {
		vsCrun(op, cpu, "ms", 1, "`"+op+"` CPU <= crun")
	}
	vsCrun("exec", cpu, "ms", 1.2, "`exec` CPU <= 1.2x crun")
	vsCrun("batch", cpu, "ms", 1, "10 parallel `run`s, batch CPU <= crun")
	limit("list100", func(s sample) float64 { return s.wallMs }, "ms wall", 19.999, "`list` among 100 containers < 20 ms")
	s1, ok1 := b.med("state", key, cpu)
	s100, ok2 := b.med("state100", key, cpu)
	if ok1 && ok2 {
		check("`state` among 100 as cheap as with 1 (CPU within 10%)", s100 <= 1.1*s1,
			fmt.Sprintf("%.1f ms among 100, %.1f ms with 1", s100, s1))
	} else {
		lines = append(lines, "- not measured: `state` among 100 against with 1")
	}
	return lines
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
