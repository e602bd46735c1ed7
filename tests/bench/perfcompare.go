package main

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// side is one command of the comparison: its CPU and fault profiles and its perf stat totals.
type side struct {
	name           string
	cpu, pf        *profile
	statMs, statPf float64
	cpuScale       float64 // perf stat's task-clock over perf record's ms: the profiler's own cost taken out
}

// perfCompare prints the section "rt against the Go floor, line by line": rt's processes paired with the
// floor's (command with command, init with init; rt's bootstrap has no counterpart: the floor makes its
// namespaces in its parent's clone), per phase rt's and the floor's CPU and faults and their difference, what
// rt's part of the large differences went to, and the sum against perf stat's totals.
func perfCompare(args []string) error {
	fs := flag.NewFlagSet("perfcompare", flag.ContinueOnError)
	var a, b side
	var aBin, bBin, aCPU, aPf, bCPU, bPf, aStat, bStat string
	fs.StringVar(&a.name, "name", "rt run", "how rt is called")
	fs.StringVar(&b.name, "floor-name", "gofloor", "how the floor is called")
	fs.StringVar(&aBin, "binary", "", "rt, unstripped")
	fs.StringVar(&bBin, "floor-binary", "", "the floor, unstripped")
	fs.StringVar(&aCPU, "cpu", "", "glob of rt's perf script files of cpu-clock")
	fs.StringVar(&aPf, "faults", "", "glob of rt's perf script files of page-faults")
	fs.StringVar(&bCPU, "floor-cpu", "", "the floor's, cpu-clock")
	fs.StringVar(&bPf, "floor-faults", "", "the floor's, page-faults")
	fs.StringVar(&aStat, "stat", "", "rt's perf stat output (task-clock, page-faults)")
	fs.StringVar(&bStat, "floor-stat", "", "the floor's perf stat output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, x := range []struct {
		s                  *side
		bin, cpu, pf, stat string
	}{{&a, aBin, aCPU, aPf, aStat}, {&b, bBin, bCPU, bPf, bStat}} {
		syms, err := loadSymbols(x.bin)
		if err != nil {
			return err
		}
		for _, l := range []struct {
			glob, unit string
			p          **profile
		}{{x.cpu, "ms", &x.s.cpu}, {x.pf, "faults", &x.s.pf}} {
			files, err := filepath.Glob(l.glob)
			if err != nil || len(files) == 0 {
				return fmt.Errorf("no perf script files in %q", l.glob)
			}
			if *l.p, err = loadProfile(files, syms, l.unit); err != nil {
				return err
			}
		}
		if x.s.statMs, x.s.statPf, err = readPerfStat(x.stat); err != nil {
			return err
		}
		x.s.cpuScale = x.s.statMs / perRun(x.s.cpu, "")
	}
	printComparison(&a, &b)
	return nil
}

// perRun is a profile's weight per run in role (all roles but spawn, which perf stat does not run, when "").
func perRun(p *profile, role string) float64 {
	sum := 0.0
	for r, w := range p.total {
		if (role == "" && r != roleSpawn) || r == role {
			sum += w
		}
	}
	return sum / float64(p.runs)
}

// readPerfStat reads task-clock (ms) and page-faults from `perf stat` output.
func readPerfStat(file string) (ms, faults float64, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = f.Close() }()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.ReplaceAll(sc.Text(), ",", ""))
		switch {
		case len(fields) >= 3 && fields[1] == "msec" && fields[2] == "task-clock":
			ms, err = strconv.ParseFloat(fields[0], 64)
			found++
		case len(fields) >= 2 && fields[1] == "page-faults":
			faults, err = strconv.ParseFloat(fields[0], 64)
			found++
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", file, err)
		}
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("%s: no task-clock and page-faults", file)
	}
	return ms, faults, sc.Err()
}

// row is one line of the comparison: a phase of a pair of processes, or several phases summed.
type row struct {
	phase                string
	aMs, bMs, aPf, bPf   float64
	dMs, dPf             float64
	phases               []string // what a row of several phases sums
	explainMs, explainPf bool
}

