#!/usr/bin/env bash
# run.sh: run runc v1.5.3's own bats suite (its tests/integration) against a runtime, as a new user of that runtime
# would, and keep per-file TAP output and a summary in build/bats/<runtime-name>/. tests/bats/README.md says more.
#
#   RUNTIME=/path/to/runtime tests/bats/run.sh [FILE.bats ...]   # default RUNTIME: ./rt; default: every file
#   tests/bats/run.sh --compare A B                              # tests one run passed and the other failed
#
# A and B name runs: a runtime name (rt, runc-v1.5.3, runc) or a directory holding results.tsv.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$repo/build/bats
runc_module=github.com/opencontainers/runc@v1.5.3
lock=/run/rt-bats.lock
# runc's tests that this script skips, with why: a name per line, then a tab, then the reason.
skips=$(printf '%s\t%s\n' \
	'update rt period and runtime' "takes the host's whole RT budget (tests/bats/run.sh)")

usage() {
	echo "usage: RUNTIME=PATH $0 [FILE.bats ...] | $0 --compare A B" >&2
	exit 2
}

# rundir NAME: the results directory of a run named NAME (or NAME itself when it is a directory).
rundir() {
	if [ -f "$1/results.tsv" ]; then
		echo "$1"
	elif [ -f "$build/$1/results.tsv" ]; then
		echo "$build/$1"
	else
		echo "run.sh: no results for $1 (looked in $1 and $build/$1)" >&2
		exit 1
	fi
}

# compare A B: the tests one run passed and the other failed, by file; results.tsv lines are file<TAB>status<TAB>name.
compare() {
	local a b
	a=$(rundir "$1")
	b=$(rundir "$2")
	awk -F'\t' -v an="$1" -v bn="$2" '
		FNR == NR { sa[$1 "\t" $3] = $2; next }
		{ sb[$1 "\t" $3] = $2 }
		END {
			for (k in sa) if (k in sb) {
				if (sa[k] == "ok" && sb[k] == "fail") ab[++na] = k
				if (sa[k] == "fail" && sb[k] == "ok") ba[++nb] = k
			}
			printf "passed by %s, failed by %s: %d\n", an, bn, na
			for (i = 1; i <= na; i++) { split(ab[i], p, "\t"); print "  " p[1] ": " p[2] | "sort" }
			close("sort")
			printf "passed by %s, failed by %s: %d\n", bn, an, nb
			for (i = 1; i <= nb; i++) { split(ba[i], p, "\t"); print "  " p[1] ": " p[2] | "sort" }
			close("sort")
		}' "$a/results.tsv" "$b/results.tsv"
}

if [ "${1:-}" = --compare ]; then
	[ $# -eq 3 ] || usage
	compare "$2" "$3"
	exit 0
fi
case "${1:-}" in -*) usage ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: runc's suite runs as root (it creates cgroups, mounts and namespaces); run it with sudo" >&2
	exit 1
fi
runtime=${RUNTIME:-$repo/rt}
runtime=$(realpath -m "$runtime")
if [ ! -x "$runtime" ]; then
	echo "run.sh: runtime $runtime is not an executable (make rt, or set RUNTIME)" >&2
	exit 1
fi
for tool in bats jq gawk script unshare flock go tar debootstrap; do
	command -v "$tool" >/dev/null || {
		echo "run.sh: $tool missing: scripts/deps.sh bats installs it" >&2
		exit 1
	}
done
# A run's name: the runtime's file name, or its directory's when that says more (build/peers/runc-v1.5.3/runc).
name=${BATS_RUN_NAME:-$(basename "$runtime")}
parent=$(basename "$(dirname "$runtime")")
[ -n "${BATS_RUN_NAME:-}" ] || [[ "$parent" != "$name"-* ]] || name=$parent
out=$build/$name

# Two runs share the suite's copy, its images and the host's cgroups and mounts: one at a time.
exec 9>"$lock"
if ! flock -n 9; then
	echo "run.sh: another run holds $lock; waiting" >&2
	flock 9
fi

