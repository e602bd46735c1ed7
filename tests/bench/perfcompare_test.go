package main

import (
	"math"
	"testing"
)

// TestPairRows: a phase whose difference is 3% of the whole or more gets a row (heaviest difference first), what
// rt's part went to is explained from 5% (ms and faults apart, and only where rt spent more), the other phases
// are summed in one row; the pair's total and its "other" phase come back apart.
func TestPairRows(t *testing.T) {
	const runs = 2
	prof := func(perRun map[string]float64) *profile {
		p := &profile{runs: runs, phase: map[string]map[string]float64{roleCommand: {}}, total: map[string]float64{}}
		for ph, w := range perRun {
			p.phase[roleCommand][ph] = w * runs
			p.total[roleCommand] += w * runs
		}
		return p
	}
	a := &side{cpuScale: 1,
		cpu: prof(map[string]float64{phaseMain: 10, phaseInit: 1, phaseOther: 0.4, phaseThreads: 0.1}),
		pf:  prof(map[string]float64{phaseMain: 100, phaseInit: 50})}
	b := &side{cpuScale: 0.5, // the floor's samples count half: rows are in perf stat's ms
		cpu: prof(map[string]float64{phaseMain: 0.4, phaseInit: 1, phaseOther: 0.4, phaseThreads: 0.2}),
		pf:  prof(map[string]float64{phaseMain: 2, phaseInit: 20})}
	rows, tot, other := pairRows(a, b, roleCommand, 10.5, 128)
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	want := []row{
		{phase: phaseMain, aMs: 10, bMs: 0.2, aPf: 100, bPf: 2, explainMs: true, explainPf: true},
		// 0.5 ms is 4.8% of 10.5: a row, unexplained; 30 faults are 23% of 128: explained.
		{phase: phaseInit, aMs: 1, bMs: 0.5, aPf: 50, bPf: 20, explainPf: true},
		{phase: "the other 2 phases", aMs: 0.5, bMs: 0.3},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v, want %d", rows, len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.phase != w.phase || !near(r.aMs, w.aMs) || !near(r.bMs, w.bMs) || !near(r.aPf, w.aPf) || !near(r.bPf, w.bPf) ||
			r.explainMs != w.explainMs || r.explainPf != w.explainPf {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
	}
	if !near(tot.aMs, 11.5) || !near(tot.bMs, 1) || !near(tot.aPf, 150) || !near(tot.bPf, 22) {
		t.Errorf("total %+v, want 11.5 and 1 ms, 150 and 22 faults", tot)
	}
	if other.phase != phaseOther || !near(other.dMs, 0.2) || other.dPf != 0 {
		t.Errorf("other %+v, want %q with +0.2 ms, +0 faults", other, phaseOther)
	}
}
