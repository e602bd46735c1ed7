package main

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// perfSample is one sample of `perf script -F comm,pid,period,event,ip,sym`: its frames leaf first, the first
// kernel of them in the kernel.
type perfSample struct {
	comm   string
	pid    int
	period float64
	frames []string
	kernel int
}

// phases classify a sample by its call chain, first match wins. A chain is searched for any of the names.
var phases = []struct {
	name  string
	match []string
}{
	{"execve (kernel: replace the image, map the binary)", []string{"__x64_sys_execve", "__x64_sys_execveat", "bprm_execve"}},
	{"exit (kernel: tear the process down)", []string{"do_exit", "do_group_exit", "__x64_sys_exit_group"}},
	// Before fork/clone: a clone with CLONE_NEW* flags makes its namespaces in copy_namespaces, so that the Go
	// floor's (made by its parent's clone) and rt's (by unshare in the bootstrap) land in the same phase.
	{"namespaces (kernel: unshare, setns, a clone's new ones)", []string{"copy_namespaces", "unshare_nsproxy_namespaces", "create_new_namespaces", "__x64_sys_setns"}},
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

const (
	phaseOther    = "other (kernel or user, no known frame)"
	phaseWorkload = "the container's /bin/true"
	phaseMain     = "main.main (the command itself)"
	phaseInit     = "package init (before main)"
	phaseThreads  = "Go runtime threads (sysmon, GC, scheduler, signals)"
	phaseRoutines = "other goroutines (signal loop, timers, finalizers)"
)

// The roles of a run's processes (runRoles), the keys on which rt's processes are paired with the floor's.
const (
	roleCommand   = "command"   // the first process after spawn: `rt run`, the floor's parent
	roleBootstrap = "bootstrap" // rt's sealed copy exec'd as `rt init`: nsenter's C constructor, which exits
	roleInit      = "init"      // the process that ends by exec'ing /bin/true
	roleWorkload  = "workload"  // that process after its execve
	roleSpawn     = "spawn"     // the caller
	roleFork      = "fork"      // a fork of the command that does not exec
)

// profile is the samples of several runs of one command (one kind of event), summed by process role and phase.
type profile struct {
	runs  int
	scale float64                       // unit per period: 1e-6 (ns to ms) or 1 (faults)
	total map[string]float64            // role -> weight
	phase map[string]map[string]float64 // role -> phase -> weight
	funcs map[string]map[string]float64 // role -> rt's own function -> inclusive weight
	// detail: role+" "+phase -> what the weight went to: the kernel entry (a syscall, a page fault), with the
	// runtime thread or goroutine it ran on, or the package whose init it was (describe).
	detail map[string]map[string]float64
	own    map[string]*callNode // role+" "+phase -> the call tree of rt's own functions
	names  map[string]string    // role -> the comm most seen
}

// callNode is a function in a call tree of rt's own functions (callers above callees), with the weight of the
// samples under it.
type callNode struct {
	name     string
	w        float64
	children map[string]*callNode
	self     map[string]float64 // what the samples that end here (no own callee) went to: the function it called
}

func (n *callNode) add(path []string, w float64, what string) {
	n.w += w
	if len(path) == 0 {
		if n.self == nil {
			n.self = map[string]float64{}
		}
		n.self[what] += w
		return
	}
	if n.children == nil {
		n.children = map[string]*callNode{}
	}
	c := n.children[path[0]]
	if c == nil {
		c = &callNode{name: path[0]}
		n.children[path[0]] = c
	}
	c.add(path[1:], w, what)
}

// loadProfile reads one `perf script` output per run.
func loadProfile(files []string, syms *symbols, unit string) (*profile, error) {
	p := &profile{
		runs: len(files), scale: 1, total: map[string]float64{}, phase: map[string]map[string]float64{},
		funcs: map[string]map[string]float64{}, detail: map[string]map[string]float64{},
		own: map[string]*callNode{}, names: map[string]string{},
	}
	if unit == "ms" {
		p.scale = 1e-6
	}
	for _, file := range files {
		samples, err := readPerfScript(file, syms)
		if err != nil {
			return nil, err
		}
		roles, names := runRoles(samples)
		for role, name := range names {
			p.names[role] = name
		}
		for _, s := range samples {
			if s.comm == "perf" {
				continue
			}
			role := roleSpawn
			if s.comm != "spawn" {
				role = roles[s.pid]
				if s.comm == "true" {
					role = roleWorkload
					if roles[s.pid] != roleInit {
						role = roles[s.pid] + ", after its execve of /bin/true"
					}
				}
			}
			w := s.period * p.scale
			phase, anchor := phaseOther, ""
			if s.comm == "true" {
				phase = phaseWorkload
			} else {
				for _, ph := range phases {
					if i := firstOf(s.frames, ph.match); i >= 0 {
						phase, anchor = ph.name, s.frames[i]
						break
					}
				}
			}
			add(p.phase, role, phase, w)
			p.total[role] += w
			what := describe(s, phase, anchor, unit)
			add(p.detail, role+" "+phase, what, w)
			// rt's own functions, callers first, each once (a recursion counts once).
			var path []string
			for i := len(s.frames) - 1; i >= 0; i-- {
				if f := s.frames[i]; ownFunc(f) && !slices.Contains(path, f) {
					path = append(path, f)
				}
			}
			for _, f := range path {
				add(p.funcs, role, f, w)
			}
			key := role + " " + phase
			if p.own[key] == nil {
				p.own[key] = &callNode{}
			}
			// What the deepest of them called (a library function, a syscall), else where it faulted or spent.
			callee := what
			if i := slices.IndexFunc(s.frames, ownFunc); i > 0 {
				callee = s.frames[i-1]
				if i <= s.kernel {
					callee = describe(s, phase, "", "ms")
				}
			}
			p.own[key].add(path, w, callee)
		}
	}
	return p, nil
}

// runRoles names the processes of one run by pid order, comm, and whether they exec /bin/true; it also returns
// the comm most seen of each role.
func runRoles(samples []perfSample) (map[int]string, map[string]string) {
	var pids []int
	comms := map[int]map[string]float64{}
	workload := map[int]bool{}
	for _, s := range samples {
		if s.comm == "perf" || s.comm == "spawn" {
			continue
		}
		if !slices.Contains(pids, s.pid) {
			pids = append(pids, s.pid)
		}
		if s.comm == "true" {
			workload[s.pid] = true
		} else {
			add2(comms, s.pid, s.comm)
		}
	}
	slices.Sort(pids)
	roles, names := map[int]string{}, map[string]string{}
	seen := map[string]int{}
	command := ""
	for i, pid := range pids {
		comm := "?"
		if kvs := sortedByValue(comms[pid]); len(kvs) > 0 {
			comm = kvs[0].k
		}
		var role string
		switch {
		case i == 0:
			role, command = roleCommand, comm
		case workload[pid]:
			role = roleInit
		case comm == command:
			role = roleFork
		case isNumber(comm):
			// rt execs its sealed copy through /proc/self/fd/N: the comm is N. The one that does not go on to
			// exec /bin/true is the bootstrap, which clones the init and exits.
			role = roleBootstrap
		default:
			role = "process " + comm
		}
		seen[role]++
		if seen[role] > 1 {
			role += fmt.Sprintf(" #%d", seen[role])
		}
		roles[pid], names[role] = role, comm
	}
	return roles, names
}

// describe says what a sample's weight went to, beyond its phase: the package whose init ran; the runtime
// thread or goroutine and the syscall or fault; else the syscall, the page fault (cpu) or the faulting function
// (faults), or user code.
func describe(s perfSample, phase, anchor, unit string) string {
	if phase == phaseInit {
		if i := firstOf(s.frames, []string{"runtime.doInit1", "runtime.doInit"}); i > 0 {
			return "package " + initPackage(s.frames[i-1])
		}
		return "package ?"
	}
	entry := "user code"
	if i := slices.Index(s.frames[:s.kernel], "do_syscall_64"); i > 0 {
		entry = syscallName(s.frames[:i])
	} else if unit == "faults" && s.kernel < len(s.frames) {
		entry = "fault in " + short(s.frames[s.kernel])
	} else if phase == phaseOther && s.kernel < len(s.frames) {
		entry = "in " + short(s.frames[s.kernel])
	} else if s.kernel > 0 {
		entry = "page faults, interrupts"
		if slices.Contains(s.frames[:s.kernel], "asm_exc_page_fault") {
			entry = "page faults"
		}
	}
	switch phase {
	case phaseThreads:
		return short(anchor) + ": " + entry
	case phaseRoutines:
		if i := slices.Index(s.frames, anchor); i > 0 {
			return short(s.frames[i-1]) + ": " + entry
		}
	}
	return entry
}

// syscallName is the syscall of a kernel chain that ends (root side) just below do_syscall_64.
func syscallName(kernel []string) string {
	for i := len(kernel) - 1; i >= 0; i-- {
		f := kernel[i]
		if f == "x64_sys_call" {
			continue
		}
		for _, p := range []string{"__x64_sys_", "__do_sys_", "__se_sys_", "ksys_", "do_sys_"} {
			if strings.HasPrefix(f, p) {
				return strings.TrimPrefix(f, p)
			}
		}
		return f
	}
	return "syscall"
}

// initPackage is the package of an init function: "github.com/urfave/cli/v2.init.0" -> github.com/urfave/cli/v2.
func initPackage(fn string) string {
	slash := strings.LastIndex(fn, "/") + 1
	if i := strings.Index(fn[slash:], "."); i >= 0 {
		return fn[:slash+i]
	}
	return fn
}

// short drops rt's module path from a function name, and a generic function's type arguments.
func short(fn string) string {
	if i, j := strings.Index(fn, "["), strings.LastIndex(fn, "]"); i >= 0 && j > i {
		fn = fn[:i+1] + "…" + fn[j:]
	}
	return strings.TrimPrefix(fn, "github.com/rt-runtime/rt/")
}

// roleLabel names a role for the tables: name is how the command is called ("rt run", "gofloor").
func roleLabel(role, name string) string {
	first, _, _ := strings.Cut(name, " ")
	switch role {
	case roleCommand:
		return "`" + name + "`"
	case roleBootstrap:
		return "bootstrap (nsenter, C)"
	case roleInit:
		return "`" + first + " init`"
	case roleWorkload:
		return "/bin/true"
	case roleSpawn:
		return "spawn (the caller: vfork, wait4)"
	case roleFork:
		return "a fork of `" + name + "`, no exec"
	}
	return role
}

// roleOrder sorts roles as a run goes: the command, the bootstrap, the init, its workload, the others.
func roleOrder(a, b string) int {
	rank := func(r string) int {
		if i := slices.Index([]string{roleCommand, roleBootstrap, roleInit, roleWorkload}, r); i >= 0 {
			return i
		}
		if r == roleSpawn {
			return 10
		}
		return 5
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// legend says what each process of the tables is, once.
func legend(roles []string, name string) string {
	first, _, _ := strings.Cut(name, " ")
	var parts []string
	for _, r := range roles {
		switch r {
		case roleCommand:
			parts = append(parts, roleLabel(r, name)+" is the command")
		case roleBootstrap:
			parts = append(parts, "bootstrap is its child: the sealed copy of the binary exec'd as `rt init` "+
				"(comm: the fd number), whose C constructor (nsenter) makes or joins the namespaces, clones the init "+
				"(CLONE_PARENT) and exits before the Go runtime starts")
		case roleInit:
			if slices.Contains(roles, roleBootstrap) {
				parts = append(parts, "`"+first+" init` is that clone: the Go runtime, the set-up of the container "+
					"or process, then the execve of /bin/true")
			} else {
				parts = append(parts, "`"+first+" init` is the command's child, which ends by exec'ing /bin/true")
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Processes: " + strings.Join(parts, "; ") + ".\n\n"
}

// perfSplit reads one `perf script` output per run (args) and prints Markdown: per process and phase, the
// samples' weight per run (ms for cpu-clock, faults for page-faults), and the heaviest functions of rt's own
// packages, inclusive.
func perfSplit(args []string) error {
	fs := flag.NewFlagSet("perfsplit", flag.ContinueOnError)
	unit := fs.String("unit", "ms", "ms (cpu-clock, period in ns) or faults (page-faults, period 1)")
	title := fs.String("title", "", "section title")
	name := fs.String("name", "", "how the command is called, to name its processes (\"rt run\"); default: its comm")
	binary := fs.String("binary", "", "the unstripped binary, to name the frames perf could not (the child runs from a sealed memfd copy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) == 0 {
		return fmt.Errorf("no perf script files")
	}
	syms, err := loadSymbols(*binary)
	if err != nil {
		return err
	}
	p, err := loadProfile(fs.Args(), syms, *unit)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = p.names[roleCommand]
	}
	roles := slices.SortedFunc(maps.Keys(p.total), roleOrder)
	n := float64(p.runs)
	fmt.Printf("### %s (%d runs, per run)\n\n%s", *title, p.runs, legend(roles, *name))
	fmt.Printf("| process | phase | %s | share of the process |\n|---|---|---|---|\n", *unit)
	for _, role := range roles {
		label := roleLabel(role, *name)
		for _, kv := range sortedByValue(p.phase[role]) {
			fmt.Printf("| %s | %s | %.2f | %.0f%% |\n", label, kv.k, kv.v/n, 100*kv.v/p.total[role])
		}
		fmt.Printf("| %s | **total** | **%.2f** | |\n", label, p.total[role]/n)
	}
	fmt.Printf("\nHeaviest functions of rt's own code (inclusive, %s per run; a sample counts once per function):\n\n", *unit)
	fmt.Printf("| process | function | %s |\n|---|---|---|\n", *unit)
	for _, role := range roles {
		for i, kv := range sortedByValue(p.funcs[role]) {
			if i == 15 {
				break
			}
			fmt.Printf("| %s | `%s` | %.2f |\n", roleLabel(role, *name), kv.k, kv.v/n)
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

// firstOf is the index of the first of frames (leaf first) that is one of names, or -1.
func firstOf(frames, names []string) int {
	return slices.IndexFunc(frames, func(f string) bool { return slices.Contains(names, f) })
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

// kernelStart is where x86-64's kernel half of the address space starts.
const kernelStart = 0xffff800000000000

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
				s := &out[len(out)-1]
				addr, err := strconv.ParseUint(fields[0], 16, 64)
				// A Go name may hold spaces (go.shape.interface { ... }): the symbol is the rest of the line.
				sym := strings.Join(fields[1:], " ")
				if i := strings.LastIndex(sym, "+0x"); i > 0 {
					sym = sym[:i]
				}
				if sym == "[unknown]" && err == nil {
					sym = syms.name(addr)
				}
				if err == nil && addr >= kernelStart && s.kernel == len(s.frames) {
					s.kernel++
				}
				s.frames = append(s.frames, sym)
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