# The suite: runc's tests/ from the Go module cache, copied once (the cache is read-only; the suite writes into
# testdata and tests/cmd/_bin), with its helper programs built from the same module.
src=$build/src
if [ ! -f "$src/.complete" ]; then
	moddir=$(go mod download -json "$runc_module" | jq -r .Dir)
	rm -rf "$src"
	mkdir -p "$src"
	cp -r "$moddir/." "$src/"
	chmod -R u+w "$src"
	# A module zip keeps no file modes: the suite runs its scripts (get-images.sh) directly.
	find "$src" -name '*.sh' -exec chmod +x {} +
	echo "run.sh: building runc's test helpers (tests/cmd)" >&2
	(cd "$src" && GOFLAGS=-mod=mod go build -o tests/cmd/_bin/ ./tests/cmd/...)
	# Skips: a `skip` as the first line of each skipped test, so that its TAP line says why.
	while IFS=$'\t' read -r test why; do
		grep -l "@test \"$test\"" "$src"/tests/integration/*.bats | while read -r f; do
			sed -i "/@test \"$test\" {/a\\	skip \"$why\"" "$f"
		done
	done <<<"$skips"
	touch "$src/.complete"
fi
suite=$src/tests/integration

# The images get-images.sh would download, made offline instead: a busybox image from Debian's busybox-static, a
# Debian image by debootstrap from the host's Debian mirror. get-images.sh downloads only what is missing.
arch=$(go env GOARCH)
images=$build/images
mkdir -p "$images"
for image in busybox debian; do
	[ -f "$images/$image-$arch.tar" ] || "$repo/tests/bats/mkimage.sh" "$image" "$images/$image-$arch.tar"
	# Under the name get-images.sh looks for; tar reads it whatever its compression.
	ln -sfn "$images/$image-$arch.tar" "$suite/testdata/$image-$arch.tar.xz"
done

if [ $# -gt 0 ]; then
	files=()
	for f in "$@"; do files+=("$suite/$(basename "$f")"); done
else
	files=("$suite"/*.bats)
fi

# mounts_sshfs.bats tries sshfs to localhost and falls back to a tmpfs; where nothing answers on port 22 and the
# connection is dropped, not refused, each try would hang for minutes: sshfs gets a connect timeout.
wrap=$build/wrap
mkdir -p "$wrap"
if sshfs=$(command -v sshfs); then
	printf '#!/bin/sh\nexec %s -o ConnectTimeout=5 "$@"\n' "$sshfs" >"$wrap/sshfs"
	chmod +x "$wrap/sshfs"
fi

stdin=$build/stdin
[ -p "$stdin" ] || { rm -f "$stdin"; mkfifo "$stdin"; }

mkdir -p "$out"
if [ $# -gt 0 ]; then
	# A rerun of some files replaces their results and keeps the others'.
	touch "$out/results.tsv"
	for f in "${files[@]}"; do
		base=$(basename "$f" .bats)
		rm -f "$out/$base.tap"
		awk -F'\t' -v b="$base" '$1 != b' "$out/results.tsv" >"$out/results.tsv.new"
		mv "$out/results.tsv.new" "$out/results.tsv"
	done
else
	rm -f "$out"/*.tap "$out/results.tsv" "$out/summary.txt"
fi
echo "run.sh: runc v1.5.3's suite against $runtime ($("$runtime" --version 2>/dev/null | head -1)); results in $out" >&2
for f in "${files[@]}"; do
	[ -f "$f" ] || { echo "run.sh: no such test file: $f" >&2; exit 1; }
	base=$(basename "$f" .bats)
	echo "run.sh: $base" >&2
	# As root, in a private mount namespace (the suite mounts and leaves mounts behind), on a pty (some tests need a
	# controlling terminal), with a time limit per file so that one hang cannot stop the run. Not bats' per-test
	# limit (BATS_TEST_TIMEOUT): its watchdog is a child of the test, which the suite's bare `wait`s then wait for.
	cmd=$(printf '%q ' env RUNC="$runtime" PATH="$wrap:$PATH" bats --tap "$f")
	# script's stdin is a fifo that never ends, as a terminal would not: at the end of its input, script writes an
	# end-of-file character to the pty, which a runtime relaying its terminal passes on and the container echoes
	# into the test's output. The lock's fd is not the suite's: create.bats counts every fd a container inherits.
	timeout -k 30 1800 unshare -m --propagation private \
		script -qec "$cmd" /dev/null 3<>"$stdin" <&3 3<&- 9>&- 2>&1 | tr -d '\r' >"$out/$base.tap" || true
	# TAP: "ok N name", "ok N name # skip why", "not ok N name"; a file that did not run is one failure.
	if ! grep -qE '^(not )?ok ' "$out/$base.tap"; then
		printf '%s\tfail\t(the file did not run: see %s.tap)\n' "$base" "$base" >>"$out/results.tsv"
		continue
	fi
	sed -nE 's/^(not ok|ok) [0-9]+ (.*)$/\1\t\2/p' "$out/$base.tap" | while IFS=$'\t' read -r st test; do
		if [ "$st" = "not ok" ]; then
			st=fail
		elif [[ "$test" == *" # skip"* ]]; then
			st=skip
		else
			st=ok
		fi
		test=${test%% # skip*}
		printf '%s\t%s\t%s\n' "$base" "$st" "$test"
	done >>"$out/results.tsv"
done

{
	echo "runc v1.5.3's bats suite against $runtime"
	awk -F'\t' '{ n[$1 "\t" $2]++; f[$1] = 1; t[$2]++ }
		END {
			for (x in f) printf "  %-28s passed %3d  failed %3d  skipped %3d\n", x, n[x "\tok"], n[x "\tfail"], n[x "\tskip"] | "sort"
			close("sort")
			printf "total: passed %d, failed %d, skipped %d\n", t["ok"], t["fail"], t["skip"]
		}' "$out/results.tsv"
} >"$out/summary.txt"
cat "$out/summary.txt"
