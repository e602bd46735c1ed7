#!/usr/bin/env bash
# A private Docker Engine for tests/managers/run.sh: containerd and dockerd, run inside the private network and mount
# namespaces that run.sh makes for it (`unshare --net --mount --propagation private`), all state under DIR.
#
#   unshare --net --mount --propagation private tests/managers/docker-engine.sh DIR
#
# DIR/containerd.toml is containerd's config; DIR/dockerd.args holds dockerd's arguments, one a line. dockerd is
# started again with the arguments then in that file each time it exits (a restart is a SIGTERM to the pid in
# DIR/dockerd.pid), until DIR/stop exists; then containerd is stopped too and the namespaces go with the last process.
set -u
dir=$1

# dockerd 20.10 writes /etc/docker/key.json and /run/docker/plugins and has no flag to move them: private tmpfs
# instances, seen only in this mount namespace. --userns-remap looks the user's subordinate ranges up in
# /etc/subuid and /etc/subgid (the subgid line by the user's name too): private copies, bound over the host's.
mount -t tmpfs -o mode=0755 tmpfs /etc/docker || exit 1
mount -t tmpfs -o mode=0755 tmpfs /run || exit 1
mount --bind "$dir/subuid" /etc/subuid || exit 1
mount --bind "$dir/subgid" /etc/subgid || exit 1
ip link set lo up || exit 1

containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 &
containerd_pid=$!
trap 'kill "$containerd_pid" 2>/dev/null; wait "$containerd_pid"' EXIT
for _ in $(seq 200); do
	[ -S "$dir/containerd/containerd.sock" ] && break
	sleep 0.05
done

# At most 10 starts: a dockerd that cannot start must not spin.
for _ in $(seq 10); do
	[ -e "$dir/stop" ] && break
	mapfile -t args <"$dir/dockerd.args"
	dockerd "${args[@]}" >>"$dir/dockerd.log" 2>&1
done
