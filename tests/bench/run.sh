#!/usr/bin/env bash
# make bench: build the spawner, the two floors and the driver into build/bench/bin, then run the driver
# (main.go) inside a private mount namespace. See tests/bench/README.md.
#
# Environment:
#   RT                 the runtime in rt's column (default ./rt); RT=/usr/bin/crun is the sanity check
#   RT2, RT2_LABEL     a second rt in its own column (another branch's build), and its header
#   RUNC, RUNC2, CRUN  runc 1.1.5, runc v1.5.3, crun (defaults: /usr/sbin/runc, build/peers/..., /usr/bin/crun)
#   BENCH_ROUNDS       measured rounds (default 30), BENCH_WARMUP unmeasured ones first (default 2)
#   BENCH_SEED         the seed of the runtimes' random order (default: from the clock; the run prints it)
#   BENCH_OPS          comma-separated operations (default all: run,lifecycle,exec,state,list,start,delete,
#                      kill,batch,list100,state100,version)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/bench
bin=$out/bin

[ "$(id -u)" = 0 ] || {
	echo "bench: must run as root" >&2
	exit 1
}
[ -d "$repo/build/bundle/rootfs" ] || "$repo/scripts/mkbundle.sh" "$repo/build/bundle" >/dev/null
mkdir -p "$bin"
gcc -Wall -Wextra -Werror -O2 -static -o "$bin/spawn" "$here/csrc/spawn.c"
gcc -Wall -Wextra -Werror -O2 -static -o "$bin/floor" "$here/csrc/floor.c"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin/gofloor" ./tests/bench/gofloor)
(cd "$repo" && go build -o "$bin/bench" ./tests/bench)

cd "$repo"
exec unshare -m --propagation private -- "$bin/bench" \
	-rounds "${BENCH_ROUNDS:-30}" -warmup "${BENCH_WARMUP:-2}" -ops "${BENCH_OPS:-}" -seed "${BENCH_SEED:-0}" \
	-host-mntns "$(readlink /proc/self/ns/mnt)" -out "$out" -bin "$bin" -rootfs "$repo/build/bundle/rootfs" \
	-rt "${RT:-$repo/rt}" -rt2 "${RT2:-}" -rt2-label "${RT2_LABEL:-rt2}" -runc "${RUNC:-/usr/sbin/runc}" \
	-runc2 "${RUNC2:-$repo/build/peers/runc-v1.5.3/runc}" -crun "${CRUN:-/usr/bin/crun}"
