#!/usr/bin/env bash
# run.sh: critest (cri-tools v1.37.0, Kubernetes' CRI validation suite) through containerd v2.4.2's CRI plugin and
# its runc shim, on two runtime handlers: `runc` (runc v1.5.3, the reference) and `rt` (BinaryName = ./rt). Each
# handler gets its own private containerd, image registry and CNI bridge (tests/cri/instance.sh, in fresh pid, mount
# and network namespaces); the two run at the same time. It prints both tallies and every test that passes on runc
# and fails on rt, and fails when there is one.
#
#   tests/cri/run.sh            # from `make test-cri`, after `make rt`
#   RT=/tmp/rt tests/cri/run.sh # the rt handler runs /tmp/rt instead of ./rt
#   KEEP=1 tests/cri/run.sh     # keep the work directories (containerd's and the registry's logs, critest's report)
#
# critest's output for each handler is left in build/cri/critest-HANDLER.log.
set -euo pipefail

cd "$(dirname "$0")/../.."
repo=$PWD
[ "$(id -u)" = 0 ] || { echo "test-cri: needs root" >&2; exit 1; }
rt=${RT:-$repo/rt} # RT=PATH tests another build of rt
[ -x "$rt" ] || { echo "test-cri: build ./rt first (make rt)" >&2; exit 1; }

# The peers, built once from the Go module proxy (scripts/peers.sh), and the registry, built here.
mapfile -t containerd < <(scripts/peers.sh containerd)
mapfile -t cni < <(scripts/peers.sh cni)
mapfile -t critools < <(scripts/peers.sh cri-tools)
runc=$(scripts/peers.sh runc)
mkdir -p build/cri
# The images' busybox is Debian's dynamic build, unpacked here without installing it (busybox-static, which the
# other tests use, conflicts with it): the static build runs its own applet for a name even where the container
# masks that name's file, which critest's MaskedPaths test checks.
if [ ! -x build/cri/busybox ]; then
	deb=$(mktemp -d)
	(cd "$deb" && apt-get download busybox >/dev/null 2>&1 && dpkg-deb -x busybox_*.deb root)
	cp "$deb/root/bin/busybox" build/cri/busybox
	rm -rf "$deb"
fi
mapfile -t libs < <(ldd build/cri/busybox | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }')
CGO_ENABLED=0 ${GO:-go} build -trimpath -ldflags '-s -w' -o build/cri/imageserver ./tests/cri/imageserver
export PATH="${containerd[0]%/*}:${critools[0]%/*}:$PATH"

# The README's containerd 2.x configuration is tests/cri/containerd-cri.toml, word for word, and containerd parses it.
readme=$(sed -n '/^<!-- file: tests\/cri\/containerd-cri.toml -->$/,/^```$/p' README.md | sed '1,2d;$d')
[ "$readme" = "$(cat tests/cri/containerd-cri.toml)" ] ||
	{ echo "test-cri: README's containerd 2.x block differs from tests/cri/containerd-cri.toml" >&2; exit 1; }
# (containerd 2.4 migrates version 3, the format of every containerd 2.x, with a warning on stderr.)
containerd --config tests/cri/containerd-cri.toml config dump >/dev/null 2>&1 ||
	{ echo "test-cri: containerd 2.4 does not parse tests/cri/containerd-cri.toml" >&2; exit 1; }

