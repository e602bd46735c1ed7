#!/usr/bin/env bash
# The OCI runtime-tools validation suite against a runtime: build, run every program, print a table, check
# the threshold. See tests/conformance/README.md.
#
# Usage: tests/conformance/run.sh [PROGRAM...]      (default: all programs, of both runtime-tools versions)
# Environment:
#   RUNTIME                  runtime binary (default ./rt); RUNTIME=/usr/bin/runc proves the harness
#   RUNTIME_TOOLS_VERSION    runtime-tools module versions, space-separated (default "pinned latest": the
#                            pinned master pseudo-version, then the newest one known to work);
#                            "pinned" and "latest" are short for those two, anything else is a module version
#   CONFORMANCE_TIMEOUT      seconds per program before it is killed (default 120)
#   CONFORMANCE_RETRIES      reruns of a failing program listed in tests/conformance/flaky before it counts as
#                            failed (default 9); CONFORMANCE_RETRY_ALL=1 retries every program
#   CONFORMANCE_THRESHOLD    minimum number of passing programs, for every version run (default: the version's
#                            own file, tests/conformance/threshold or threshold-latest, enforced only for a
#                            full run of rt)
#   CONFORMANCE_UNIFIED_TMPFS  yes|no|auto: hide the cgroup2 mount at /sys/fs/cgroup/unified behind a tmpfs
#                            inside the private mount namespace (auto: only for crun, which refuses hybrid hosts)
#   CONFORMANCE_OCI_VERSION  rewrite a config's ociVersion newer than 1.0 to this before `create` (auto: 1.0.2
#                            for crun, which refuses versions it does not know; "no" never)
#   CONFORMANCE_PARALLEL=1   run the versions side by side (~2 min instead of ~3; see the README for why it is
#                            not the default)
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

# cgroup_program says whether program $1 uses the suite's fixed cgroups (cgroups/cgroups.go: AbsCgroupPath
# "/cgrouptest", RelCgroupPath "testdir/cgrouptest/container"). Those programs run one at a time under the
# cgroup lock, across the versions run side by side and across concurrent runs of this script.
cgroup_program() {
	case $1 in
	linux_cgroups_* | delete_resources) return 0 ;;
	esac
	return 1
}

# delete_containers deletes whatever containers a program left in the private runtime root $1.
delete_containers() {
	local root=$1 id
	[ -d "$root" ] || return 0
	for id in $("$runtime" --root "$root" list -q 2>/dev/null); do
		"$runtime" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
	done
}

