#!/bin/sh
# PID 1 of the User-mode Linux guest booted by tests/uml/run.sh. Never a distro
# init: with hostfs the guest sees the host's real files (shared/notes/uml.md,
# DANGER), so this script only mounts, pivots and runs tests/uml/guest.sh (or
# the script named by rtuml_guest= on the kernel command line, e.g. lsm-guest.sh).
#
# Safety, in layers:
#   1. run.sh boots with `rootflags=/ ro`: the hostfs root is read-only, so a
#      stray write fails (EROFS) instead of landing on the host.
#   2. The root the tests see is an overlay: hostfs / as the lower layer, a
#      tmpfs as upper, so every write is copy-on-write into guest memory.
#   3. Exactly one host directory is writable: the results directory named by
#      rtuml_results= on the kernel command line, mounted with its own hostfs
#      superblock at the same path.
#   4. tmpfs on /tmp, /run, /var/tmp and a devtmpfs /dev inside the new root.
# Power off with sysrq 'o' (busybox poweroff writes the host's wtmp).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	# sysrq poweroff is asynchronous; PID 1 must not exit (kernel panic).
	while :; do sleep 60; done
}

mount -t proc proc /proc || poweroff_now

results=
guest=guest.sh
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	rtuml_results=/*) results=${arg#rtuml_results=} ;;
	rtuml_guest=*/*) ;; # a script of tests/uml only (run.sh checks it too)
	rtuml_guest=?*) guest=${arg#rtuml_guest=} ;;
	esac
done
[ -n "$results" ] || poweroff_now

# The results directory first, so every later failure is logged; then the
# upper layer and the new root, in a tmpfs over the (read-only) /tmp.
mount -t tmpfs -o mode=0755 tmpfs /tmp || poweroff_now
mkdir /tmp/results /tmp/upper /tmp/work /tmp/root
mount -t hostfs -o "$results" none /tmp/results || poweroff_now
exec >>/tmp/results/guest.log 2>&1
echo "# init: results mounted at $(cut -d' ' -f1 /proc/uptime)s"

out=/tmp/results
fail() {
	echo "# init: $*"
	echo 125 >"$out/status"
	poweroff_now
}

kver=$(uname -r)
busybox insmod "/usr/lib/uml/modules/$kver/kernel/fs/overlayfs/overlay.ko" || fail "insmod overlay"
r=/tmp/root
mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work "$r" || fail "mount overlay"
mount -t proc proc "$r/proc" || fail "mount proc"
mount -t sysfs sysfs "$r/sys" || fail "mount sysfs"
mount -t devtmpfs devtmpfs "$r/dev" || fail "mount devtmpfs"
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts" || fail "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm" || fail "mount /dev/shm"
# A fresh tmpfs hides what the host has there; but not when the checkout (this script, the runtime, the probe) lives
# below it, as a CI clone in /tmp does: the overlay already keeps every write in guest memory.
repo=${0%/tests/uml/init.sh} # $0 is absolute (init=); /tmp is already covered here, so no cd
for d in /tmp /run /var/tmp; do
	case "$repo/" in
	"$d"/*) continue ;;
	esac
	mount -t tmpfs -o mode=1777 tmpfs "$r$d" || fail "mount tmpfs $d"
done
chmod 0755 "$r/run"
# nsdelegate: a cgroup namespace is a delegation boundary, as systemd mounts it.
mount -t cgroup2 -o nsdelegate cgroup2 "$r/sys/fs/cgroup" || fail "mount cgroup2"
mkdir -p "$r/lib/modules/$kver"
mount --bind "/usr/lib/uml/modules/$kver" "$r/lib/modules/$kver" || fail "bind modules"
# Last, so no tmpfs above can hide it (UML_RESULTS may be under /tmp).
mount --bind /tmp/results "$r$results" || fail "bind results"

cd "$r" || fail "cd new root"
mkdir -p .oldroot
pivot_root . .oldroot || fail "pivot_root"
out=$results
umount -l /.oldroot || fail "umount old root"
cd / || fail "cd /"

here=$(dirname "$0")
"$here/$guest" "$results"
echo $? >"$results/status"
poweroff_now
