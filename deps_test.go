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

// TestLinkedPackages lists the packages `make rt` links (its build tags, from the Makefile) and fails on any of
// unwantedPackages, so that a dependency bump that brings one back is seen before it ships.
func TestLinkedPackages(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^GOTAGS := (.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile: no GOTAGS line")
	}
	tags := strings.Join(strings.Fields(string(m[1])), ",")
	out, err := exec.Command("go", "list", "-deps", "-tags", tags, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps -tags %s: %v", tags, err)
	}
	for _, p := range strings.Fields(string(out)) {
		if why, ok := unwantedPackages[p]; ok {
			t.Errorf("rt links %s: %s", p, why)
		}
	}
}