# remove_suite_cgroups removes the cgroups runtime-tools names when they are empty. The caller holds the cgroup
# lock: an empty one may be a cgroup that a runtime has just made for a program of the other version.
remove_suite_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/*/testdir/cgrouptest/container \
		/sys/fs/cgroup/*/testdir/cgrouptest /sys/fs/cgroup/*/testdir; do
		if [ -d "$d" ]; then
			rmdir "$d" 2>/dev/null || true
		fi
	done
}

# make_wrapper writes $1/$name, the $RUNTIME the programs get. They call "$RUNTIME create ..." with no --root,
# so the wrapper adds the root $2, private to one version's run: leftovers can be deleted without touching
# anyone else's containers in the runtime's default root. It is a bash script because printf %q quotes for bash.
make_wrapper() {
	local dir=$1 root=$2
	mkdir -p "$dir" "$root"
	{
		echo '#!/bin/bash'
		if [ -n "$oci_version" ]; then
			printf 'oci_version=%q\n' "$oci_version"
			cat <<'WRAPPER'
# The runtime refuses an ociVersion it does not know (crun 1.8.1: "unknown version specified"), so create
# gets a config that says an older one. runtime-tools passes "--bundle DIR" (validation/util/container.go).
if [ "${1:-}" = create ]; then
	bundle=.
	prev=
	for arg in "$@"; do
		if [ "$prev" = --bundle ] || [ "$prev" = -b ]; then
			bundle=$arg
		fi
		prev=$arg
	done
	sed -i -E "0,/\"ociVersion\": *\"1\.[1-9][^\"]*\"/s//\"ociVersion\": \"$oci_version\"/" "$bundle/config.json"
fi
WRAPPER
		fi
		printf 'exec %q --root %q "$@"\n' "$runtime" "$root"
	} >"$dir/$name"
	chmod 0755 "$dir/$name"
}

# run_version runs the programs $4... (default: all) of runtime-tools version $1, labelled $2 in the progress
# lines, and writes the table to $3. The runtime root, the wrapper and the logs are the version's own, so that
# two versions can run side by side; the cgroup programs take turns (cgroup_program).
run_version() {
	local version=$1 label=$2 results=$3
	shift 3
	local work=$out/$version vdir=$run_dir/$label
	local state_root=$vdir/root logs=$out/logs-$name@$version
	make_wrapper "$vdir/bin" "$state_root"
	local lock_fd
	exec {lock_fd}>>"$cgroup_lock"

	local programs
	if [ $# -gt 0 ]; then
		programs=("$@")
	else
		mapfile -t programs < <(find "$work/bin" -maxdepth 1 -type f -perm -u+x ! -name runtimetest -printf '%f\n' | LC_ALL=C sort)
	fi
	[ ${#programs[@]} -gt 0 ] || die "no validation programs in $work/bin"
	mkdir -p "$logs"

	echo "conformance: [$label] ${runtime_version:-$runtime} with runtime-tools $version" >&2
	{
		echo "# runtime: $runtime ($runtime_version)"
		echo "# runtime-tools: $version"
		echo "# cgroup2 at /sys/fs/cgroup/unified hidden: $hide"
		echo "# ociVersion newer than 1.0 rewritten to: ${oci_version:-no}"
		printf '%-36s %-7s %5s %5s %5s %5s %5s %5s %5s\n' "# program" result pass fail skip plan exit tries secs
	} >"$results"

	local passed=0 total=0 start_all=$SECONDS
	local prog t0 tries max_retries rc pass fail skip plan result line cg
	for prog in "${programs[@]}"; do
		[ -x "$work/bin/$prog" ] || die "no program $prog in $work/bin"
		total=$((total + 1))
		cg=no
		if cgroup_program "$prog"; then
			cg=yes
			flock "$lock_fd"
		fi
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
			# The lock's fd is not passed on: a container left running must not hold the lock.
			(cd "$work/bin" && RUNTIME="$vdir/bin/$name" unshare -m -- "$here/run.sh" __one "$out/bin/subreaper" \
				"$hide" "$timeout" "./$prog" >"$logs/$prog.tap" 2>"$logs/$prog.stderr" </dev/null {lock_fd}>&-) || rc=$?
			delete_containers "$state_root"
			if [ "$cg" = yes ]; then
				remove_suite_cgroups
			fi
			read -r pass fail skip plan < <(tap_counts "$logs/$prog.tap")
			# A program passes when it exits 0, runs as many tests as it planned, and none fails. A program
			# that prints no TAP at all passes on exit 0: process_rlimits_fail reports only through its exit
			# status.
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
		if [ "$cg" = yes ]; then
			flock -u "$lock_fd"
		fi
		if [ "$result" = PASS ]; then
			passed=$((passed + 1))
		fi
		line=$(printf '%-36s %-7s %5d %5d %5d %5d %5d %5d %5d' "$prog" "$result" "$pass" "$fail" "$skip" "$plan" \
			"$rc" "$tries" $((SECONDS - t0)))
		echo "$line" >>"$results"
		echo "[$label] $line" >&2
		if [ "${CONFORMANCE_VERBOSE:-0}" = 1 ]; then
			cat "$logs/$prog.tap" "$logs/$prog.stderr" >&2
		fi
	done
	exec {lock_fd}>&-
	echo "# passed $passed of $total programs in $((SECONDS - start_all))s" >>"$results"
}

# cleanup runs on exit: it stops the versions still running (after an interrupt), deletes their containers,
# and removes the suite's cgroups, waiting a little for the lock.
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local pid root lock_fd
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for root in "$run_dir"/*/root; do
		delete_containers "$root"
	done
	if exec {lock_fd}>>"$cgroup_lock" && flock -w 30 "$lock_fd"; then
		remove_suite_cgroups
		exec {lock_fd}>&-
	fi
	rm -rf "$run_dir"
}

if [ "${1:-}" = __one ]; then
	shift
	subreaper=$1
	shift
	one_program "$@"
fi

[ "$(id -u)" = 0 ] || die "must run as root (the suite creates containers and cgroups)"
command -v unshare >/dev/null || die "unshare(1) not found (util-linux)"
command -v flock >/dev/null || die "flock(1) not found (util-linux)"

