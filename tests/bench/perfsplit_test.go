package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRunRoles(t *testing.T) {
	tests := []struct {
		name    string
		samples []perfSample
		want    map[int]string
	}{
		{
			name: "rt run: command, bootstrap (sealed copy that exits), init (its clone, execs /bin/true)",
			samples: []perfSample{
				{comm: "spawn", pid: 9}, {comm: "perf", pid: 8},
				{comm: "rt-sym", pid: 10}, {comm: "rt-sym", pid: 12}, {comm: "11", pid: 12}, {comm: "11", pid: 12},
				{comm: "11", pid: 13}, {comm: "true", pid: 13},
			},
			want: map[int]string{10: roleCommand, 12: roleBootstrap, 13: roleInit},
		},
		{
			name: "Go floor: command and its re-exec, which execs /bin/true",
			samples: []perfSample{
				{comm: "gofloor-sym", pid: 20}, {comm: "gofloor-sym", pid: 21}, {comm: "exe", pid: 21}, {comm: "exe", pid: 21},
				{comm: "true", pid: 21},
			},
			want: map[int]string{20: roleCommand, 21: roleInit},
		},
		{
			name:    "a fork that does not exec, and two bootstraps",
			samples: []perfSample{{comm: "rt", pid: 1}, {comm: "rt", pid: 2}, {comm: "7", pid: 3}, {comm: "7", pid: 4}},
			want:    map[int]string{1: roleCommand, 2: roleFork, 3: roleBootstrap, 4: roleBootstrap + " #2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := runRoles(tc.samples)
			if len(got) != len(tc.want) {
				t.Fatalf("roles %v, want %v", got, tc.want)
			}
			for pid, role := range tc.want {
				if got[pid] != role {
					t.Errorf("pid %d: role %q, want %q", pid, got[pid], role)
				}
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name         string
		s            perfSample
		phase, unit  string
		anchor, want string
	}{
		{
			name:  "package init: the package of the init doInit1 called",
			s:     perfSample{frames: []string{"runtime.mallocgc", "github.com/urfave/cli/v2.init.0", "runtime.doInit1", "runtime.main"}},
			phase: phaseInit, unit: "ms", want: "package github.com/urfave/cli/v2",
		},
		{
			name: "a runtime thread's syscall",
			s: perfSample{frames: []string{"futex_wait", "__x64_sys_futex", "x64_sys_call", "do_syscall_64", "entry_SYSCALL_64",
				"runtime.futex", "runtime.schedule", "runtime.mstart"}, kernel: 5},
			phase: phaseThreads, anchor: "runtime.schedule", unit: "ms", want: "runtime.schedule: futex",
		},
		{
			name:  "a fault outside a syscall names the faulting function",
			s:     perfSample{frames: []string{"handle_mm_fault", "asm_exc_page_fault", "runtime.memclrNoHeapPointers", "main.main"}, kernel: 2},
			phase: phaseMain, unit: "faults", want: "fault in runtime.memclrNoHeapPointers",
		},
		{
			name:  "user code in no known phase names its function",
			s:     perfSample{frames: []string{"__memset_avx512_unaligned_erms", "[unknown]"}},
			phase: phaseOther, unit: "ms", want: "in __memset_avx512_unaligned_erms",
		},
		{
			name:  "CPU in a page fault",
			s:     perfSample{frames: []string{"clear_page", "asm_exc_page_fault", "main.main"}, kernel: 2},
			phase: phaseMain, unit: "ms", want: "page faults",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.s, tc.phase, tc.anchor, tc.unit); got != tc.want {
				t.Errorf("describe: %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	root := &callNode{}
	// main.main -> action -> Create (60%: walked into) -> cgroups 30, save 20, and 10 in Create itself; LoadSpec 25.
	root.add([]string{"main.main", "action", "Create", "cgroups"}, 30, "mkdirat")
	root.add([]string{"main.main", "action", "Create", "save"}, 20, "write")
	root.add([]string{"main.main", "action", "Create"}, 10, "user code")
	root.add([]string{"main.main", "action", "LoadSpec"}, 25, "read")
	root.add([]string{"main.main"}, 15, "user code")
	got := cut(root)
	want := []kv{{"cgroups", 30}, {"LoadSpec", 25}, {"save", 20}, {"main.main itself\x00100% user code", 15}, {"Create itself\x00100% user code", 10}}
	if len(got) != len(want) {
		t.Fatalf("cut: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cut[%d]: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestReadPerfStat(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stat")
	out := ` Performance counter stats for 'rt run' (20 runs):

             12.72 msec task-clock                       #    0.408 CPUs utilized            ( +-  2.01% )
             1,288      page-faults                      #   67.101 K/sec                    ( +-  0.42% )
               205      context-switches                 #   15.150 K/sec                    ( +-  2.06% )
`
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, faults, err := readPerfStat(file)
	if err != nil || ms != 12.72 || faults != 1288 {
		t.Errorf("readPerfStat: %v ms, %v faults, %v; want 12.72, 1288, nil", ms, faults, err)
	}
	if err := os.WriteFile(file, []byte("perf: no permission\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readPerfStat(file); err == nil {
		t.Error("readPerfStat of no counts: no error")
	}
}
