package main

import "github.com/opencontainers/runtime-spec/specs-go/features"

// seccompFeatures reports rt's seccomp support for `rt features`.
func seccompFeatures() *features.Seccomp {
	no := false
	return &features.Seccomp{Enabled: &no}
}

// libseccompLine is the libseccomp line of `rt --version`, empty without seccomp support.
func libseccompLine() string { return "" }
