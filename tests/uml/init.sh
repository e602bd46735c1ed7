#!/bin/sh
# PID 1 of the User-mode Linux guest booted by tests/uml/run.sh. Never a distro
# init: with hostfs the guest sees the host's real files (shared/notes/uml.md,
# DANGER), so this script only mounts, pivots and runs tests/uml/guest.sh (or
# the script named by rtuml_guest= on the kernel command line, e.g. lsm-guest.sh).
# The safety layers (read-only hostfs root, overlay root, one writable results
# directory, tmpfs on /tmp, /run, /var/tmp) are lib/guest-root.sh's; the results
# directory is bound at its own path in the new root.
here=${0%/*} # $0 is absolute (init=)
# shellcheck source=tests/uml/lib/guest-root.sh
. "$here/lib/guest-root.sh"

guest_setup
echo "# init: results mounted at $(cut -d' ' -f1 /proc/uptime)s"

overlay_root "${0%/tests/uml/init.sh}"
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts" || fail "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm" || fail "mount /dev/shm"
# nsdelegate: a cgroup namespace is a delegation boundary, as systemd mounts it.
mount -t cgroup2 -o nsdelegate cgroup2 "$r/sys/fs/cgroup" || fail "mount cgroup2"
# Last, so no tmpfs above can hide it (UML_RESULTS may be under /tmp).
mount --bind /tmp/results "$r$results" || fail "bind results"
pivot_in "$results"

"$here/$guest" "$results"
echo $? >"$results/status"
poweroff_now