func printComparison(a, b *side) {
	roleSet := map[string]bool{}
	for _, p := range []*profile{a.cpu, a.pf, b.cpu, b.pf} {
		for r := range p.total {
			if r != roleSpawn {
				roleSet[r] = true
			}
		}
	}
	roles := slices.SortedFunc(maps.Keys(roleSet), roleOrder)
	dMsAll := a.statMs - b.statMs
	dPfAll := a.statPf - b.statPf

	fmt.Printf("## rt against the Go floor, line by line\n\n")
	fmt.Printf("perf stat (%d runs each): `%s` %.2f ms and %.0f faults, `%s` %.2f ms and %.0f faults: "+
		"**%+.2f ms, %+.0f faults**. Below, the same difference by process and phase, from the perf record runs of the next sections "+
		"(per run; spawn left out, as perf stat runs the commands directly). Processes are paired by role: "+
		"the command with the command, `rt init` with `%s init` (the process that execs /bin/true); rt's bootstrap "+
		"has no counterpart (the floor makes its namespaces in its parent's clone: the namespaces rows).\n\n",
		a.cpu.runs, a.name, a.statMs, a.statPf, b.name, b.statMs, b.statPf, dMsAll, dPfAll, firstWord(b.name))
	fmt.Printf("ms are perf record's cpu-clock samples scaled to perf stat's task-clock, by %.2f for rt (%.2f ms "+
		"sampled) and %.2f for the floor (%.2f ms): perf record -g's own cost (an interrupt and a call chain every "+
		"50 us, a perf context per thread) inflates them, so the ms rows add up to perf stat's difference by "+
		"construction. Faults are counted one by one, unscaled.\n\n",
		a.cpuScale, perRun(a.cpu, ""), b.cpuScale, perRun(b.cpu, ""))
	fmt.Printf("| rt ↔ floor | phase | rt ms | floor ms | Δ ms | rt faults | floor faults | Δ faults | where rt's part goes (ms or faults per run; functions inclusive) |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	var sum, other row
	for _, role := range roles {
		rows, tot, oth := pairRows(a, b, role, dMsAll, dPfAll)
		sum.aMs, sum.bMs, sum.aPf, sum.bPf = sum.aMs+tot.aMs, sum.bMs+tot.bMs, sum.aPf+tot.aPf, sum.bPf+tot.bPf
		other.dMs, other.dPf = other.dMs+oth.dMs, other.dPf+oth.dPf
		label := pairLabel(role, a.name, b.name, b.cpu.total[role] > 0 || b.pf.total[role] > 0)
		for i, r := range rows {
			cell := ""
			if i == 0 {
				cell = label
			}
			var why []string
			if r.explainMs {
				why = append(why, "ms: "+explain(a.cpu, role, r.phase, a.cpuScale, "%.2f"))
			}
			if r.explainPf {
				why = append(why, "faults: "+explain(a.pf, role, r.phase, 1, "%.0f"))
			}
			fmt.Printf("| %s | %s | %.2f | %.2f | %+.2f | %.0f | %.0f | %+.0f | %s |\n", cell, r.phase,
				r.aMs, r.bMs, r.aMs-r.bMs, r.aPf, r.bPf, r.aPf-r.bPf, strings.Join(why, "; "))
		}
		fmt.Printf("| | **%s, all** | **%.2f** | **%.2f** | **%+.2f** | **%.0f** | **%.0f** | **%+.0f** | |\n",
			label, tot.aMs, tot.bMs, tot.aMs-tot.bMs, tot.aPf, tot.bPf, tot.aPf-tot.bPf)
	}
	fmt.Printf("| **all processes** | | **%.2f** | **%.2f** | **%+.2f** | **%.0f** | **%.0f** | **%+.0f** | |\n",
		sum.aMs, sum.bMs, sum.aMs-sum.bMs, sum.aPf, sum.bPf, sum.aPf-sum.bPf)
	fmt.Printf("| perf stat | | %.2f | %.2f | %+.2f | %.0f | %.0f | %+.0f | |\n\n",
		a.statMs, b.statMs, dMsAll, a.statPf, b.statPf, dPfAll)
	fmt.Printf("Unattributed: %+.0f faults, perf stat's totals less the rows' (separate runs of the same commands). "+
		"In no phase: %+.2f ms (%.0f%% of the difference) and %+.0f faults (%.0f%%), the \"other\" rows, whose call "+
		"chains name no phase (C code without frame pointers, the Go runtime on its system stack, interrupts); "+
		"where large, the functions they were in are listed.\n\n",
		dPfAll-(sum.aPf-sum.bPf), other.dMs, pct(other.dMs, dMsAll), other.dPf, pct(other.dPf, dPfAll))
}

// pairRows is the rows of one pair of processes (rt's role and the floor's): a row for each phase whose
// difference is 3% of the whole difference (perf stat's) or more, heaviest first, then the others summed; with
// the pair's total and its "other" phase (no known frame).
func pairRows(a, b *side, role string, dMsAll, dPfAll float64) (rows []row, tot, other row) {
	ms := func(s *side, phase string) float64 {
		return s.cpu.phase[role][phase] / float64(s.cpu.runs) * s.cpuScale
	}
	pf := func(s *side, phase string) float64 {
		return s.pf.phase[role][phase] / float64(s.pf.runs)
	}
	big := func(d, all float64, share float64) bool { return math.Abs(d) >= share*math.Abs(all) }
	phaseSet := map[string]bool{}
	for _, m := range []map[string]float64{a.cpu.phase[role], a.pf.phase[role], b.cpu.phase[role], b.pf.phase[role]} {
		for ph := range m {
			phaseSet[ph] = true
		}
	}
	var rest row
	for ph := range phaseSet {
		r := row{phase: ph, aMs: ms(a, ph), bMs: ms(b, ph), aPf: pf(a, ph), bPf: pf(b, ph)}
		r.dMs, r.dPf = r.aMs-r.bMs, r.aPf-r.bPf
		tot.aMs, tot.bMs, tot.aPf, tot.bPf = tot.aMs+r.aMs, tot.bMs+r.bMs, tot.aPf+r.aPf, tot.bPf+r.bPf
		if ph == phaseOther {
			other = r
		}
		if !big(r.dMs, dMsAll, 0.03) && !big(r.dPf, dPfAll, 0.03) {
			rest.aMs, rest.bMs, rest.aPf, rest.bPf = rest.aMs+r.aMs, rest.bMs+r.bMs, rest.aPf+r.aPf, rest.bPf+r.bPf
			rest.phases = append(rest.phases, ph)
			continue
		}
		// What rt's part went to, from a difference of 5% of the whole.
		r.explainMs, r.explainPf = big(r.dMs, dMsAll, 0.05) && r.dMs > 0, big(r.dPf, dPfAll, 0.05) && r.dPf > 0
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(x, y row) int {
		if x.dMs != y.dMs {
			return cmpDesc(x.dMs, y.dMs)
		}
		return strings.Compare(x.phase, y.phase)
	})
	switch len(rest.phases) {
	case 0:
	case 1:
		rest.phase = rest.phases[0]
		rows = append(rows, rest)
	default:
		rest.phase = fmt.Sprintf("the other %d phases", len(rest.phases))
		rows = append(rows, rest)
	}
	return rows, tot, other
}

// explain lists what rt's part of a phase went to: in main.main, rt's functions, found by walking down the call
// tree while one function holds most of the phase (so that a row names Create's parts rather than
// main.main and the command's action); elsewhere, describe's kinds.
func explain(p *profile, role, phase string, scale float64, format string) string {
	n := float64(p.runs)
	var items []kv
	limit := 4
	if phase == phaseMain && p.own[role+" "+phase] != nil {
		items, limit = cut(p.own[role+" "+phase]), 6
	} else {
		items = sortedByValue(p.detail[role+" "+phase])
	}
	var out []string
	total := p.phase[role][phase]
	for _, it := range items {
		if len(out) == limit || it.v < 0.04*total {
			break
		}
		name, note, _ := strings.Cut(it.k, "\x00")
		item := fmt.Sprintf("%s "+format, short(name), it.v/n*scale)
		if note != "" {
			item += " (" + note + ")"
		}
		out = append(out, strings.ReplaceAll(item, "|", "\\|"))
	}
	return strings.Join(out, ", ")
}

// cut walks a call tree down from its root, replacing the heaviest node by its callees (and what it does
// itself) while that node holds more than 30% of the whole, and returns the frontier, heaviest first.
func cut(root *callNode) []kv {
	frontier := []*callNode{root}
	selfs := map[*callNode]bool{}
	for range 20 {
		slices.SortFunc(frontier, func(x, y *callNode) int { return cmpDesc(x.w, y.w) })
		top := frontier[0]
		if len(top.children) == 0 || selfs[top] || top.w <= 0.3*root.w {
			break
		}
		frontier = frontier[1:]
		rest := top.w
		for _, c := range top.children {
			frontier = append(frontier, c)
			rest -= c.w
		}
		if rest > 1e-9 && top != root {
			self := &callNode{name: top.name + " itself", w: rest}
			if kvs := sortedByValue(top.self); len(kvs) > 0 && kvs[0].v >= 0.2*rest {
				self.name += "\x00" + share(kvs[0].v, rest) + " " + kvs[0].k
			}
			selfs[self] = true
			frontier = append(frontier, self)
		}
	}
	var out []kv
	for _, n := range frontier {
		if n.name != "" {
			out = append(out, kv{n.name, n.w})
		}
	}
	slices.SortFunc(out, func(x, y kv) int { return cmpDesc(x.v, y.v) })
	return out
}

func pairLabel(role, aName, bName string, inB bool) string {
	if !inB {
		return roleLabel(role, aName) + " ↔ none"
	}
	if role == roleWorkload {
		return "/bin/true ↔ /bin/true"
	}
	return roleLabel(role, aName) + " ↔ " + roleLabel(role, bName)
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

func cmpDesc(x, y float64) int {
	switch {
	case x > y:
		return -1
	case x < y:
		return 1
	}
	return 0
}

func pct(x, of float64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * x / of
}

// share is x as a percentage of of.
func share(x, of float64) string {
	return fmt.Sprintf("%.0f%%", pct(x, of))
}
