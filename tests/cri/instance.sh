#!/usr/bin/env bash
# instance.sh WORK HANDLER LIB...: one private containerd, registry and critest run on runtime handler HANDLER. run.sh
# starts it as the init of fresh pid, mount and network namespaces (unshare --pid --mount --net), so that every
# process it starts dies with it, and every mount, netns file, bridge and iptables rule goes with its namespaces.
# WORK holds the filled-in configuration (containerd.toml, net.d, certs.d) and receives the logs and critest's
# JSON report (report.json). PATH has containerd (and its shim, which containerd finds there), crictl and critest.
set -euo pipefail

work=$1 handler=$2
shift 2 # the rest: the shared libraries of build/cri/busybox
bin=$(dirname "$0")/../../build/cri
export TMPDIR=$work/tmp

# Mounts made in here propagate only among this namespace's own mounts: the mount propagation tests need shared
# mounts, and the host sees none of them.
mount --make-rshared /
# Shim sockets, runtime state (/run/containerd), pod netns files (/run/netns) and libcni's cache (/var/lib/cni) go
# to tmpfs private to this namespace.
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
ip link set lo up

"$bin/imageserver" -addr 127.0.0.1:5000 -busybox "$bin/busybox" "$@" >"$work/registry.log" 2>&1 &
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &

crictl=(crictl --runtime-endpoint "unix://$work/containerd.sock" --timeout 10s)
for _ in $(seq 300); do
	grep -q '^serving' "$work/registry.log" && "${crictl[@]}" info >/dev/null 2>&1 && break
	sleep 0.1
done
grep -q '^serving' "$work/registry.log" || { echo "instance: the registry did not start" >&2; cat "$work/registry.log" >&2; exit 1; }
"${crictl[@]}" info >/dev/null || { echo "instance: containerd did not start" >&2; tail -20 "$work/containerd.log" >&2; exit 1; }

rc=0
# ginkgo's suite timeout bounds a hung run (a whole run takes 200-300 s here).
critest --runtime-endpoint "unix://$work/containerd.sock" --runtime-handler "$handler" --ginkgo.timeout 15m \
	--ginkgo.json-report "$work/report.json" --ginkgo.no-color >"$work/critest.log" 2>&1 || rc=$?

# Remove every pod, so that the runtime deletes its containers' cgroups (the namespaces take everything else).
"${crictl[@]}" rmp -fa >/dev/null 2>&1 || true
exit "$rc"
