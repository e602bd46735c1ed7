package main

import (
	"encoding/json"
	"os"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/cgroups"
	"github.com/rt-runtime/rt/internal/namespace"
	"github.com/rt-runtime/rt/libcontainer"
	"github.com/rt-runtime/rt/rootfs"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print what rt supports, as runtime-spec features JSON",
	Action: func(cliCtx *cli.Context) error {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "    ")
		return enc.Encode(rtFeatures())
	},
}

// rtFeatures tells the truth about this build: only what rt implements is listed.
func rtFeatures() *features.Features {
	yes, no := true, false
	caps := libcontainer.CapabilityNames()
	sort.Strings(caps)
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  rootfs.OptionNames(),
		Linux: &features.Linux{
			Namespaces:   namespace.Names(),
			Capabilities: caps,
			Cgroup: &features.Cgroup{
				V1: &yes, V2: &yes, Systemd: &no, SystemdUser: &no, Rdma: &yes,
			},
			Seccomp: seccompFeatures(),
			// features-linux.md: "enabled" is whether rt supports the LSM, irrelevant to the host having it.
			Apparmor:        &features.Apparmor{Enabled: &yes},
			Selinux:         &features.Selinux{Enabled: &yes},
			IntelRdt:        &features.IntelRdt{Enabled: &no},
			NetDevices:      &features.NetDevices{Enabled: &yes},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &yes}},
		},
		Annotations: map[string]string{
			"io.github.rt-runtime.rt.version": version,
			"io.github.rt-runtime.rt.commit":  commit,
			"io.github.rt-runtime.rt.cgroups": cgroups.Mode(),
		},
	}
}
