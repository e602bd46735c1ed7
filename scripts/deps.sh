#!/usr/bin/env bash
# Install what rt's build and tests need on a fresh Debian machine. Idempotent and quiet when all is present.
set -euo pipefail

pkgs=(
	gcc libc6-dev libseccomp-dev pkg-config # the static build: cgo for nsenter, libseccomp.a
	busybox-static                          # test and demo root filesystems
	shellcheck                              # lint
	runc crun                               # peers the tests and benchmarks compare against
	user-mode-linux                         # a pure cgroup v2 kernel for the enforcement tests
	apparmor                                # apparmor_parser: loads test-lsm's profiles into the UML guest
	iproute2 procps util-linux e2fsprogs    # ip, ps, unshare/losetup, mkfs for test devices
	uidmap                                  # newuidmap/newgidmap for rootless containers with subordinate ids
	linux-perf hyperfine                    # make bench-profile (perf), quick wall-time comparisons
	jq strace                               # the UML guest's checks, test-cri's reports; debugging
	iptables                                # the CNI portmap plugin under make test-cri
)
if [ -n "${RT_EXTRA_PKGS:-}" ]; then
	read -r -a extra <<<"$RT_EXTRA_PKGS"
	pkgs+=("${extra[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
apt-get install -o DPkg::Lock::Timeout=900 -y -q --no-install-recommends "${missing[@]}" >/dev/null
