#!/usr/bin/env bash
# peers.sh: build the pinned peer binaries the tests compare rt against, from the Go module proxy, once, into
# build/peers/. A peer already built is reused; the script prints the path of each peer asked for, one a line.
#
#   scripts/peers.sh runc        # -> build/peers/runc-v1.5.3/runc
#   scripts/peers.sh containerd  # -> .../containerd, .../containerd-shim-runc-v2, .../ctr
#
# Debian's runc 1.1.5 and crun 1.8.1 come from apt (scripts/deps.sh); these are the newer releases that are not
# packaged here. Each entry: name, module@version, build tags, binaries (package paths relative to the module; a
# `test:` prefix builds the package's test binary with `go test -c`, as cri-tools builds critest).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
out=$PWD/build/peers

# runc 1.5 links libpathrs only with the `libpathrs` tag, which is left out: it is not packaged here.
# containerd's btrfs snapshotter needs btrfs headers, which are not installed: `no_btrfs` leaves it out.
declare -A module=(
	[runc]=github.com/opencontainers/runc@v1.5.3
	[containerd]=github.com/containerd/containerd/v2@v2.4.2
	[cni]=github.com/containernetworking/plugins@v1.10.0
	[cri-tools]=sigs.k8s.io/cri-tools@v1.37.0
)
declare -A tags=([runc]=seccomp [containerd]=no_btrfs [cni]="" [cri-tools]="")
declare -A bins=(
	[runc]=.
	[containerd]="cmd/containerd cmd/containerd-shim-runc-v2 cmd/ctr"
	[cni]="plugins/main/loopback plugins/main/bridge plugins/ipam/host-local plugins/meta/portmap"
	[cri-tools]="cmd/crictl test:cmd/critest"
)

build() {
	local name=$1 mod=${module[$1]} dir bin src
	dir="$out/$name-${mod##*@}"
	for bin in ${bins[$name]}; do
		if [ "${bin#test:}" != "$bin" ]; then
			# A test binary cannot be `go install`ed: build it inside the downloaded module, with its go.sum.
			bin=${bin#test:}
			if [ ! -x "$dir/${bin##*/}" ]; then
				mkdir -p "$dir"
				src=$("$GO" mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
				(cd "$src" && CGO_ENABLED=1 "$GO" test -c -trimpath -tags "${tags[$name]}" -o "$dir/${bin##*/}" "./$bin") >&2
			fi
			echo "$dir/${bin##*/}"
			continue
		fi
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
