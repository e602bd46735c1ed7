#!/usr/bin/env bash
# The OCI runtime-tools validation suite against a runtime: build, run every program, print a table, check
# the threshold. See tests/conformance/README.md.
#
# Usage: tests/conformance/run.sh [PROGRAM...]      (default: all programs of the pinned runtime-tools)
# Environment:
#   RUNTIME                  runtime binary (default ./rt); RUNTIME=/usr/bin/runc proves the harness
#   RUNTIME_TOOLS_VERSION    runtime-tools module version (default: the pinned master pseudo-version below);
#                            "latest" is short for the newest master pseudo-version known to work
#   CONFORMANCE_TIMEOUT      seconds per program before it is killed (default 120)
#   CONFORMANCE_RETRIES      reruns of a failing program listed in tests/conformance/flaky before it counts as
#                            failed (default 9); CONFORMANCE_RETRY_ALL=1 retries every program
#   CONFORMANCE_THRESHOLD    minimum number of passing programs (default: tests/conformance/threshold, which
#                            is only enforced for the pinned version)
#   CONFORMANCE_UNIFIED_TMPFS  yes|no|auto: hide the cgroup2 mount at /sys/fs/cgroup/unified behind a tmpfs
#                            inside the private mount namespace (auto: only for crun, which refuses hybrid hosts)
#   CONFORMANCE_VERBOSE=1    print each program's TAP output as it finishes
set -euo pipefail

readonly pinned_version=v0.9.1-0.20221107090550-2e043c6bd626
readonly latest_version=v0.9.1-0.20251114084447-edf4cb3d2116

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() {
	echo "conformance: $*" >&2
	exit 1
}

# one_program runs inside `unshare -m` (a private mount namespace, so that programs whose containers have no
# mount namespace cannot change the host's mounts) with the cwd holding runtimetest and rootfs-amd64.tar.gz,
# which is where runtime-tools' validation/util looks for them (PrepareBundle, RuntimeInsideValidate).
one_program() {
	local hide=$1 timeout=$2 prog=$3
	if [ "$hide" = yes ]; then
		# crun 1.8 refuses a host with a cgroup2 mount beside v1 controllers; this hides it in this namespace
		# only. The host's mount is untouched: unshare(1) makes the new namespace's propagation private.
		umount /sys/fs/cgroup/unified
		mount -t tmpfs tmpfs /sys/fs/cgroup/unified
	fi
	exec "$subreaper" timeout -k 10 "$timeout" "$prog"
}

# build makes the validation programs, runtimetest and the rootfs in $1 for runtime-tools version $2, once:
# a throwaway module, so the project's go.mod is never touched.
build() {
	local dir=$1 version=$2
	if [ -f "$dir/bin/.built" ] && [ "$(cat "$dir/bin/.built")" = "$version" ]; then
		return 0
	fi
	echo "conformance: building runtime-tools $version in $dir" >&2
	rm -rf "${dir:?}/bin"
	mkdir -p "$dir/bin"
	printf 'module rtconformance\n\ngo 1.21\n\nrequire github.com/opencontainers/runtime-tools %s\n' "$version" >"$dir/go.mod"
	rm -f "$dir/go.sum"
	(
		cd "$dir"
		export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"
		go mod download github.com/opencontainers/runtime-tools
		# runtimetest is copied into the container's rootfs, whose busybox has no loader: static, as
		# runtime-tools' own Makefile builds it.
		CGO_ENABLED=0 go build -trimpath -tags 'netgo osusergo' -o bin/runtimetest \
			github.com/opencontainers/runtime-tools/cmd/runtimetest
		go build -trimpath -o bin/ github.com/opencontainers/runtime-tools/validation/...
		src=$(go list -m -f '{{.Dir}}' github.com/opencontainers/runtime-tools)
		install -m 0644 "$src/rootfs-amd64.tar.gz" bin/rootfs-amd64.tar.gz
	)
	echo "$version" >"$dir/bin/.built"
}

