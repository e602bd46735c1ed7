package main

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// perfSample is one sample of `perf script -F comm,pid,period,event,ip,sym`: its frames leaf first.
type perfSample struct {
	comm   string
	pid    int
	period float64
	frames []string
}

// phases classify a sample by its call chain, first match wins. A chain is searched for any of the names.
var phases = []struct {
	name  string
	match []string
}{
	{"execve (kernel: replace the image, map the binary)", []string{"__x64_sys_execve", "__x64_sys_execveat", "bprm_execve"}},
	{"exit (kernel: tear the process down)", []string{"do_exit", "do_group_exit", "__x64_sys_exit_group"}},
	{"fork/clone (kernel)", []string{"kernel_clone", "__do_sys_clone", "__do_sys_clone3", "ret_from_fork"}},
	{"nsenter (C constructor, before the Go runtime)", []string{"rt_nsenter", "read_bootstrap", "join_namespaces"}},
	{"package init (before main)", []string{"runtime.doInit", "runtime.doInit1"}},
	{"main.main (the command itself)", []string{"main.main"}},
	{"Go runtime start-up (rt0_go, schedinit, heap)", []string{"runtime.rt0_go", "runtime.schedinit", "_rt0_amd64", "runtime.check"}},
	{"Go runtime threads (sysmon, GC, scheduler, signals)", []string{"runtime.mstart", "runtime.sysmon", "runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.schedule", "runtime.sigtramp"}},
	{"Go scheduler switches (mcall: park, yield)", []string{"runtime.mcall"}},
	{"Go stack growth (morestack)", []string{"runtime.morestack.abi0", "runtime.morestack"}},
	{"other goroutines (signal loop, timers, finalizers)", []string{"runtime.goexit.abi0", "runtime.goexit"}},
	{"thread creation (cgo: pthread_create, its stack)", []string{"__pthread_create_2_1", "alloc_new_heap", "__mmap64"}},
	{"C start-up (libc before main)", []string{"__libc_start_main_impl", "__libc_start_main"}},
}

