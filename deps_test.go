package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// unwantedPackages are packages the rt binary must not link: every rt process, `rt init` included, pays for each
// package's initialisation and for the pages of binary it touches, whether the command uses it or not.
var unwantedPackages = map[string]string{
	"encoding/xml":                            "cilium/ebpf >= v0.19's internal/sys (testutils/testmain); go.mod pins v0.16.0",
	"debug/elf":                               "cilium/ebpf >= v0.17's package asm (via ebpf/internal); go.mod pins v0.16.0",
	"compress/flate":                          "cilium/ebpf >= v0.17's package asm (debug/elf, compress/gzip)",
	"go/parser":                               "cilium/ebpf >= v0.17's package asm (go/format)",
	"github.com/cilium/ebpf":                  "the loader (btf, kconfig, ...): cgroups/bpf.go calls bpf(2) itself",
	"github.com/cilium/ebpf/link":             "pulls in package features: cgroups/bpf.go attaches with bpf(2) itself",
	"github.com/russross/blackfriday/v2":      "urfave/cli's docs generator: the Makefile's urfave_cli_no_docs tag drops it",
	"github.com/cpuguy83/go-md2man/v2/md2man": "urfave/cli's docs generator: the Makefile's urfave_cli_no_docs tag drops it",
}

// TestLinkedPackages lists the packages `make rt` links (its build tags and GOEXPERIMENT, from the Makefile) and
// fails on any of unwantedPackages, so that a dependency bump that brings one back is seen before it ships. It asks
// the go command that runs the test (`go test` puts its GOROOT/bin first in PATH) and never the network: the
// modules are in the module cache, since building this test needed a superset of them.
func TestLinkedPackages(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list packages with")
	}
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	tags := strings.Join(strings.Fields(makeVar(t, mk, "GOTAGS")), ",")
	cmd := exec.Command("go", "list", "-deps", "-tags", tags, ".")
	// GOFLAGS may add flags but not change these: a command-line -tags overrides GOFLAGS' (go help environment).
	cmd.Env = append(os.Environ(), "GOEXPERIMENT="+makeVar(t, mk, "RT_GOEXPERIMENT"), "GOPROXY=off", "GOTOOLCHAIN=local")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -tags %s: %v\n%s", tags, err, stderr.String())
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		linked[p] = true
		if why, ok := unwantedPackages[p]; ok {
			t.Errorf("rt links %s: %s", p, why)
		}
	}
	// The list is rt's: what it does link is there (else a wrong directory or an empty list would pass).
	for _, p := range []string{"github.com/cilium/ebpf/asm", "github.com/urfave/cli/v2", "github.com/rt-runtime/rt/cgroups"} {
		if !linked[p] {
			t.Errorf("go list -deps: no %s among %d packages", p, len(linked))
		}
	}
}

// makeVar is the value of the Makefile's `NAME := value` line.
func makeVar(t *testing.T, mk []byte, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` := (.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatalf("Makefile: no %s line", name)
	}
	return strings.TrimSpace(string(m[1]))
}
