#!/usr/bin/env bash
# Install what rt's build and tests need on a fresh Debian machine. Idempotent and quiet when all is present.
#
#   scripts/deps.sh        # everything make test needs
#   scripts/deps.sh bats   # only what make bats (runc's own bats suite, tests/bats/run.sh) needs
set -euo pipefail

# make bats: bats-core and jq run runc's suite; debootstrap makes its debian image; busybox-static its busybox image;
# util-linux gives script (a pty), unshare and flock; gcc builds hooks_so.bats' libraries;
# gawk, sshfs, iproute2, kmod, python3 and uidmap are what runc's own test image installs for the suite.
bats_pkgs=(bats jq gawk debootstrap busybox-static util-linux bsdutils gcc libc6-dev libseccomp-dev pkg-config
	sshfs iproute2 kmod python3-minimal uidmap)

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
case "${1:-all}" in
all) pkgs+=("${bats_pkgs[@]}") ;;
bats) pkgs=("${bats_pkgs[@]}") ;;
*) echo "deps.sh: unknown list $1 (known: all, bats)" >&2; exit 1 ;;
esac
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