// perfSplit reads one `perf script` output per run (args) and prints Markdown: per process role and phase,
// the samples' weight per run (ms for cpu-clock, faults for page-faults), and the heaviest functions of rt's
// own packages, inclusive. The roles of a run are found by pid order: the first process after spawn is the
// command (rt run), later ones are its children (rt init, which becomes the container's /bin/true).
func perfSplit(args []string) error {
	fs := flag.NewFlagSet("perfsplit", flag.ContinueOnError)
	unit := fs.String("unit", "ms", "ms (cpu-clock, period in ns) or faults (page-faults, period 1)")
	title := fs.String("title", "", "section title")
	binary := fs.String("binary", "", "the unstripped binary, to name the frames perf could not (the child runs from a sealed memfd copy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	runs := fs.Args()
	if len(runs) == 0 {
		return fmt.Errorf("no perf script files")
	}
	scale := 1.0
	if *unit == "ms" {
		scale = 1e-6
	}
	syms, err := loadSymbols(*binary)
	if err != nil {
		return err
	}
	byPhase := map[string]map[string]float64{} // role -> phase -> weight
	byFunc := map[string]map[string]float64{}  // role -> function -> inclusive weight
	total := map[string]float64{}
	for _, file := range runs {
		samples, err := readPerfScript(file, syms)
		if err != nil {
			return err
		}
		// Each process is named by its place in the run (pid order) and its usual comm.
		var pids []int
		comms := map[int]map[string]float64{}
		for _, s := range samples {
			if s.comm == "perf" || s.comm == "spawn" {
				continue
			}
			if !slices.Contains(pids, s.pid) {
				pids = append(pids, s.pid)
			}
			if s.comm != "true" {
				add2(comms, s.pid, s.comm)
			}
		}
		slices.Sort(pids)
		names := map[int]string{}
		seen := map[string]int{}
		for i, pid := range pids {
			name := "?"
			if kvs := sortedByValue(comms[pid]); len(kvs) > 0 {
				name = kvs[0].k
			}
			switch {
			case i == 0:
				name = "the command (" + name + ")"
			case name == strings.TrimSuffix(strings.TrimPrefix(names[pids[0]], "the command ("), ")"):
				name = "a fork of the command, no exec"
			case isNumber(name):
				// rt execs its sealed copy through /proc/self/fd/N: the comm is N.
				name = "a re-exec of the binary (comm: an fd number)"
			}
			seen[name]++
			if seen[name] > 1 {
				name += fmt.Sprintf(" #%d", seen[name])
			}
			names[pid] = name
		}
		for _, s := range samples {
			if s.comm == "perf" {
				continue
			}
			role := "spawn (the caller: vfork, wait4)"
			if s.comm != "spawn" {
				role = names[s.pid]
				if s.comm == "true" {
					role += ", after its execve of /bin/true"
				}
			}
			w := s.period * scale
			phase := "other (kernel or user, no known frame)"
			if s.comm == "true" {
				phase = "the container's /bin/true"
			} else {
				for _, p := range phases {
					if hasAny(s.frames, p.match) {
						phase = p.name
						break
					}
				}
			}
			add(byPhase, role, phase, w)
			total[role] += w
			counted := map[string]bool{}
			for _, f := range s.frames {
				if ownFunc(f) && !counted[f] {
					counted[f] = true
					add(byFunc, role, f, w)
				}
			}
		}
	}
	n := float64(len(runs))
	fmt.Printf("### %s (%d runs, per run)\n\n| process | phase | %s | share of the process |\n|---|---|---|---|\n", *title, len(runs), *unit)
	for _, role := range sortedKeys(total) {
		for _, kv := range sortedByValue(byPhase[role]) {
			fmt.Printf("| %s | %s | %.2f | %.0f%% |\n", role, kv.k, kv.v/n, 100*kv.v/total[role])
		}
		fmt.Printf("| %s | **total** | **%.2f** | |\n", role, total[role]/n)
	}
	fmt.Printf("\nHeaviest functions of rt's own code (inclusive, %s per run; a sample counts once per function):\n\n", *unit)
	fmt.Printf("| process | function | %s |\n|---|---|---|\n", *unit)
	for _, role := range sortedKeys(byFunc) {
		for i, kv := range sortedByValue(byFunc[role]) {
			if i == 15 {
				break
			}
			fmt.Printf("| %s | `%s` | %.2f |\n", role, kv.k, kv.v/n)
		}
	}
	fmt.Println()
	return nil
}

// ownFunc reports whether a symbol is rt's code: package main or one of rt's packages (not the runtime, the
// standard library or a dependency).
func ownFunc(sym string) bool {
	return strings.HasPrefix(sym, "main.") || strings.HasPrefix(sym, "github.com/rt-runtime/rt/")
}

func hasAny(frames, names []string) bool {
	for _, f := range frames {
		if slices.Contains(names, f) {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func add2(m map[int]map[string]float64, pid int, comm string) {
	if m[pid] == nil {
		m[pid] = map[string]float64{}
	}
	m[pid][comm]++
}

func add(m map[string]map[string]float64, a, b string, w float64) {
	if m[a] == nil {
		m[a] = map[string]float64{}
	}
	m[a][b] += w
}

type kv struct {
	k string
	v float64
}

func sortedByValue(m map[string]float64) []kv {
	var out []kv
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int {
		if a.v != b.v {
			if a.v > b.v {
				return -1
			}
			return 1
		}
		return strings.Compare(a.k, b.k)
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// symbols names addresses of a static binary.
type symbols struct {
	base  uint64 // load address minus file offset of the first segment
	addrs []uint64
	names []string
}

// loadSymbols reads the function symbols of file, or returns nil when file is "".
func loadSymbols(file string) (*symbols, error) {
	if file == "" {
		return nil, nil
	}
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	all, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (built with -s?)", file, err)
	}
	slices.SortFunc(all, func(a, b elf.Symbol) int { return int(int64(a.Value) - int64(b.Value)) })
	s := &symbols{}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			s.base = p.Vaddr - p.Off
			break
		}
	}
	for _, sym := range all {
		if elf.ST_TYPE(sym.Info) == elf.STT_FUNC && sym.Value != 0 {
			s.addrs = append(s.addrs, sym.Value)
			s.names = append(s.names, sym.Name)
		}
	}
	return s, nil
}

// name is the function at addr, which perf printed relative to the mapping when it could not name it.
func (s *symbols) name(addr uint64) string {
	if s == nil || len(s.addrs) == 0 {
		return "[unknown]"
	}
	if addr < s.base {
		addr += s.base
	}
	i, found := slices.BinarySearch(s.addrs, addr)
	if !found {
		i--
	}
	if i < 0 || addr-s.addrs[i] > 1<<20 {
		return "[unknown]"
	}
	return s.names[i]
}

// readPerfScript parses `perf script -F comm,pid,period,event,ip,sym`: a header "COMM PID PERIOD EVENT:"
// (the comm may hold spaces), then one "\tADDR SYM" line per frame, leaf first, then an empty line.
func readPerfScript(file string, syms *symbols) ([]perfSample, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []perfSample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if line[0] == '\t' || line[0] == ' ' {
			if len(out) == 0 {
				continue
			}
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				sym, _, _ := strings.Cut(fields[1], "+")
				if sym == "[unknown]" {
					if addr, err := strconv.ParseUint(fields[0], 16, 64); err == nil {
						sym = syms.name(addr)
					}
				}
				out[len(out)-1].frames = append(out[len(out)-1].frames, sym)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		pid, err1 := strconv.Atoi(f[len(f)-3])
		period, err2 := strconv.ParseFloat(f[len(f)-2], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: cannot parse %q", file, line)
		}
		out = append(out, perfSample{comm: strings.Join(f[:len(f)-3], " "), pid: pid, period: period})
	}
	return out, sc.Err()
}
