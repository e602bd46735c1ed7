# shellcheck shell=bash
# The host side of every UML run (tests/uml/run.sh, tests/uml/systemd/run.sh), sourced by both.

# uml_boot REPO RESULTS TIMEOUT LABEL KERNEL-ARG...: build the XSAVE shim if needed, boot `linux` with the arguments
# (the caller gives rootflags=/ ro and its init=), its console into RESULTS/console.log, and wait for it to power off
# or for TIMEOUT seconds. Sets timed_out (1 when it was killed), start and end (times, for the elapsed time).
# shellcheck disable=SC2034 # timed_out, start, end: for the caller
uml_boot() {
	local repo=$1 results=$2 timeout_s=$3 label=$4 shim deadline
	shift 4
	# UML 6.1 cannot restore FPU state on hosts with a large XSAVE area (AVX-512,
	# AMX): see xstate-shim.c. The shim is a no-op where UML's buffer suffices.
	shim=$repo/build/uml/xstate-shim.so
	mkdir -p "$repo/build/uml"
	if [[ ! -f $shim || $repo/tests/uml/xstate-shim.c -nt $shim ]]; then
		gcc -Wall -Wextra -Werror -O2 -shared -fPIC -o "$shim.tmp.$$" "$repo/tests/uml/xstate-shim.c" -ldl
		mv "$shim.tmp.$$" "$shim"
	fi

	start=$(date +%s.%N)
	# setsid: the UML kernel spawns several host processes; a process group of
	# their own lets a timeout kill all of them and nothing else.
	LD_PRELOAD=$shim setsid linux "$@" </dev/null >"$results/console.log" 2>&1 &
	uml_pid=$!
	trap 'uml_kill; exit 130' INT TERM
	trap uml_kill EXIT

	timed_out=0
	deadline=$(($(date +%s) + timeout_s))
	while kill -0 "$uml_pid" 2>/dev/null; do
		if (($(date +%s) >= deadline)); then
			timed_out=1
			echo "# $label: timeout after ${timeout_s}s, killing process group $uml_pid"
			kill -TERM -- "-$uml_pid" 2>/dev/null || true
			break
		fi
		# Poll the kernel's exit; wait(1) cannot time out by itself.
		sleep 0.2
	done
	wait "$uml_pid" 2>/dev/null || true
	# The helper processes (UML's I/O threads) normally exit with the kernel.
	uml_kill
	trap - INT TERM EXIT
	end=$(date +%s.%N)
}

uml_kill() { kill -KILL -- "-$uml_pid" 2>/dev/null || true; }

# uml_report LABEL WHAT: after uml_boot, the wall time and when WHAT (the guest's tests) started, then the guest's log;
# sets status to the guest's reported status, empty when it reported none.
uml_report() {
	local elapsed
	elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	echo "# $1: total ${elapsed}s, $2 started at $(cat "$results/boot-time" 2>/dev/null || echo '?')s guest uptime"
	touch "$results/guest.log"
	cat "$results/guest.log"
	status=$(cat "$results/status" 2>/dev/null || true)
}
