#!/usr/bin/env bash
# demo.sh DIR: run one container from the bundle at DIR (scripts/mkbundle.sh makes it) with ./rt, and show
# the host's view next to the container's. RT=/usr/bin/runc scripts/demo.sh DIR shows the same with runc.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
rt=${RT:-./rt}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (a container needs namespaces, mounts and cgroups)" >&2
	exit 1
fi
if [ ! -f "$dir/config.json" ]; then
	echo "demo: $dir/config.json missing: run scripts/mkbundle.sh $dir (make bundle)" >&2
	exit 1
fi

echo "The host, as this script sees it:"
echo "  pid:        $$"
echo "  hostname:   $(hostname)"
echo "  mounts:     $(wc -l </proc/self/mountinfo)"
echo "  processes:  $(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)"
printf '  interfaces: '
for i in /sys/class/net/*; do printf '%s ' "${i##*/}"; done
echo
echo
echo "The container, from inside (\`$rt run -b $dir demo-$$\`):"
status=0
"$rt" run -b "$dir" "demo-$$" || status=$?
echo
echo "The container's shell was pid 1 of its own pid namespace and saw only its own processes; it had its own"
echo "hostname (uts namespace), its own mount table on a read-only busybox root (mount namespace, pivot_root),"
echo "and only lo (network namespace). rt ran it in the foreground, passed its status on ($status) and deleted it."
exit "$status"
