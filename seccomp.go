package main

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/rt-runtime/rt/libcontainer/seccomp"
)

// seccompFeatures reports rt's seccomp support for `rt features`.
func seccompFeatures() *features.Seccomp { return seccomp.Features() }

// libseccompLine is the libseccomp line of `rt --version`, which go-runc parses too.
func libseccompLine() string { return "libseccomp: " + seccomp.Version() + "\n" }
