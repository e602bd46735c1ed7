#!/usr/bin/env bash
# rt against runc and crun, side by side: wall time of `run` of /bin/true and of create+start+delete, with
# hyperfine, and the peak RSS of the runtime process. See tests/bench/README.md.
#
# Usage: tests/bench/run.sh
# Environment:
#   RT, RUNC, CRUN     the runtimes (default ./rt, runc and crun from PATH); a missing one is reported as failed
#   BENCH_RUNS         timed iterations per runtime and operation (default 200)
#   BENCH_WARMUP       untimed iterations first (default 5)
#   BENCH_LIFECYCLE=0  skip the create+start+delete measurement
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/bench

die() {
	echo "bench: $*" >&2
	exit 1
}

# make_bundle writes a busybox bundle whose process is /bin/true to $1, owned by the benchmark so it does not
# depend on scripts/mkbundle.sh. The config is the usual default set (runc spec's namespaces and mounts) so
# that every runtime does its normal amount of work; ociVersion 1.0.2 is one all three accept.
make_bundle() {
	local dir=$1
	rm -rf "$dir"
	mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/tmp"
	cp /bin/busybox "$dir/rootfs/bin/busybox"
	ln -s busybox "$dir/rootfs/bin/true"
	ln -s busybox "$dir/rootfs/bin/sh"
	cat >"$dir/config.json" <<'JSON'
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": {"uid": 0, "gid": 0},
		"args": ["/bin/true"],
		"env": ["PATH=/bin"],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "bench",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
	],
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
		"maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
			"/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
		"readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
	}
}
JSON
}

