#!/usr/bin/env bash
# make test-systemd: boot User-mode Linux with a real systemd 252 as PID 1 (pure cgroup v2) and run
# tests/uml/systemd/checks.sh inside it, once for ./rt and once for runc v1.5.3 (scripts/peers.sh), in one boot.
#
# Environment:
#   RUNTIMES      runtimes to check, space-separated (default: <repo>/rt and runc v1.5.3)
#   UML_TIMEOUT   seconds before the guest is killed (default 900, a safety stop; a run takes 1-8 minutes)
#   UML_RESULTS   results directory (default a new build/uml-systemd/run.XXXXXX)
#   UML_VERBOSE   1: show every check's diagnostics, not only the failures
#
# Safety (shared/notes/uml.md, DANGER): the guest boots with a read-only hostfs root, init.sh builds a tmpfs
# overlay over it and pivots into it before systemd starts, and the only host path the guest can write is the
# results directory, mounted at /uml-results (never under /tmp, which systemd's tmpfiles would empty).
# Exit status: 0 all passed, 1 some failed, 124 timeout, 125 the guest never reported.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=tests/uml/lib/boot.sh
. "$here/../lib/boot.sh"
command -v linux >/dev/null || { echo "run.sh: 'linux' (Debian user-mode-linux) is not installed" >&2; exit 1; }
[[ -x /lib/systemd/systemd ]] || { echo "run.sh: /lib/systemd/systemd is not installed" >&2; exit 1; }

runtimes=${RUNTIMES:-"$repo/rt $("$repo/scripts/peers.sh" runc)"}
abs=()
for r in $runtimes; do
	[[ $r == */* ]] || r=$(command -v "$r") || { echo "run.sh: runtime not found" >&2; exit 1; }
	r=$(realpath "$r")
	[[ -x $r ]] || { echo "run.sh: runtime $r is not executable" >&2; exit 1; }
	abs+=("$r")
done
probe=$repo/build/probe
[[ -x $probe ]] || { echo "run.sh: $probe missing (make probe)" >&2; exit 1; }
timeout_s=${UML_TIMEOUT:-900}

if [[ -n ${UML_RESULTS:-} ]]; then
	mkdir -p "$UML_RESULTS"
	results=$(realpath "$UML_RESULTS")
else
	mkdir -p "$repo/build/uml-systemd"
	results=$(mktemp -d "$repo/build/uml-systemd/run.XXXXXX")
fi
[[ $results != *[[:space:]]* ]] || { echo "run.sh: results path has spaces: $results" >&2; exit 1; }
rm -f "$results/status" "$results/guest.log"
{
	printf 'RUNTIMES=%q\n' "${abs[*]}"
	printf 'PROBE=%q\n' "$probe"
	printf 'REPO=%q\n' "$repo"
	printf 'VERBOSE=%q\n' "${UML_VERBOSE:-0}"
} >"$results/env"
mkdir -p "$results/uml"

echo "# uml-systemd: runtimes ${abs[*]}, results $results"
# uml_dir: UML's own files, else ~/.uml; TMPDIR: the guest's memory file.
TMPDIR=/dev/shm uml_boot "$repo" "$results" "$timeout_s" uml-systemd mem=1G rootfstype=hostfs rootflags=/ ro \
	"init=$here/init.sh" pty.legacy_count=0 con=null ssl=null selinux=0 "uml_dir=$results/uml" "rtuml_results=$results" \
	systemd.unified_cgroup_hierarchy=1 systemd.log_target=console systemd.log_level=warning \
	systemd.journald.forward_to_console=0 fstab=no luks=no systemd.gpt_auto=0
rm -rf "$results/uml"

uml_report uml-systemd checks
if ((timed_out)) || [[ -z $status ]]; then
	echo "not ok - guest $( ((timed_out)) && echo "timed out after ${timeout_s}s" || echo "reported no status"); console:"
	tail -n 30 "$results/console.log" | sed 's/^/#   /'
	((timed_out)) && exit 124
	exit 125
fi
exit "$status"
