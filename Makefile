# rt — a daemonless OCI container runtime. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= 0.1.0
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD := $(CURDIR)/build
GOBIN_DIR := $(BUILD)/bin
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -extldflags '-static'
GOTAGS := netgo osusergo static_build urfave_cli_no_docs
# encoding/json as Go 1.26's new implementation (same API and output; fewer page faults and less CPU per command):
# every build of rt's code takes it, tests and lint too, so that they check what ships. README "encoding/json".
# nogreenteagc: Go 1.26's previous garbage collector (the opt-out Go 1.26 keeps; go.dev/doc/go1.26 expects to drop
# it in Go 1.27). Green Tea keeps a small-object span's mark bits in the span's last bytes, so the first object of
# each size class touches the span's last page as well as its first: ~30 more page faults per rt process (~8 of
# them in package initialisation), for a collector that rt's short processes do not run. README "A static binary".
RT_GOEXPERIMENT := jsonv2,nogreenteagc
GOLANGCI_VERSION := v2.15.0
export CGO_ENABLED := 1

.PHONY: all rt deps peers probe bundle demo test unit lint integration conformance test-crash test-cgroupv2 test-systemd test-lsm test-managers test-cri bats bench bench-profile fuzz fuzz-short clean help

all: rt

## rt: the static binary at ./rt
rt:
	GOEXPERIMENT=$(RT_GOEXPERIMENT) $(GO) build -trimpath -tags '$(GOTAGS)' -ldflags "$(LDFLAGS)" -o rt .

## deps: install (apt-get) what the build and the tests need; idempotent
deps:
	@scripts/deps.sh

## peers: build the pinned peers (runc v1.5.3, ...) from the Go module proxy into build/peers/, once
peers:
	@scripts/peers.sh >/dev/null

## probe: the static in-container probe used by the integration tests
probe:
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BUILD)/probe ./tests/probe

## bundle: the default demo bundle (busybox-static rootfs) at build/bundle
bundle: rt probe
	@scripts/mkbundle.sh $(BUILD)/bundle

## demo: run a container from the default bundle and show it is isolated
demo: deps rt bundle
	@scripts/demo.sh $(BUILD)/bundle

## test: everything CI runs — unit tests, lint, integration, crash, conformance, cgroup v2, systemd and AppArmor (UML), managers, CRI
test: deps rt probe unit lint integration test-crash conformance test-cgroupv2 test-systemd test-lsm test-managers test-cri fuzz-short

## unit: unit tests of the packages (no root needed; root-only ones skip)
unit:
	GOEXPERIMENT=$(RT_GOEXPERIMENT) $(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/integration)

## lint: gofmt, go vet, golangci-lint, shellcheck, and -Wall -Werror for the C (nsenter, the signal relay)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^tests/.*/testdata/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	GOEXPERIMENT=$(RT_GOEXPERIMENT) $(GO) vet ./...
	@test -x $(GOBIN_DIR)/golangci-lint || GOBIN=$(GOBIN_DIR) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	GOEXPERIMENT=$(RT_GOEXPERIMENT) $(GOBIN_DIR)/golangci-lint run ./...
	shellcheck $$(git ls-files '*.sh' '.ci/run')
	gcc -Wall -Wextra -Werror -fsyntax-only nsenter/*.c sigrelay.c mallocarena.c
	gcc -Wall -Wextra -Werror -fsyntax-only tests/bench/csrc/*.c

## integration: the integration suite as root against ./rt (RUNTIME=build/peers/runc-v1.5.3/runc, the reference, or /usr/sbin/runc)
integration: rt probe
	RT_RUNTIME=$${RUNTIME:-$(CURDIR)/rt} RT_PROBE=$(BUILD)/probe $(GO) test -count=1 -timeout 20m ./tests/integration/ $(TESTFLAGS)

## conformance: the OCI runtime-tools validation suite, with a pass threshold
conformance: rt
	@tests/conformance/run.sh

## test-crash: SIGKILL the runtime during create, run -d, start, exec, delete -f and kill (swept delays, and for rt
## each protocol step); after each kill nothing may be left that delete -f cannot remove. RUNTIME=runc to compare
CRASH_KILLS ?= 20
test-crash: rt
	@if grep -q RT_CRASH_AT rt; then echo "test-crash: the release build ./rt contains the crash hook"; exit 1; fi
	GOEXPERIMENT=$(RT_GOEXPERIMENT) $(GO) build -trimpath -tags '$(GOTAGS) rtcrashpoint' -ldflags "$(LDFLAGS)" -o $(BUILD)/rt-crash .
	$(GO) build -o $(BUILD)/crash ./tests/crash
	$(BUILD)/crash -n $(CRASH_KILLS) $(if $(RUNTIME),-runtime $(RUNTIME),-runtime $(BUILD)/rt-crash -steps)

## test-cgroupv2: cgroup v2 enforcement tests inside User-mode Linux (a pure v2 kernel)
test-cgroupv2: rt probe
	@tests/uml/run.sh

## test-systemd: rt and runc under a real systemd 252 in User-mode Linux: --systemd-cgroup, the README's units
test-systemd: rt probe peers
	@tests/uml/systemd/run.sh

## test-lsm: AppArmor profiles under a kernel that enforces them (UML), for rt and runc v1.5.3, in one boot
test-lsm: rt peers
	@tests/uml/lsm.sh

## test-managers: podman, containerd and Docker Engine driving ./rt (Docker: runc and rt side by side)
test-managers: rt
	@tests/managers/run.sh

## test-cri: critest through containerd 2.4's CRI on runc 1.5.3 and on ./rt; fails on a test only rt fails
test-cri: rt
	@tests/cri/run.sh

## bats: runc v1.5.3's own bats suite as root against RUNTIME (default ./rt; BATSFILES='kill.bats ...' for some
## files); per-file TAP and a summary in build/bats/<runtime>/; tests/bats/run.sh --compare A B. Not in make test
bats: rt
	@scripts/deps.sh bats
	@RUNTIME=$${RUNTIME:-$(CURDIR)/rt} tests/bats/run.sh $(BATSFILES)

## bench: rt against runc 1.1.5, runc 1.5.3, crun and two floors, interleaved: CPU, faults, RSS, wall, ratios
## and issue 15's targets into build/bench/results.md (not part of make test; 12 min for 10 rounds at load 50)
bench: rt bundle
	@tests/bench/run.sh

## bench-profile: where rt run's time goes (perf by process and phase, faults by phase, perf stat against the
## floors, inittrace, strace -f -c) into build/bench/profile/summary.md (not part of make test); PROFILE_OP=exec:
## of rt exec, into build/bench/profile-exec/summary.md
bench-profile: rt bundle
	@tests/bench/profile.sh

## fuzz: a run of each fuzz target (FUZZTIME each, default 10s)
fuzz:
	@GOEXPERIMENT=$(RT_GOEXPERIMENT) scripts/fuzz.sh

fuzz-short:
	@GOEXPERIMENT=$(RT_GOEXPERIMENT) FUZZTIME=short scripts/fuzz.sh

clean:
	rm -rf rt $(BUILD)

help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'
