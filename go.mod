module github.com/rt-runtime/rt

go 1.26.8

require (
	// cilium/ebpf at v0.16.0: rt imports only its package asm, which from v0.17 imports ebpf/internal (debug/elf,
	// compress/gzip, go/format) and from v0.19 internal/sys's testmain (encoding/xml): 25 more packages,
	// 12 more package inits in every rt process, ~270 KB of binary, ~30 page faults per `rt run`. The programs asm
	// assembles are the same bytes. TestLinkedPackages keeps them out.
	github.com/cilium/ebpf v0.16.0
	github.com/containerd/console v1.0.5
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/cyphar/filepath-securejoin v0.7.0
	github.com/godbus/dbus/v5 v5.2.4
	github.com/moby/sys/mountinfo v0.7.3
	github.com/opencontainers/runtime-spec v1.3.0
	github.com/seccomp/libseccomp-golang v0.11.1
	github.com/urfave/cli/v2 v2.27.7
	golang.org/x/sys v0.50.0
)

require (
	cyphar.com/go-pathrs v0.2.5 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
	golang.org/x/exp v0.0.0-20230224173230-c95f2b4c22f2 // indirect
)