runtime=${RUNTIME:-$repo/rt}
case $runtime in
*/*) runtime=$(realpath -e "$runtime" 2>/dev/null) || die "runtime ${RUNTIME:-./rt} not found (make rt?)" ;;
*) runtime=$(command -v "$runtime") || die "runtime $RUNTIME not found in PATH" ;;
esac
[ -x "$runtime" ] || die "runtime $runtime is not executable"
name=$(basename "$runtime")
runtime_version=$("$runtime" --version 2>/dev/null | sed -n 1p) || true
timeout=${CONFORMANCE_TIMEOUT:-120}
retries=${CONFORMANCE_RETRIES:-9}
[[ $retries =~ ^[0-9]+$ ]] || die "CONFORMANCE_RETRIES '$retries' is not a number"

is_crun=no
case $runtime_version in
"crun "*) is_crun=yes ;;
esac
hide=${CONFORMANCE_UNIFIED_TMPFS:-auto}
if [ "$hide" = auto ]; then
	hide=$is_crun
fi
if [ "$hide" = yes ] && ! mountpoint -q /sys/fs/cgroup/unified; then
	hide=no
fi
oci_version=${CONFORMANCE_OCI_VERSION:-auto}
case $oci_version in
auto)
	oci_version=
	if [ "$is_crun" = yes ]; then
		oci_version=1.0.2
	fi
	;;
no) oci_version= ;;
*) [[ $oci_version =~ ^1\.0\.[0-9]+$ ]] || die "CONFORMANCE_OCI_VERSION '$oci_version' is not a 1.0.x version" ;;
esac

# The threshold files are rt's own: a peer run (RUNTIME=/usr/sbin/runc) is measured, not judged, unless
# CONFORMANCE_THRESHOLD says otherwise.
is_rt=no
case $runtime_version in
"rt version "*) is_rt=yes ;;
esac

versions=()
labels=()
for v in ${RUNTIME_TOOLS_VERSION:-pinned latest}; do
	case $v in
	pinned | "$pinned_version") versions+=("$pinned_version") labels+=(pinned) ;;
	latest | "$latest_version") versions+=("$latest_version") labels+=(latest) ;;
	*) versions+=("$v") labels+=("$v") ;;
	esac
done
[ ${#versions[@]} -gt 0 ] || die "RUNTIME_TOOLS_VERSION names no version"

out=$repo/build/conformance
# Built one after the other: the builds share Go's caches and both of this machine's cores.
for v in "${versions[@]}"; do
	build "$out/$v" "$v"
done
mkdir -p "$out/bin"
(cd "$repo" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$out/bin/subreaper" ./tests/conformance/subreaper)

# One lock for every run of this script on the machine: the suite's cgroup paths are fixed.
cgroup_lock=/run/lock/rt-conformance-cgroups.lock
if [ ! -d /run/lock ] || [ ! -w /run/lock ]; then
	cgroup_lock=$out/cgroups.lock
fi
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/rt-conformance.XXXXXX")
pids=()
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# By default the versions run one after the other. Side by side (CONFORMANCE_PARALLEL=1) saves the programs'
# own waits (delete, kill, pidfile and start sleep ~50 s of a ~80 s run), but the load it adds makes rt's init lose
# races it should not have (tests/conformance/README.md, "Side by side"), so it is not what the threshold gates.
parallel=${CONFORMANCE_PARALLEL:-0}
results=()
status=0
for i in "${!versions[@]}"; do
	r=$out/results-$name
	if [ "${versions[i]}" != "$pinned_version" ]; then
		r=$r@${versions[i]}
	fi
	# A run of some programs must not overwrite a full run's table.
	if [ $# -gt 0 ]; then
		r=$r.partial
	fi
	results+=("$r.txt")
	run_version "${versions[i]}" "${labels[i]}" "$r.txt" "$@" &
	pids+=($!)
	if [ "$parallel" != 1 ]; then
		wait "${pids[i]}" || status=1
	fi
done
if [ "$parallel" = 1 ]; then
	for pid in "${pids[@]}"; do
		wait "$pid" || status=1
	done
fi
pids=()
[ "$status" = 0 ] || die "a version's run failed (see above)"

for i in "${!versions[@]}"; do
	echo >&2
	cat "${results[i]}"
	echo "conformance: results in ${results[i]}, TAP output and stderr in $out/logs-$name@${versions[i]}/" >&2
done
for i in "${!versions[@]}"; do
	threshold=${CONFORMANCE_THRESHOLD:-}
	file=
	case ${labels[i]} in
	pinned) file=$here/threshold ;;
	latest) file=$here/threshold-latest ;;
	esac
	if [ -z "$threshold" ] && [ -n "$file" ] && [ "$is_rt" = yes ] && [ $# -eq 0 ]; then
		threshold=$(tr -d '[:space:]' <"$file")
	fi
	[ -n "$threshold" ] || continue
	[[ $threshold =~ ^[0-9]+$ ]] || die "threshold '$threshold' is not a number"
	passed=$(sed -n 's/^# passed \([0-9]*\) of .*/\1/p' "${results[i]}")
	if [ "$passed" -lt "$threshold" ]; then
		echo "conformance: [${labels[i]}] $passed programs passed, fewer than the threshold $threshold" >&2
		status=1
	else
		echo "conformance: [${labels[i]}] $passed programs passed, threshold $threshold" >&2
	fi
done
exit "$status"
