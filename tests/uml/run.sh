#!/usr/bin/env bash
# make test-cgroupv2: boot User-mode Linux (a pure cgroup v2 kernel) and run the
# cgroup enforcement checks of tests/uml/guest.sh inside it, against $RUNTIME.
#
#   RUNTIME=/usr/bin/runc tests/uml/run.sh     # default RUNTIME: ./rt
#
# Environment:
#   RUNTIME       runtime under test (default <repo>/rt), made absolute
#   UML_TIMEOUT   seconds before the guest is killed (default 420)
#   UML_MEM       guest memory (default 1G)
#   UML_RESULTS   results directory (default a new build/uml/<runtime>.XXXXXX)
#   UML_VERBOSE   1: show every check's diagnostics, not only the failures
#   UML_GUEST     the checks to run: a script in tests/uml (default guest.sh)
#   UML_KARGS     more kernel arguments (e.g. lsm=apparmor for tests/uml/lsm.sh)
#   RTUML_*       passed to the guest's script as they are, through $results/env
#
# The guest's root is a read-only hostfs view of / under a tmpfs overlay (see
# init.sh); the only host path it can write is the results directory. Exit
# status: the guest's (0 all passed, 1 some failed), 124 on timeout, 125 when
# the guest never reported a status.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/uml/lib/boot.sh
. "$here/lib/boot.sh"

runtime=${RUNTIME:-$repo/rt}
if [[ $runtime != */* ]]; then
	runtime=$(command -v "$runtime") || { echo "run.sh: runtime $RUNTIME not found" >&2; exit 1; }
fi
runtime=$(realpath "$runtime")
[[ -x $runtime ]] || { echo "run.sh: runtime $runtime is not executable" >&2; exit 1; }
timeout_s=${UML_TIMEOUT:-420}
mem=${UML_MEM:-1G}
guest=${UML_GUEST:-guest.sh}
[[ $guest != */* && -x $here/$guest ]] || { echo "run.sh: UML_GUEST $guest is not a script in $here" >&2; exit 1; }
read -r -a kargs <<<"${UML_KARGS:-}"
command -v linux >/dev/null || { echo "run.sh: 'linux' (Debian user-mode-linux) is not installed" >&2; exit 1; }

if [[ -n ${UML_RESULTS:-} ]]; then
	results=$UML_RESULTS
	mkdir -p "$results"
	results=$(realpath "$results")
else
	mkdir -p "$repo/build/uml"
	results=$(mktemp -d "$repo/build/uml/$(basename "$runtime").XXXXXX")
fi
# The guest parses the kernel command line on whitespace.
[[ $results != *[[:space:]]* ]] || { echo "run.sh: results path has spaces: $results" >&2; exit 1; }
rm -f "$results/status" "$results/guest.log"

# The guest reads its parameters from this file (sourced by guest.sh).
{
	printf 'RUNTIME=%q\n' "$runtime"
	printf 'VERBOSE=%q\n' "${UML_VERBOSE:-0}"
	for v in "${!RTUML_@}"; do
		printf '%s=%q\n' "$v" "${!v}"
	done
} >"$results/env"

echo "# uml: runtime $runtime, results $results"
uml_boot "$repo" "$results" "$timeout_s" uml "mem=$mem" rootfstype=hostfs rootflags=/ ro "init=$here/init.sh" \
	pty.legacy_count=0 con=null "rtuml_results=$results" "rtuml_guest=$guest" "${kargs[@]}"

uml_report uml tests

# A normal run ends with the guest's own "N passed, N failed" line; otherwise
# count what did run and add the missing finish as one failure.
if ((timed_out)) || [[ -z $status ]]; then
	if ((timed_out)); then
		echo "not ok - guest timed out after ${timeout_s}s (console log: $results/console.log)"
	else
		echo "not ok - guest reported no status; console log:"
		tail -n 20 "$results/console.log" | sed 's/^/#   /'
	fi
	okn=$(grep -c '^ok ' "$results/guest.log" | tr -d '\n' || true)
	skn=$(grep -c '^ok .* # SKIP' "$results/guest.log" | tr -d '\n' || true)
	nokn=$(grep -c '^not ok ' "$results/guest.log" | tr -d '\n' || true)
	echo "$((okn - skn)) passed, $((nokn + 1)) failed"
	if ((timed_out)); then exit 124; fi
	exit 125
fi
exit "$status"
