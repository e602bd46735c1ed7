# shellcheck shell=bash
# The TAP helpers of the UML guest scripts (guest.sh, lsm-guest.sh, systemd/checks.sh), sourced by each.
# Output: "ok N - LABELNAME (Ts)" / "not ok N - LABELNAME (Ts)", diagnostics as "#   ...", and tap_summary's last line
# "N passed, N failed". Set tap_label (e.g. "rt: ") before the checks of each runtime, poll_interval to poll slower.
n=0 passed=0 failed=0 skipped=0
tap_label=
poll_interval=0.05

# diag TEXT: TEXT as TAP diagnostic lines.
diag() { [[ -z $1 ]] || while IFS= read -r line; do echo "#   $line"; done <<<"$1"; }

# check NAME CMD...: one TAP line for CMD's status; CMD's output is shown as
# diagnostics when it fails, or always with UML_VERBOSE=1.
check() {
	local title=$1 out rc t0=$EPOCHREALTIME took
	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	if ((rc == 0)); then
		passed=$((passed + 1))
		echo "ok $n - $tap_label$title (${took}s)"
		[[ ${VERBOSE:-0} != 1 ]] || diag "$out"
	else
		failed=$((failed + 1))
		echo "not ok $n - $tap_label$title (${took}s)"
		diag "$out"
	fi
}

# skip NAME REASON: a TAP skip; counted apart from passes.
skip() {
	n=$((n + 1))
	skipped=$((skipped + 1))
	echo "ok $n - $tap_label$1 # SKIP $2"
}

# poll SECONDS CMD...: succeed as soon as CMD does, fail after SECONDS.
poll() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		(($(date +%s) < deadline)) || return 1
		sleep "$poll_interval"
	done
}

# expect WHAT GOT WANT: compare and explain.
expect() {
	[[ $2 == "$3" ]] && return 0
	echo "$1: got '$2', want '$3'"
	return 1
}

# tap_summary: the skip count (if any) and the last line "N passed, N failed"; status 0 when nothing failed.
tap_summary() {
	((skipped == 0)) || echo "# $skipped skipped"
	echo "$passed passed, $failed failed"
	((failed == 0))
}
