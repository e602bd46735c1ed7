#!/usr/bin/env bash
# make bench-profile: where the time of `rt run` of /bin/true goes, into build/bench/profile/summary.md.
# PROFILE_OP=exec profiles `rt exec` of /bin/true into a running container instead (perf stat against crun's exec),
# into build/bench/profile-exec/summary.md.
#   - for run: rt against the Go floor, line by line (bench perfcompare): rt's processes paired with the floor's,
#     per phase the CPU and faults of both and their difference, what rt's part of the large ones went to, and
#     the sum against perf stat's totals
#   - perf record -g (cpu-clock: the only events this VM gives) of every process of each run, split by process
#     (the command; the bootstrap, rt's sealed copy whose nsenter constructor clones `rt init` and exits; `rt init`;
#     /bin/true) and phase (execve, Go start-up, package init, main, exit...), with rt's
#     heaviest functions; the same for page faults (the page-faults software event); the same for the Go floor
#   - perf stat of rt run against the two floors of make bench
#   - GODEBUG=inittrace=1: package initialisation before main, in both processes
#   - strace -f -c: the syscalls of both processes, and how many threads and execs
# rt is rebuilt with its symbol table (no -s -w; the loaded image is the same) into build/bench/rt-sym, unless
# RT names another binary. Root; perf from linux-perf (make deps). PROFILE_RUNS runs each (default 20).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
op=${PROFILE_OP:-run}
case $op in
run) out=$repo/build/bench/profile ;;
exec) out=$repo/build/bench/profile-exec ;;
*)
	echo "bench-profile: PROFILE_OP is run or exec, not $op" >&2
	exit 1
	;;
esac
bin=$repo/build/bench/bin
runs=${PROFILE_RUNS:-20}

if [ "${1:-}" != __inner ]; then
	[ "$(id -u)" = 0 ] || {
		echo "bench-profile: must run as root" >&2
		exit 1
	}
	command -v perf >/dev/null || {
		echo "bench-profile: perf not found (make deps installs linux-perf)" >&2
		exit 1
	}
	[ -d "$repo/build/bundle/rootfs" ] || "$repo/scripts/mkbundle.sh" "$repo/build/bundle" >/dev/null
	mkdir -p "$bin" "$out"
	gcc -Wall -Wextra -Werror -O2 -static -o "$bin/spawn" "$here/csrc/spawn.c"
	gcc -Wall -Wextra -Werror -O2 -static -o "$bin/floor" "$here/csrc/floor.c"
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin/gofloor" ./tests/bench/gofloor)
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$repo/build/bench/gofloor-sym" ./tests/bench/gofloor)
	(cd "$repo" && go build -o "$bin/bench" ./tests/bench)
	rt=${RT:-}
	if [ -z "$rt" ]; then
		tags=$(sed -n 's/^GOTAGS := //p' "$repo/Makefile")
		exp=$(sed -n 's/^RT_GOEXPERIMENT := //p' "$repo/Makefile")
		# The summary's `rt --version` line names the commit profiled, as make rt's does.
		commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
		(cd "$repo" && CGO_ENABLED=1 GOEXPERIMENT=$exp go build -trimpath -tags "$tags" \
			-ldflags "-X main.commit=$commit -extldflags '-static'" -o "$repo/build/bench/rt-sym" .)
		rt=$repo/build/bench/rt-sym
	fi
	exec unshare -m --propagation private -- "$0" __inner "$(realpath "$rt")"
fi

# Inside the private mount namespace: crun's view of the host (no cgroup2 mount), roots on a tmpfs.
rt=$2
if mountpoint -q /sys/fs/cgroup/unified; then
	umount -l /sys/fs/cgroup/unified
	mount -t tmpfs tmpfs /sys/fs/cgroup/unified
