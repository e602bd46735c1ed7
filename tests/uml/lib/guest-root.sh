# shellcheck shell=sh
# The first steps of PID 1 in every UML guest (tests/uml/init.sh, tests/uml/systemd/init.sh), sourced by both. The
# guest sees the host's real files through hostfs (shared/notes/uml.md, DANGER), so, in layers:
#   1. the kernel mounts the hostfs root read-only (rootflags=/ ro, set by lib/boot.sh's callers);
#   2. guest_setup: a tmpfs on /tmp, and the one writable host path, the results directory named by rtuml_results=,
#      by its own hostfs mount at /tmp/results; the log goes there from then on;
#   3. overlay_root: the new root at $r is an overlay, hostfs / below and a tmpfs above, so every write lands in
#      guest memory; fresh tmpfs on its /tmp, /run, /var/tmp, a devtmpfs /dev, the UML modules at /lib/modules;
#   4. pivot_in: pivot_root into it and detach the old root.
# Power off with sysrq 'o' (busybox poweroff writes the host's wtmp).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	# sysrq poweroff is asynchronous; PID 1 must not exit (kernel panic).
	while :; do sleep 60; done
}

# guest_setup: sets results (rtuml_results=) and guest (rtuml_guest=, default guest.sh), mounts the results
# directory at /tmp/results and sends all output to its guest.log; fail MESSAGE from then on records status 125.
# shellcheck disable=SC2034 # guest: for init.sh
guest_setup() {
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
	out=/tmp/results
}

fail() {
	echo "# init: $*"
	echo 125 >"$out/status"
	poweroff_now
}

# overlay_root REPO: build the new root at $r (sets r and kver). REPO is the checkout: a fresh tmpfs hides what the
# host has in /tmp, /run, /var/tmp, but not when the checkout (the scripts, the runtime, the probe) lives below one,
# as a CI clone in /tmp does: the overlay already keeps every write in guest memory.
overlay_root() {
	kver=$(uname -r)
	busybox insmod "/usr/lib/uml/modules/$kver/kernel/fs/overlayfs/overlay.ko" || fail "insmod overlay"
	r=/tmp/root
	mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work "$r" || fail "mount overlay"
	mount -t proc proc "$r/proc" || fail "mount proc"
	mount -t sysfs sysfs "$r/sys" || fail "mount sysfs"
	mount -t devtmpfs devtmpfs "$r/dev" || fail "mount devtmpfs"
	for d in /tmp /run /var/tmp; do
		case "$1/" in
		"$d"/*) continue ;;
		esac
		mount -t tmpfs -o mode=1777 tmpfs "$r$d" || fail "mount tmpfs $d"
	done
	chmod 0755 "$r/run"
	mkdir -p "$r/lib/modules/$kver"
	mount --bind "/usr/lib/uml/modules/$kver" "$r/lib/modules/$kver" || fail "bind modules"
}

# pivot_in [OUT]: make $r the root and detach the old one; OUT, if given, is where fail records the status after.
pivot_in() {
	cd "$r" || fail "cd new root"
	mkdir -p .oldroot
	pivot_root . .oldroot || fail "pivot_root"
	[ -z "${1-}" ] || out=$1
	umount -l /.oldroot || fail "umount old root"
	cd / || fail "cd /"
}
