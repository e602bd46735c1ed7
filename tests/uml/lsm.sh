#!/usr/bin/env bash
# make test-lsm: boot User-mode Linux with AppArmor as its LSM and run the
# AppArmor checks of tests/uml/lsm-guest.sh inside it, for rt and for runc
# v1.5.3 (scripts/peers.sh), in the same boot.
#
#   tests/uml/lsm.sh                        # ./rt and runc v1.5.3
#   RUNTIMES="/usr/sbin/runc" tests/uml/lsm.sh
#
# Environment: RUNTIMES (absolute paths, space-separated), and run.sh's
# UML_TIMEOUT (default 240 here, a hang guard: the whole run takes 20-25 s on
# a quiet machine, up to 150 s on this one under load) and UML_VERBOSE. The only host path written is one
# new results directory, build/uml/lsm.XXXXXX (run.sh, init.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [[ -z ${RUNTIMES:-} ]]; then
	RUNTIMES="$repo/rt $("$repo/scripts/peers.sh" runc)"
fi
read -r -a runtimes <<<"$RUNTIMES"
for r in "${runtimes[@]}"; do
	[[ $r == /* && -x $r ]] || { echo "lsm.sh: runtime $r is not an absolute path to an executable" >&2; exit 1; }
	# The guest has fresh tmpfs there (init.sh), except over the checkout itself.
	case $r in
	"$repo"/*) ;;
	/tmp/* | /run/* | /var/tmp/*) echo "lsm.sh: runtime $r is hidden in the guest (tmpfs on /tmp, /run, /var/tmp)" >&2; exit 1 ;;
	esac
done

mkdir -p "$repo/build/uml"
# The UML kernel boots SELinux by default; AppArmor has to be asked for (shared/notes/uml.md).
RUNTIME=${runtimes[0]} RTUML_RUNTIMES="${runtimes[*]}" \
	UML_GUEST=lsm-guest.sh UML_KARGS="lsm=apparmor apparmor=1 security=apparmor" \
	UML_TIMEOUT=${UML_TIMEOUT:-240} UML_RESULTS=$(mktemp -d "$repo/build/uml/lsm.XXXXXX") \
	exec "$here/run.sh"
