#!/bin/sh
# PID 1 of the systemd guest booted by run.sh, until it execs systemd. systemd must never run on the host's real
# files (shared/notes/uml.md, DANGER: a distro init on a writable hostfs root once emptied the host's /tmp), so:
#   1. the kernel mounts the hostfs root read-only (rootflags=/ ro);
#   2. the new root is an overlay: hostfs / below, a tmpfs above, so every write lands in guest memory;
#   3. the one writable host path is the results directory, by its own hostfs mount, at /uml-results in the new
#      root (outside /tmp, /run and /var/tmp, which get fresh tmpfs mounts and which systemd may clean);
#   4. /.dockerenv is hidden in the overlay (with it systemd thinks it is in a container and ignores --unit);
#   5. the test units are written into the overlay's /etc/systemd/system; rt-test.target pulls in only
#      rt-test.service (DefaultDependencies=no), so nothing of the host's boot (udev, tmpfiles, timers) runs.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
}

mount -t proc proc /proc || poweroff_now
results=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	rtuml_results=/*) results=${arg#rtuml_results=} ;;
	esac
done
[ -n "$results" ] || poweroff_now

mount -t tmpfs -o mode=0755 tmpfs /tmp || poweroff_now
mkdir /tmp/results /tmp/upper /tmp/work /tmp/root
mount -t hostfs -o "$results" none /tmp/results || poweroff_now
exec >>/tmp/results/guest.log 2>&1
fail() {
	echo "# init: $*"
	echo 125 >/tmp/results/status
	poweroff_now
}

here=${0%/init.sh}
kver=$(uname -r)
busybox insmod "/usr/lib/uml/modules/$kver/kernel/fs/overlayfs/overlay.ko" || fail "insmod overlay"
r=/tmp/root
mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work "$r" || fail "mount overlay"
mount -t proc proc "$r/proc" || fail "mount proc"
mount -t sysfs sysfs "$r/sys" || fail "mount sysfs"
mount -t devtmpfs devtmpfs "$r/dev" || fail "mount devtmpfs"
for d in /tmp /run /var/tmp; do
	case "$here/" in
	"$d"/*) continue ;; # a checkout below it (a CI clone in /tmp) must stay visible; the overlay still holds writes
	esac
	mount -t tmpfs -o mode=1777 tmpfs "$r$d" || fail "mount tmpfs $d"
done
chmod 0755 "$r/run"
mkdir -p "$r/uml-results" "$r/lib/modules/$kver"
mount --bind /tmp/results "$r/uml-results" || fail "bind results"
mount --bind "/usr/lib/uml/modules/$kver" "$r/lib/modules/$kver" || fail "bind modules"
rm -f "$r/.dockerenv"

u=$r/etc/systemd/system
cat >"$u/rt-test.target" <<'UNIT'
[Unit]
Description=rt systemd checks
DefaultDependencies=no
Wants=rt-test.service
UNIT
cat >"$u/rt-test.service" <<UNIT
[Unit]
Description=rt systemd checks
DefaultDependencies=no
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=$here/checks.sh /uml-results
StandardOutput=append:/uml-results/guest.log
StandardError=inherit
TimeoutStartSec=infinity
UNIT

cd "$r" || fail "cd new root"
mkdir -p .oldroot
pivot_root . .oldroot || fail "pivot_root"
umount -l /.oldroot || fail "umount old root"
cd / || fail "cd /"
echo "# init: exec systemd at $(cut -d' ' -f1 /proc/uptime)s"
exec /lib/systemd/systemd --system --unit=rt-test.target