# tap_counts prints "pass fail skip planned" for the TAP in file $1. Programs may print several TAP documents
# (linux_cgroups_cpus prints one per cgroup version), so plans add up. Indented YAML directly after a test line
# is that test's diagnostic and may embed runtimetest's own TAP; it is not counted. A YAML block with an
# "error" key that follows no test line is how the lifecycle programs (hooks, poststart, ...) report a failed
# check (util.RuntimeLifecycleValidate returns it, the program prints it, then a "1..0" plan): counted as a
# failure. "Bail out!" is a failure too.
tap_counts() {
	awk '
		/^ok [0-9]+/ { if (tolower($0) ~ /# *skip/) skip++; else pass++; last = "test"; next }
		/^not ok [0-9]+/ { if (tolower($0) ~ /# *todo/) skip++; else fail++; last = "test"; next }
		/^1\.\.[0-9]+/ { split($0, a, /\.\./); plan += a[2]; last = "plan"; next }
		/^Bail out!/ { fail++; last = "bail"; next }
		/^  ---/ { inyaml = 1; orphan = (last != "test"); next }
		/^  \.\.\./ { inyaml = 0; last = "yaml"; next }
		inyaml { if (orphan && $0 ~ /"error":/) { fail++; orphan = 0 }; next }
		/^#/ { next }
		/^TAP version/ { last = "header"; next }
		# A description may run over several lines ("...\nRefer to: <url>"), so plain text keeps a test line
		# current for the YAML after it.
		{ if (last != "test") last = "other" }
		END { printf "%d %d %d %d\n", pass, fail, skip, plan }
	' "$1"
}

# cleanup_leftovers deletes whatever containers a program left in this run's private runtime root, and the
# cgroups runtime-tools names (cgroups/cgroups.go: AbsCgroupPath, RelCgroupPath) when they are empty.
cleanup_leftovers() {
	local id
	if [ -d "$state_root" ]; then
		for id in $("$runtime" --root "$state_root" list -q 2>/dev/null); do
			"$runtime" --root "$state_root" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	local d
	for d in /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/*/testdir/cgrouptest/container \
		/sys/fs/cgroup/*/testdir/cgrouptest /sys/fs/cgroup/*/testdir; do
		if [ -d "$d" ]; then
			rmdir "$d" 2>/dev/null || true
		fi
	done
}

if [ "${1:-}" = __one ]; then
	shift
	subreaper=$1
	shift
	one_program "$@"
fi

[ "$(id -u)" = 0 ] || die "must run as root (the suite creates containers and cgroups)"
command -v unshare >/dev/null || die "unshare(1) not found (util-linux)"

version=${RUNTIME_TOOLS_VERSION:-$pinned_version}
[ "$version" = latest ] && version=$latest_version
runtime=${RUNTIME:-$repo/rt}
case $runtime in
*/*) runtime=$(realpath -e "$runtime" 2>/dev/null) || die "runtime ${RUNTIME:-./rt} not found (make rt?)" ;;
*) runtime=$(command -v "$runtime") || die "runtime $RUNTIME not found in PATH" ;;
esac
[ -x "$runtime" ] || die "runtime $runtime is not executable"
name=$(basename "$runtime")
timeout=${CONFORMANCE_TIMEOUT:-120}
retries=${CONFORMANCE_RETRIES:-9}
[[ $retries =~ ^[0-9]+$ ]] || die "CONFORMANCE_RETRIES '$retries' is not a number"

hide=${CONFORMANCE_UNIFIED_TMPFS:-auto}
if [ "$hide" = auto ]; then
	hide=no
	if "$runtime" --version 2>/dev/null | head -n1 | grep -q '^crun '; then
		hide=yes
	fi
fi
if [ "$hide" = yes ] && ! mountpoint -q /sys/fs/cgroup/unified; then
	hide=no
fi

out=$repo/build/conformance
work=$out/$version
build "$work" "$version"
mkdir -p "$out/bin"
(cd "$repo" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$out/bin/subreaper" ./tests/conformance/subreaper)

# The programs call "$RUNTIME create ..." with no --root. A wrapper adds a root private to this run, so that
# leftovers can be deleted without touching anyone else's containers in the runtime's default root. It is a
# bash script because printf %q quotes for bash.
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/rt-conformance.XXXXXX")
state_root=$run_dir/root
mkdir -p "$state_root" "$run_dir/bin"
printf '#!/bin/bash\nexec %q --root %q "$@"\n' "$runtime" "$state_root" >"$run_dir/bin/$name"
chmod 0755 "$run_dir/bin/$name"
trap 'cleanup_leftovers; rm -rf "$run_dir"' EXIT

if [ $# -gt 0 ]; then
	programs=("$@")
else
	mapfile -t programs < <(find "$work/bin" -maxdepth 1 -type f -perm -u+x ! -name runtimetest -printf '%f\n' | LC_ALL=C sort)
fi
[ ${#programs[@]} -gt 0 ] || die "no validation programs in $work/bin"

results=$out/results-$name
if [ "$version" != "$pinned_version" ]; then
	results=$results@$version
fi
# A run of some programs must not overwrite a full run's table.
if [ $# -gt 0 ]; then
	results=$results.partial
fi
results=$results.txt
logs=$out/logs-$name@$version
mkdir -p "$logs"

echo "conformance: $("$runtime" --version 2>/dev/null | head -n1 || echo "$runtime") with runtime-tools $version" >&2
{
	echo "# runtime: $runtime ($("$runtime" --version 2>/dev/null | head -n1 || true))"
	echo "# runtime-tools: $version"
	echo "# cgroup2 at /sys/fs/cgroup/unified hidden: $hide"
	printf '%-36s %-7s %5s %5s %5s %5s %5s %5s %5s\n' "# program" result pass fail skip plan exit tries secs
} >"$results"

passed=0
total=0
start_all=$SECONDS
for prog in "${programs[@]}"; do
	[ -x "$work/bin/$prog" ] || die "no program $prog in $work/bin"
	total=$((total + 1))
	t0=$SECONDS
	rm -f "$logs/$prog".*
	tries=0
	max_retries=0
	if [ "${CONFORMANCE_RETRY_ALL:-0}" = 1 ] || grep -qx "$prog" <(sed 's/[[:space:]]*#.*//' "$here/flaky"); then
		max_retries=$retries
	fi
	while :; do
		tries=$((tries + 1))
		rc=0
		(cd "$work/bin" && RUNTIME="$run_dir/bin/$name" unshare -m -- "$here/run.sh" __one "$out/bin/subreaper" \
			"$hide" "$timeout" "./$prog" >"$logs/$prog.tap" 2>"$logs/$prog.stderr" </dev/null) || rc=$?
		cleanup_leftovers
		read -r pass fail skip plan < <(tap_counts "$logs/$prog.tap")
		# A program passes when it exits 0, runs as many tests as it planned, and none fails. A program that
		# prints no TAP at all passes on exit 0: process_rlimits_fail reports only through its exit status.
		result=FAIL
		if [ "$rc" -eq 0 ] && [ "$fail" -eq 0 ] && [ $((pass + skip)) -eq "$plan" ]; then
			result=PASS
		elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			result=TIMEOUT
		fi
		# Some programs race by design (tests/conformance/flaky), so their failure is retried; the tries
		# column shows it. The failed attempts' output is kept beside the last one.
		if [ "$result" = PASS ] || [ "$tries" -gt "$max_retries" ]; then
			break
		fi
		mv "$logs/$prog.tap" "$logs/$prog.try$tries.tap"
		mv "$logs/$prog.stderr" "$logs/$prog.try$tries.stderr"
	done
	[ "$result" = PASS ] && passed=$((passed + 1))
	line=$(printf '%-36s %-7s %5d %5d %5d %5d %5d %5d %5d' "$prog" "$result" "$pass" "$fail" "$skip" "$plan" "$rc" \
		"$tries" $((SECONDS - t0)))
	echo "$line" >>"$results"
	echo "$line" >&2
	if [ "${CONFORMANCE_VERBOSE:-0}" = 1 ]; then
		cat "$logs/$prog.tap" "$logs/$prog.stderr" >&2
	fi
done
echo "# passed $passed of $total programs in $((SECONDS - start_all))s" >>"$results"

echo >&2
cat "$results"
echo "conformance: results in $results, TAP output and stderr in $logs/" >&2

threshold=${CONFORMANCE_THRESHOLD:-}
if [ -z "$threshold" ] && [ "$version" = "$pinned_version" ] && [ $# -eq 0 ]; then
	threshold=$(tr -d '[:space:]' <"$here/threshold")
fi
if [ -n "$threshold" ]; then
	[[ $threshold =~ ^[0-9]+$ ]] || die "threshold '$threshold' is not a number"
	if [ "$passed" -lt "$threshold" ]; then
		die "$passed programs passed, fewer than the threshold $threshold"
	fi
	echo "conformance: $passed programs passed, threshold $threshold" >&2
fi