fi
work=$(mktemp -d /tmp/rt-profile.XXXXXX)
mount -t tmpfs tmpfs "$work"
crun=${CRUN:-/usr/bin/crun}
cleanup() {
	local id
	for id in $("$rt" --root "$work/root" list -q 2>/dev/null); do "$rt" --root "$work/root" delete -f "$id"; done
	[ "$op" != exec ] || "$crun" --root "$work/crun" delete -f prof-crun-up >/dev/null 2>&1 || true
	umount -l "$work"
	rmdir "$work"
}
trap cleanup EXIT
bundle=$work/bundle
mkdir -p "$bundle"
/usr/sbin/runc spec --bundle "$bundle"
jq --arg root "$repo/build/bundle/rootfs" '.process.args = ["/bin/true"] | .process.terminal = false | .root.path = $root' \
	"$bundle/config.json" >"$bundle/c.json"
mv "$bundle/c.json" "$bundle/config.json"
rootfs=$repo/build/bundle/rootfs
if [ "$op" = exec ]; then
	# The running container that every exec enters (ids carry the runtime: each makes /<id> in every hierarchy).
	sleeper=$work/sleeper
	mkdir -p "$sleeper"
	jq '.process.args = ["/bin/sleep", "1000000"]' "$bundle/config.json" >"$sleeper/config.json"
	"$rt" --root "$work/root" run -d --bundle "$sleeper" prof-rt-up </dev/null >/dev/null
	"$crun" --root "$work/crun" run -d --bundle "$sleeper" prof-crun-up </dev/null >/dev/null