# containerd's cgroupfs paths are /k8s.io/<id> under each controller. The runtimes remove a container's own when it
# is deleted; what an interrupted run leaves (its tasks' ids are in the instance's state) and the parents this run
# created are removed at the end.
declare -a newcg=()
for d in /sys/fs/cgroup/*/; do
	[ -d "$d/k8s.io" ] || newcg+=("$d/k8s.io")
done

declare -A work pid
cleanup() {
	local p d t
	# On an interrupted run: unshare ignores SIGINT and SIGTERM while its child runs, and dying, it takes (with
	# --kill-child) its pid namespace down, and every process of the instance with it.
	for p in "${pid[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait
	for d in "${work[@]}"; do
		for t in "$d"/state/io.containerd.runtime.v2.task/k8s.io/*/; do
			[ -d "$t" ] && { rmdir /sys/fs/cgroup/*/k8s.io/"$(basename "$t")" 2>/dev/null || true; }
		done
	done
	for d in "${newcg[@]}"; do
		rmdir "$d" 2>/dev/null || true
	done
	[ -n "${KEEP:-}" ] && return
	for d in "${work[@]}"; do
		rm -rf "$d"
	done
}
trap cleanup EXIT
# Trapped, so that they interrupt the `wait` below.
trap 'exit 130' INT
trap 'exit 143' TERM

fill() {
	sed -e "s|@WORK@|$1|g" -e "s|@RUNC@|$runc|g" -e "s|@RT@|$rt|g" -e "s|@CNI@|${cni[0]%/*}|g" "$2"
}

start=$(date +%s)
for handler in runc rt; do
	w=$(mktemp -d "/tmp/rt-cri-$handler.XXXXXX")
	work[$handler]=$w
	# containerd's state and root hold the containers' rootfs: traversable by a user-namespaced container's root,
	# as /run/containerd and /var/lib/containerd are.
	chmod 0711 "$w"
	mkdir -p "$w/net.d" "$w/tmp" "$w/opt" "$w/image-verifier"
	fill "$w" tests/cri/containerd.toml.in >"$w/containerd.toml"
	fill "$w" tests/cri/cni.conflist.in >"$w/net.d/10-critest.conflist"
	# Every registry critest pulls from is mirrored on the instance's local one; a pull the mirror cannot answer
	# falls back to the upstream, which is unreachable in the empty network namespace.
	for reg in registry.k8s.io k8s.gcr.io gcr.io; do
		mkdir -p "$w/certs.d/$reg"
		printf 'server = "https://%s"\n\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n' \
			"$reg" >"$w/certs.d/$reg/hosts.toml"
	done
	unshare --pid --mount --net --fork --kill-child --mount-proc --propagation private \
		tests/cri/instance.sh "$w" "$handler" "${libs[@]}" >"$w/instance.log" 2>&1 &
	pid[$handler]=$!
done

declare -A rc
for handler in runc rt; do
	rc[$handler]=0
	wait "${pid[$handler]}" || rc[$handler]=$?
done
pid=()

# One line per spec from critest's ginkgo JSON report: "<state>\t<name>".
results() {
	jq -r '.[].SpecReports[] | select(.LeafNodeType == "It")
		| "\(.State)\t\((.ContainerHierarchyTexts + [.LeafNodeText]) | join(" "))"' "$1" | sort
}
for handler in runc rt; do
	w=${work[$handler]}
	if [ ! -s "$w/report.json" ]; then
		echo "test-cri: no critest report for $handler (exit ${rc[$handler]}):" >&2
		tail -n 30 "$w/instance.log" "$w/critest.log" >&2 2>/dev/null || true
		exit 1
	fi
	results "$w/report.json" >"$w/results"
	cp "$w/critest.log" "build/cri/critest-$handler.log"
	printf 'critest on %-4s: %3d passed, %3d failed, %3d skipped\n' "$handler" \
		"$(grep -c '^passed' "$w/results" || true)" "$(grep -c '^failed' "$w/results" || true)" \
		"$(grep -c '^skipped' "$w/results" || true)"
done
echo "test-cri: $(($(date +%s) - start)) s"

# Tests that fail on both are the environment's (the image critest pins by an upstream digest cannot be served);
# a test that fails only on rt is an rt bug.
mapfile -t onlyrt < <(comm -12 <(sed -n 's/^passed\t//p' "${work[runc]}/results") \
	<(sed -n 's/^failed\t//p' "${work[rt]}/results"))
mapfile -t both < <(comm -12 <(sed -n 's/^failed\t//p' "${work[runc]}/results") \
	<(sed -n 's/^failed\t//p' "${work[rt]}/results"))
for t in "${both[@]}"; do
	echo "  fails on both: $t"
done
mapfile -t onlyrunc < <(comm -12 <(sed -n 's/^failed\t//p' "${work[runc]}/results") \
	<(sed -n 's/^passed\t//p' "${work[rt]}/results"))
for t in "${onlyrunc[@]}"; do
	echo "  fails only on runc: $t"
done
if [ ${#onlyrt[@]} -gt 0 ]; then
	for t in "${onlyrt[@]}"; do
		echo "FAIL only on rt: $t"
	done
	echo "test-cri: ${#onlyrt[@]} tests fail on rt that pass on runc (critest's log: build/cri/critest-rt.log)"
	exit 1
fi
echo "test-cri: ok: rt passes every test runc passes"
