#!/usr/bin/env bash
# peers.sh: build the pinned peer binaries the tests compare rt against, from the Go module proxy, once, into
# build/peers/. A peer already built is reused; the script prints the path of each peer asked for, one a line.
#
#   scripts/peers.sh runc        # -> build/peers/runc-v1.5.3/runc
#
# Debian's runc 1.1.5 and crun 1.8.1 come from apt (scripts/deps.sh); these are the newer releases that are not
# packaged here. Each entry: name, module@version, build tags, binaries (package paths relative to the module).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
out=$PWD/build/peers

# runc 1.5 links libpathrs only with the `libpathrs` tag, which is left out: it is not packaged here.
declare -A module=([runc]=github.com/opencontainers/runc@v1.5.3)
declare -A tags=([runc]=seccomp)
declare -A bins=([runc]=.)

build() {
	local name=$1 mod=${module[$1]} dir bin
	dir="$out/$name-${mod##*@}"
	for bin in ${bins[$name]}; do
		[ "$bin" = . ] && bin=${mod%@*} || bin=${mod%@*}/$bin
		if [ ! -x "$dir/${bin##*/}" ]; then
			mkdir -p "$dir"
			CGO_ENABLED=1 GOBIN="$dir" GOFLAGS=-mod=mod "$GO" install -trimpath -tags "${tags[$name]}" "$bin@${mod##*@}" >&2
		fi
		echo "$dir/${bin##*/}"
	done
}

[ $# -gt 0 ] || set -- "${!module[@]}"
for name in "$@"; do
	[ -n "${module[$name]:-}" ] || { echo "peers.sh: unknown peer $name (known: ${!module[*]})" >&2; exit 1; }
	build "$name"
done