fi
rm -rf "${out:?}"/*
mkdir -p "$out/perf"

# rt_args ID: rt's arguments for one measured command: run of /bin/true as ID, or exec of /bin/true into the
# running container (ID unused).
rt_args() {
	if [ "$op" = exec ]; then
		args=(--root "$work/root" exec prof-rt-up /bin/true)
	else
		args=(--root "$work/root" run --bundle "$bundle" "$1")
	fi
}
run_rt() { # run_rt ID [PREFIX...]: one measured command under spawn, prefixed by a profiler
	rt_args "$1"
	shift
	"$@" "$bin/spawn" -o /dev/null "$rt" "${args[@]}"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
# The measurements first, then the summary, which opens with the comparison of all of them.
for i in $(seq "$runs"); do
	run_rt "cpu$i" perf record -q -e cpu-clock -F 20000 -g -o "$out/perf/cpu$i.data" -- >/dev/null 2>&1
	perf script -i "$out/perf/cpu$i.data" -F comm,pid,period,event,ip,sym >"$out/perf/cpu$i.txt" 2>/dev/null
	run_rt "pf$i" perf record -q -e page-faults -c 1 -g -o "$out/perf/pf$i.data" -- >/dev/null 2>&1
	perf script -i "$out/perf/pf$i.data" -F comm,pid,period,event,ip,sym >"$out/perf/pf$i.txt" 2>/dev/null
done
gofloor=$repo/build/bench/gofloor-sym
for i in $(seq "$runs"); do
	[ "$op" = run ] || break
	perf record -q -e cpu-clock -F 20000 -g -o "$out/perf/gcpu$i.data" -- "$bin/spawn" -o /dev/null "$gofloor" "$rootfs" >/dev/null 2>&1
	perf script -i "$out/perf/gcpu$i.data" -F comm,pid,period,event,ip,sym >"$out/perf/gcpu$i.txt" 2>/dev/null
	perf record -q -e page-faults -c 1 -g -o "$out/perf/gpf$i.data" -- "$bin/spawn" -o /dev/null "$gofloor" "$rootfs" >/dev/null 2>&1
	perf script -i "$out/perf/gpf$i.data" -F comm,pid,period,event,ip,sym >"$out/perf/gpf$i.txt" 2>/dev/null
done
if [ "$op" = run ]; then
	compare=(rt floor gofloor)
else
	compare=(rt crun)
fi
for what in "${compare[@]}"; do
	rt_args stat
	case $what in
	rt) cmd=("$rt" "${args[@]}") ;;
	crun) cmd=("$crun" --root "$work/crun" exec prof-crun-up /bin/true) ;;
	*) cmd=("$bin/$what" "$rootfs") ;;
	esac
	perf stat -r "$runs" -e task-clock,page-faults,context-switches,cpu-migrations -- "${cmd[@]}" 2>"$out/stat-$what.txt" >/dev/null
done
rt_args inittrace
GODEBUG=inittrace=1 "$rt" "${args[@]}" 2>"$out/inittrace.txt" >/dev/null || true
rt_args strace-c
strace -f -c -o "$out/strace.txt" "$rt" "${args[@]}" >/dev/null 2>&1 || true
rt_args strace-p
strace -f -qq -e trace=clone,clone3,execve,execveat,vfork,fork -o "$out/strace-procs.txt" \
	"$rt" "${args[@]}" >/dev/null 2>&1 || true

{
	echo "# make bench-profile: $started"
	echo
	echo "Machine: $(hostname), $(nproc) CPUs, kernel $(uname -r), load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "rt: \`$rt\` ($("$rt" --version | head -2 | tr '\n' ' ')). Bundle: \`runc spec\`'s config running /bin/true."
	echo
	if [ "$op" = run ]; then
		"$bin/bench" perfcompare -name "rt $op" -binary "$rt" -cpu "$out/perf/cpu[0-9]*.txt" -faults "$out/perf/pf[0-9]*.txt" \
			-stat "$out/stat-rt.txt" -floor-name gofloor -floor-binary "$gofloor" -floor-cpu "$out/perf/gcpu*.txt" \
			-floor-faults "$out/perf/gpf*.txt" -floor-stat "$out/stat-gofloor.txt"
	fi
	echo "## Where the time of \`rt $op\` goes: perf record -g, by process and phase"
	echo
	"$bin/bench" perfsplit -name "rt $op" -binary "$rt" -unit ms -title "CPU (cpu-clock samples at 20 kHz)" "$out"/perf/cpu[0-9]*.txt
	"$bin/bench" perfsplit -name "rt $op" -binary "$rt" -unit faults -title "Page faults (every one)" "$out"/perf/pf[0-9]*.txt
	if [ "$op" = run ]; then
		echo "## The Go floor, the same way (what rt's processes are compared with)"
		echo
		"$bin/bench" perfsplit -name gofloor -binary "$gofloor" -unit ms -title "Go floor: CPU" "$out"/perf/gcpu*.txt
		"$bin/bench" perfsplit -name gofloor -binary "$gofloor" -unit faults -title "Go floor: page faults" "$out"/perf/gpf*.txt
		echo "## perf stat: rt run against the floors ($runs runs each)"
	else
		echo "## perf stat: rt exec against crun's exec ($runs runs each)"
	fi
	echo
	echo '```'
	for what in "${compare[@]}"; do
		echo "== $what"
		grep -E 'task-clock|page-faults|context-switches|migrations|elapsed' "$out/stat-$what.txt"
	done
	echo '```'
	echo
	echo "## GODEBUG=inittrace=1: package initialisation before main (every process of one run that keeps the variable)"
	echo
	awk '$1 == "init" { n++; ms += $5; if ($2 == "runtime") p++; if ($5 > 0.02) top = top sprintf("| %s | %.3f | %s B, %s allocs |\n", $2, $5, $8, $10) }
		END { printf "%d package inits in %d process(es), %.2f ms of clock in all. Those over 0.02 ms:\n\n| package | ms | allocated |\n|---|---|---|\n%s", n, p, ms, top }' \
		"$out/inittrace.txt"
	echo
	echo "## strace -f -c: syscalls of one \`rt $op\` (both processes; strace slows it, counts are what matter)"
	echo
	echo "Threads and processes created: $(grep -cE 'clone3?\(' "$out/strace-procs.txt") clone calls" \
		"($(grep -E 'clone3?\(' "$out/strace-procs.txt" | grep -c CLONE_THREAD) threads), $(grep -cE 'execve(at)?\(' "$out/strace-procs.txt") execs."
	echo
	echo '```'
	head -n 30 "$out/strace.txt"
	echo '```'
} >"$out/summary.md"
rm -f "$out"/perf/*.data
echo "bench-profile: $out/summary.md"
