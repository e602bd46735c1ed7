package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestOneMallocArena: threads the Go runtime starts get no glibc arena of their own (mallocarena.c). Each goroutine
// below holds a thread locked and blocked, so the runtime starts new ones (pthread_create: runtime/cgo), whose start
// frees in C. A glibc arena other than the main one is a heap of its own (malloc/arena.c new_heap): HEAP_MAX_SIZE,
// 64 MiB on 64-bit, aligned to its size, read-write at the start as far as it is used, PROT_NONE to the end. The Go
// heap's arenas have the same shape, but are mapped read-write in 4 MiB steps; a thread stack is 8 MiB.
func TestOneMallocArena(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			<-release
		}()
	}
	started.Wait()
	defer close(release)

	if n := mallocArenaHeaps(t); n != 0 {
		t.Errorf("%d glibc malloc arenas besides the main one, want 0 (M_ARENA_MAX 1)", n)
	}
}

// mallocArenaHeaps counts the mappings of this process shaped like a glibc arena heap.
func mallocArenaHeaps(t *testing.T) int {
	t.Helper()
	const heapMax, goHeapStep = 64 << 20, 4 << 20
	type mapping struct {
		start, end uint64
		perms      string
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("/proc/self/maps line %q", sc.Text())
		}
		maps = append(maps, mapping{start, end, fields[1]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i+1 < len(maps); i++ {
		m, next := maps[i], maps[i+1]
		if m.start%heapMax == 0 && m.perms == "rw-p" && m.end-m.start < goHeapStep &&
			next.start == m.end && next.perms == "---p" && next.end == m.start+heapMax {
			n++
		}
	}
	return n
}