# resolve prints the absolute path of runtime $1, or nothing when it is missing.
resolve() {
	case $1 in
	*/*) [ -x "$1" ] && realpath -e "$1" ;;
	*) command -v "$1" ;;
	esac
}

# lifecycle is one create+start+delete of container $4 by runtime $1 with root $2 and bundle $3. /bin/true
# may still be exiting when start returns, so delete is --force (what a manager does after a short job).
lifecycle() {
	"$1" --root "$2" create --bundle "$3" "$4" >/dev/null
	"$1" --root "$2" start "$4"
	"$1" --root "$2" delete --force "$4"
}

# measure NAME RUNTIME: smoke-test, time and size one runtime, appending "name op mean median stddev min max"
# rows to $work/rows and "name rss" to $work/rss, or "name FAILED reason" to $work/failed.
measure() {
	local name=$1 rt=$2 root=$work/root-$1 err=
	mkdir -p "$root"
	if [ -z "$rt" ]; then
		echo "$name not found" >>"$work/failed"
		return 0
	fi
	# A smoke run first: a runtime that cannot run the bundle is reported, not timed.
	local rc=0
	err=$("$rt" --root "$root" run --bundle "$bundle" "bench-$name" 2>&1 </dev/null) || rc=$?
	if [ "$rc" -ne 0 ]; then
		"$rt" --root "$root" delete --force "bench-$name" >/dev/null 2>&1 || true
		echo "$name run exit $rc: $(printf '%s' "$err" | tr '\n' ' ' | cut -c1-100)" >>"$work/failed"
		return 0
	fi
	hyperfine --style none --shell=none --warmup "$warmup" --runs "$runs" \
		--export-csv "$work/$name-run.csv" \
		"$rt --root $root run --bundle $bundle bench-$name" >/dev/null 2>"$work/$name-run.err" ||
		{
			echo "$name run failed under hyperfine: $(tr '\n' ' ' <"$work/$name-run.err" | cut -c1-100)" >>"$work/failed"
			return 0
		}
	row "$name" run "$work/$name-run.csv"
	if [ "$lifecycle_on" = 1 ]; then
		# hyperfine runs this through sh and subtracts the measured cost of spawning the shell.
		if hyperfine --style none --warmup "$warmup" --runs "$runs" --export-csv "$work/$name-life.csv" \
			"$0 __lifecycle $rt $root $bundle bench-life-$name" >/dev/null 2>"$work/$name-life.err"; then
			row "$name" create+start+delete "$work/$name-life.csv"
		else
			echo "$name create+start+delete failed: $(tr '\n' ' ' <"$work/$name-life.err" | cut -c1-100)" >>"$work/failed"
		fi
	fi
	# Peak RSS (ru_maxrss, getrusage(2)) of `run`, which waits for its init child, so the init's own
	# set-up counts too. Median of five runs; GNU time prints it in KiB.
	local _
	for _ in 1 2 3 4 5; do
		if /usr/bin/time -f '%M' -o "$work/time.out" "$rt" --root "$root" run --bundle "$bundle" "bench-$name" \
			>/dev/null 2>&1 </dev/null; then
			cat "$work/time.out"
		fi
	done | sort -n | awk -v n="$name" '{ v[NR] = $1 } END { if (NR) print n, v[int((NR + 1) / 2)] }' >>"$work/rss"
}

# row appends hyperfine's CSV $3 (seconds; columns command,mean,stddev,median,user,system,min,max) as
# "name op mean median stddev min max" in milliseconds.
row() {
	awk -F, -v n="$1" -v op="$2" 'NR == 2 { printf "%s %s %.2f %.2f %.2f %.2f %.2f\n", n, op, $2 * 1000, $4 * 1000, $3 * 1000, $7 * 1000, $8 * 1000 }' "$3" >>"$work/rows"
}

# report prints the table and the rt ratios from $work.
report() {
	echo
	printf '%-6s %-20s %10s %10s %9s %9s %9s %10s\n' runtime operation "mean ms" "median ms" "stddev" "min" "max" "peak RSS"
	local name op
	for op in run create+start+delete; do
		for name in rt runc crun; do
			if grep -q "^$name " "$work/failed" 2>/dev/null && ! grep -q "^$name $op " "$work/rows" 2>/dev/null; then
				printf '%-6s %-20s %s\n' "$name" "$op" "FAILED ($(grep "^$name " "$work/failed" | head -n1 | cut -d' ' -f2-))"
				continue
			fi
			awk -v n="$name" -v op="$op" -v rss="$(awk -v n="$name" '$1 == n { print $2 " KiB" }' "$work/rss" 2>/dev/null)" \
				'$1 == n && $2 == op { printf "%-6s %-20s %10s %10s %9s %9s %9s %10s\n", $1, $2, $3, $4, $5, $6, $7, (op == "run" ? rss : "") }' \
				"$work/rows" 2>/dev/null
		done
	done
	echo
	for op in run create+start+delete; do
		awk -v op="$op" '
			$2 == op { mean[$1] = $3; med[$1] = $4 }
			END {
				if (!("rt" in mean)) { printf "%-20s rt/runc and rt/crun: n/a (rt failed)\n", op; exit }
				line = sprintf("%-20s", op)
				if ("runc" in mean) line = line sprintf(" rt/runc mean %.2fx median %.2fx", mean["rt"] / mean["runc"], med["rt"] / med["runc"])
				if ("crun" in mean) line = line sprintf("   rt/crun mean %.2fx median %.2fx", mean["rt"] / mean["crun"], med["rt"] / med["crun"])
				print line
			}' "$work/rows" 2>/dev/null
	done
}

# inner runs in the private mount namespace, under the subreaper (create leaves the container's init to be
# reaped by the nearest subreaper once create exits).
inner() {
	# crun 1.8 refuses a hybrid cgroup host: hide the cgroup2 mount in this namespace only, and do so for
	# all three runtimes so that they run under the same conditions. unshare(1) made propagation private.
	if mountpoint -q /sys/fs/cgroup/unified; then
		umount /sys/fs/cgroup/unified
		mount -t tmpfs tmpfs /sys/fs/cgroup/unified
	fi
	: >"$work/rows"
	: >"$work/rss"
	: >"$work/failed"
	measure rt "$(resolve "${RT:-$repo/rt}" || true)"
	measure runc "$(resolve "${RUNC:-runc}" || true)"
	measure crun "$(resolve "${CRUN:-crun}" || true)"
	report
	cleanup
}

# cleanup deletes what a failed iteration left in the benchmark's private runtime roots.
cleanup() {
	local name rt id
	for name in rt runc crun; do
		case $name in
		rt) rt=$(resolve "${RT:-$repo/rt}" || true) ;;
		runc) rt=$(resolve "${RUNC:-runc}" || true) ;;
		crun) rt=$(resolve "${CRUN:-crun}" || true) ;;
		esac
		if [ -z "$rt" ] || [ ! -d "$work/root-$name" ]; then
			continue
		fi
		for id in $("$rt" --root "$work/root-$name" list -q 2>/dev/null); do
			"$rt" --root "$work/root-$name" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
}

case ${1:-} in
__lifecycle)
	shift
	lifecycle "$@"
	exit 0
	;;
__inner)
	work=$2 bundle=$3 runs=$4 warmup=$5 lifecycle_on=$6
	inner
	exit 0
	;;
esac

[ "$(id -u)" = 0 ] || die "must run as root"
command -v hyperfine >/dev/null || die "hyperfine not found (make deps)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
[ -x /bin/busybox ] || die "/bin/busybox not found (make deps)"
runs=${BENCH_RUNS:-200}
warmup=${BENCH_WARMUP:-5}
mkdir -p "$out/bin"
(cd "$repo" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$out/bin/subreaper" ./tests/conformance/subreaper)
bundle=$out/bundle
make_bundle "$bundle"
work=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Measure copies of the three binaries, made the same way: how a file sits in the page cache changes how many of
# its pages a fault maps (the same rt peaked at 10.0 MiB run where the linker wrote it and 7.9 MiB as a copy).
mkdir "$work/bin"
for pair in "RT:$repo/rt" "RUNC:runc" "CRUN:crun"; do
	var=${pair%%:*}
	src=$(resolve "${!var:-${pair#*:}}" || true)
	[ -n "$src" ] || continue
	copy=$work/bin/$(basename "$src")
	[ ! -e "$copy" ] || copy=$work/bin/$var
	cp "$src" "$copy"
	export "$var=$copy"
done
echo "bench: $runs runs (+$warmup warm-up) per runtime and operation, inside one private mount namespace" >&2
unshare -m -- "$out/bin/subreaper" "$here/run.sh" __inner "$work" "$bundle" "$runs" "$warmup" "${BENCH_LIFECYCLE:-1}" |
	tee "$out/results.txt"
