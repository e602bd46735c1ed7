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
here=${0%/init.sh}
# shellcheck source=tests/uml/lib/guest-root.sh
. "$here/../lib/guest-root.sh"

guest_setup
overlay_root "${0%/tests/uml/systemd/init.sh}"
mkdir -p "$r/uml-results"
mount --bind /tmp/results "$r/uml-results" || fail "bind results"
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

pivot_in /uml-results
echo "# init: exec systemd at $(cut -d' ' -f1 /proc/uptime)s"
exec /lib/systemd/systemd --system --unit=rt-test.target
