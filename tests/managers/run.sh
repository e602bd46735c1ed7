#!/usr/bin/env bash
# Real container managers driving an OCI runtime: podman (through conmon), containerd (through its runc v2 shim,
# started by ctr) and Docker Engine (dockerd + containerd + the runc v2 shim, each step with `--runtime` runc and rt,
# side by side). Every manager owns private storage, state, sockets and cgroups under one temporary directory, so
# nothing here touches another engineer's podman, containerd or Docker.
#
#   RUNTIME=/abs/path/to/runtime tests/managers/run.sh    # default: the repository's ./rt
#   RUNTIME=/usr/bin/runc tests/managers/run.sh           # prove the tests themselves against runc
#
# Other knobs: RT_MANAGERS_DRIVER=overlay|vfs (podman's storage driver), RT_MANAGERS_TRACE=FILE (keep the log of every
# runtime invocation: argv, environment, open fds), RT_MANAGERS_KEEP=1 (keep the temporary directory),
# RT_MANAGERS_TIMEOUT=30 (seconds allowed to any one manager command), RT_MANAGERS_BUDGET=480 (seconds after which the
# remaining tests fail without running, so a hanging runtime cannot hold the target for long),
# RT_MANAGERS_DOCKER_REFERENCE=/path/to/runc (the runtime Docker's steps compare against; default Debian's runc),
# RT_MANAGERS_ONLY=podman|containerd|docker (only that manager's tests, then the checks that nothing is left).
# Output: "ok N - name" / "not ok N - name" lines, diagnostics as "#" lines, then "N passed, N failed".
set -uo pipefail

# PID 1 here reaps orphans slowly, and conmon and the shim daemonize: make this shell the child subreaper so the
# orphans become our children and bash reaps them (prctl(2) PR_SET_CHILD_SUBREAPER = 36; x86_64 syscall 157).
if [ -z "${RT_MANAGERS_SUBREAPER:-}" ] && [ "$(uname -m)" = x86_64 ] && command -v perl >/dev/null; then
	export RT_MANAGERS_SUBREAPER=1
	exec perl -e 'syscall(157, 36, 1, 0, 0, 0) == 0 or die "prctl: $!\n"; exec @ARGV or die "exec: $!\n"' -- "$0" "$@"
fi

# Close the fds we inherited beyond 0-2 (a CI runner's, make's jobserver), so the trace shows only what the managers
# themselves open; 255 is bash's handle on this script.
for fd in "/proc/$$/fd"/*; do
	fd=${fd##*/}
	case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNTIME=${RUNTIME:-$repo/rt}
# Where podman's containers' state lives: the runtime's default --root (runc: /run/runc, rt: /run/rt).
runtime_root=${RT_MANAGERS_RUNTIME_ROOT:-/run/$(basename "${RUNTIME}")}
driver=${RT_MANAGERS_DRIVER:-overlay}
cmd_timeout=${RT_MANAGERS_TIMEOUT:-30}
budget=${RT_MANAGERS_BUDGET:-480}
only=${RT_MANAGERS_ONLY:-}
# want MANAGER: whether this run tests MANAGER (RT_MANAGERS_ONLY=podman|containerd|docker narrows it to one).
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

die() {
	echo "managers: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root"
case $RUNTIME in /*) ;; *) RUNTIME=$(command -v "$RUNTIME") || die "runtime $RUNTIME not found" ;; esac
[ -x "$RUNTIME" ] || die "runtime $RUNTIME is not executable (make rt, or set RUNTIME=)"

# Install what is missing; other engineers run apt at the same time, so wait for the dpkg lock.
need=(podman containerd conmon umoci skopeo uidmap fuse-overlayfs catatonit busybox-static docker.io)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "# installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]}"
fi

T=$(mktemp -d /tmp/rt-managers.XXXXXX) || die "mktemp"
# Searchable by others: dockerd --userns-remap refuses a data root its remapped root could not reach.
chmod 0711 "$T"
mkdir -p "$T"/podman/{tmp,net,volumes} "$T"/containerd/rtroot "$T"/docker/{cli,vol}
trace=$T/trace.log
: >"$trace"
# The cgroups the managers create for us: podman's --cgroup-parent, and the ctr namespace (the shim's default
# cgroupsPath is /<namespace>/<id>). Unique names, so the final check finds only what these tests made.
tag=${T##*.}
pcg=rt-managers-podman-$tag
cns=rt-managers-ctr-$tag
dcg=rt-managers-docker-$tag
containerd_pid=
engine_pid=

# The runtime as the managers see it: a wrapper that appends its argv, environment and open fds to $trace, then
# execs the real runtime. Perl, not sh: a shell's own redirections would show up in the fd list. Paths are baked in
# because podman calls kill/pause/resume/delete with an environment holding only XDG_RUNTIME_DIR (no PATH).
wrapper=$T/runtime
sed -e "s|@TRACE@|$trace|" -e "s|@REAL@|$RUNTIME|" >"$wrapper" <<'EOF'
#!/usr/bin/perl
use strict;
use warnings;
my ($log, $real) = ('@TRACE@', '@REAL@');
my @fds;
if (opendir(my $dh, "/proc/self/fd")) {
	for my $fd (sort { $a <=> $b } grep { /^\d+$/ } readdir($dh)) {
		my $target = readlink("/proc/self/fd/$fd") // '?';
		next if $target =~ m{^/proc/\d+/fd$}; # the directory handle of this very listing
		push @fds, "$fd -> $target";
	}
	closedir($dh);
}
my $parent = '?';
if (open(my $c, '<', '/proc/' . getppid() . '/comm')) { chomp($parent = <$c> // '?'); close($c); }
if (open(my $out, '>>', $log)) {
	print $out "=== pid=$$ parent=$parent\n", 'argv: ', join(' ', @ARGV), "\n";
	print $out "env: $_=$ENV{$_}\n" for sort keys %ENV;
	print $out "fd: $_\n" for @fds;
	close($out);
}
exec { $real } $real, @ARGV or die "exec $real: $!\n";
EOF
chmod 0755 "$wrapper"

render() { # template -> stdout, with the @VARS@ of this run
	sed -e "s|@RUNTIME@|$wrapper|g" -e "s|@TMP@|$T|g" -e "s|@DRIVER@|$driver|g" "$here/$1"
}
render containers.conf.in >"$T/podman/containers.conf"
render storage.conf.in >"$T/podman/storage.conf"
render containerd.toml.in >"$T/containerd/config.toml"
printf 'unqualified-search-registries = []\n' >"$T/podman/registries.conf"
export CONTAINERS_CONF=$T/podman/containers.conf CONTAINERS_STORAGE_CONF=$T/podman/storage.conf
export CONTAINERS_REGISTRIES_CONF=$T/podman/registries.conf

# No --runtime-flag root=DIR: podman 4.3 passes it to create/start/exec but not to "delete --force", so containers
# would never be deleted. podman's containers therefore live in the runtime's default root (/run/rt for rt), under
# 64-hex ids that cannot collide with anyone else's; leftover_state checks them there.
PM=(podman --root "$T/podman/root" --runroot "$T/podman/runroot" --storage-driver "$driver"
	--cgroup-manager cgroupfs --runtime rt)
# Every manager call gets a time limit, so a hung container fails its test instead of the whole target.
pm() { timeout -k 5 "$cmd_timeout" "${PM[@]}" "$@"; }
pmrun() { pm run --cgroup-parent "/$pcg" "$@"; }
CT=(ctr --address "$T/containerd/containerd.sock" --namespace "$cns")
ct() { timeout -k 5 "$cmd_timeout" "${CT[@]}" "$@"; }
# Not --no-pivot: with it ctr silently ignores --runc-binary.
ctrun() { ct run --runc-binary "$wrapper" --runc-root "$T/containerd/rtroot" "$@"; }
img=localhost/rt-managers:latest

# Run a command under a pty (script(1)), for podman -t and ctr -t; prints the output without carriage returns and
# keeps the exit status.
inpty() {
	local cmd rc
	cmd=$(printf '%q ' "$@")
	timeout -k 5 "$cmd_timeout" script -qefc "$cmd" /dev/null </dev/null >"$T/pty.out" 2>&1
	rc=$?
	tr -d '\r' <"$T/pty.out"
	return $rc
}

# poll SECONDS CMD...: retry CMD every 0.1 s until it succeeds or SECONDS pass.
poll() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

n=0
passed=0
failed=0
# t NAME FUNC [ARGS]: run one test; its output is shown as diagnostics only when it fails.
t() {
	local name=$1 out
	shift
	n=$((n + 1))
	if [ $SECONDS -ge "$budget" ]; then
		failed=$((failed + 1))
		echo "not ok $n - $name # not run: the ${budget}s budget is spent (RT_MANAGERS_BUDGET)"
		return
	fi
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
}

# CMD || fail: report the line of a failed command and its exit status (124: it hit RT_MANAGERS_TIMEOUT).
fail() {
	local rc=$?
	echo "run.sh line ${BASH_LINENO[0]}: exit status $rc"
	return 1
}

# eq WHAT WANT GOT
eq() {
	[ "$2" = "$3" ] && return 0
	printf '%s: want %q, got %q\n' "$1" "$2" "$3"
	return 1
}

# has WHAT NEEDLE HAYSTACK
has() {
	case $3 in *"$2"*) return 0 ;; esac
	printf '%s: %q not in output:\n%s\n' "$1" "$2" "$3"
	return 1
}

# v1cg PID CONTROLLER: the host path of a process's cgroup in a v1 hierarchy (this host is hybrid).
v1cg() {
	local line
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup") || return 1
	echo "/sys/fs/cgroup/$2${line#*:*:}"
}

cleanup() {
	set +e
	pm rm -af -t 0 >/dev/null 2>&1
	pm rmi -af >/dev/null 2>&1
	if [ -n "$containerd_pid" ]; then
		local c
		for c in $(ct t ls -q 2>/dev/null); do ct t kill -s SIGKILL "$c" >/dev/null 2>&1; done
		for c in $(ct t ls -q 2>/dev/null); do
			poll 10 task_stopped "$c"
			ct t rm -f "$c" >/dev/null 2>&1
		done
		for c in $(ct c ls -q 2>/dev/null); do ct c rm "$c" >/dev/null 2>&1; done
		kill "$containerd_pid" 2>/dev/null && wait "$containerd_pid" 2>/dev/null
		containerd_pid=
	fi
	stop_docker
	kill_ours
	# podman's containers live in the runtime's default root: delete any of ours (ids from podman's event log) left.
	local id
	while read -r id; do
		[ -e "$runtime_root/$id" ] && timeout 30 "$RUNTIME" --root "$runtime_root" delete --force "$id" >/dev/null 2>&1
	done < <(podman_ids)
	remove_cgroups
	# Our own mounts only: those under $T, deepest first.
	awk -v t="$T/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount "$m"; done
	if [ -n "${RT_MANAGERS_TRACE:-}" ]; then cp "$trace" "$RT_MANAGERS_TRACE"; fi
	if [ -z "${RT_MANAGERS_KEEP:-}" ] && ! grep -qF "$T/" /proc/self/mountinfo && [ -z "$(our_pids)" ]; then
		rm -rf "$T"
	else
		echo "# kept $T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# our_pids: the processes these tests started and left behind: those in our cgroups (containers, conmon) and those
# whose command line names our temporary directory (shims, conmon, containerd).
our_pids() {
	local p
	cat /sys/fs/cgroup/pids/"$pcg"/cgroup.procs /sys/fs/cgroup/pids/"$pcg"/*/cgroup.procs \
		/sys/fs/cgroup/pids/"$cns"/*/cgroup.procs /sys/fs/cgroup/pids/"$dcg"/*/cgroup.procs 2>/dev/null
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$T/" && echo "${p#/proc/}"
	done
}

# kill_ours: SIGKILL, by pid, whatever our_pids finds (containers first: their processes are in our cgroups).
kill_ours() {
	local p
	for p in $(our_pids | sort -u); do kill -9 "$p" 2>/dev/null; done
	poll 10 cgroups_empty
}

cgroups_empty() {
	[ -z "$(cat /sys/fs/cgroup/pids/"$pcg"/*/cgroup.procs /sys/fs/cgroup/pids/"$cns"/*/cgroup.procs \
		/sys/fs/cgroup/pids/"$dcg"/*/cgroup.procs 2>/dev/null)" ]
}
no_shims() { ! pgrep -f "^/usr/bin/containerd-shim-runc-v2 .*-address $T/" >/dev/null; }

# remove_cgroups: the cgroups made under our two parents, leaves first (rmdir fails on a non-empty cgroup).
remove_cgroups() {
	local d
	find /sys/fs/cgroup/*/"$pcg" /sys/fs/cgroup/*/"$cns" /sys/fs/cgroup/*/"$dcg" -depth -type d -exec rmdir {} + 2>/dev/null
	# podman's cgroupfs manager makes its paths with mkdir -p under v1 controllers this host does not mount (hugetlb,
	# net_cls, net_prio, perf_event): plain directories on /sys/fs/cgroup's tmpfs, with plain files, that rmdir
	# cannot remove. Only such tmpfs directories of ours are removed whole; a cgroupfs one never is.
	for d in /sys/fs/cgroup/*/"$pcg" /sys/fs/cgroup/*/"$cns" /sys/fs/cgroup/*/"$dcg"; do
		[ -d "$d" ] && [ "$(stat -f -c %T "$d")" = tmpfs ] && rm -rf -- "$d"
	done
	return 0
}

# podman_ids: every container id podman's event log names.
podman_ids() { grep -o '"ID":"[0-9a-f]\{64\}"' "$T/podman/events.log" 2>/dev/null | cut -d'"' -f4 | sort -u; }

task_stopped() { [ "$(ct t ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}')" = STOPPED ]; }
task_status() { ct t ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
pm_status() { pm inspect --format '{{.State.Status}}' "$1" 2>&1; }
pm_exited() { [ "$(pm_status "$1")" = exited ]; }
pm_pid() { pm inspect --format '{{.State.Pid}}' "$1" 2>&1; }

# ---------------------------------------------------------------------------------------------------------------
# The image: busybox-static, built locally with umoci and exported with skopeo as an OCI archive (no registry).

build_image() {
	local r=$T/image/bundle/rootfs a
	umoci init --layout "$T/image/oci" &&
		umoci new --image "$T/image/oci:base" &&
		umoci unpack --image "$T/image/oci:base" "$T/image/bundle" || return 1
	mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root,run,var/tmp} || return 1
	cp /bin/busybox "$r/bin/busybox" || return 1
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a" || return 1
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"$r/etc/group"
	umoci repack --image "$T/image/oci:base" "$T/image/bundle" &&
		umoci config --image "$T/image/oci:base" --tag latest --config.cmd sh --config.env PATH=/bin:/sbin &&
		skopeo copy -q "oci:$T/image/oci:latest" "oci-archive:$T/image.tar:$img"
}

start_containerd() {
	containerd --config "$T/containerd/config.toml" >"$T/containerd/log" 2>&1 &
	containerd_pid=$!
	poll 20 ct version || {
		tail -n 20 "$T/containerd/log"
		return 1
	}
}

# ---------------------------------------------------------------------------------------------------------------
# podman

p_run_rm() {
	local out
	out=$(pmrun --rm "$img" echo hello) || fail
	eq "output" hello "$out"
}

p_exit_code() {
	pmrun --rm "$img" sh -c 'exit 3'
	eq "exit status" 3 $?
}

p_missing_command() {
	local out rc
	out=$(pmrun --rm "$img" /no/such/command 2>&1)
	rc=$?
	# podman maps the runtime's "not found" error to 127 (126 for "permission denied").
	eq "exit status" 127 "$rc" || {
		echo "$out"
		return 1
	}
}

p_stdin() {
	local out
	out=$(printf 'line one\nline two\n' | pmrun --rm -i "$img" sh -c 'cat; echo done') || fail
	eq "output" $'line one\nline two\ndone' "$out"
}

p_tty() {
	local out
	out=$(inpty "${PM[@]}" run --cgroup-parent "/$pcg" --rm -t "$img" sh -c 'tty; test -t 0 && test -t 1 && echo both')
	eq "exit status" 0 $? || {
		echo "$out"
		return 1
	}
	has "tty" /dev/pts/0 "$out" && has "stdin/stdout" both "$out"
}

p_tty_exit_code() {
	inpty "${PM[@]}" run --cgroup-parent "/$pcg" --rm -t "$img" sh -c 'exit 4'
	eq "exit status" 4 $?
}

p_detach_exec() {
	local out
	pmrun -d --name d1 "$img" sleep 1000 >/dev/null || fail
	eq "status" running "$(pm_status d1)" || return 1
	out=$(pm exec d1 sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "') || fail
	eq "exec output" $'from-exec\nsleep 1000 ' "$out" || return 1
	pm exec d1 sh -c 'exit 5'
	eq "exec exit status" 5 $?
}

p_exec_stdin() {
	local out
	out=$(echo piped | pm exec -i d1 cat) || fail
	eq "exec -i output" piped "$out"
}

p_exec_tty() {
	local out
	out=$(inpty "${PM[@]}" exec -t d1 sh -c 'tty; test -t 0 && echo term') || {
		echo "$out"
		return 1
	}
	has "exec -t tty" /dev/pts/ "$out" && has "exec -t stdin" term "$out"
}

p_top() {
	local out
	out=$(pm top d1) || fail
	has "podman top" "sleep 1000" "$out"
}

p_ps() {
	local out
	out=$(pm ps --format '{{.Names}} {{.Status}}') || fail
	has "podman ps" "d1 Up" "$out"
}

p_pause() {
	local pid fz
	pid=$(pm_pid d1)
	fz=$(v1cg "$pid" freezer) || return 1
	pm pause d1 >/dev/null || {
		pm unpause d1 >/dev/null 2>&1 # a frozen d1 would hang every later test that uses it
		return 1
	}
	eq "status after pause" paused "$(pm_status d1)" || return 1
	eq "freezer.state" FROZEN "$(cat "$fz/freezer.state")" || {
		pm unpause d1 >/dev/null 2>&1
		return 1
	}
	pm unpause d1 >/dev/null || fail
	eq "status after unpause" running "$(pm_status d1)" || return 1
	eq "freezer.state" THAWED "$(cat "$fz/freezer.state")" || return 1
	pm exec d1 true
}

p_limits() {
	local pid
	pmrun -d --name lim --memory 64m --pids-limit 42 --cpus 0.5 --cpu-shares 512 "$img" sleep 1000 >/dev/null ||
		return 1
	pid=$(pm_pid lim)
	eq "memory.limit_in_bytes" 67108864 "$(cat "$(v1cg "$pid" memory)/memory.limit_in_bytes")" || return 1
	eq "pids.max" 42 "$(cat "$(v1cg "$pid" pids)/pids.max")" || return 1
	eq "cpu.cfs_quota_us" 50000 "$(cat "$(v1cg "$pid" cpu)/cpu.cfs_quota_us")" || return 1
	eq "cpu.cfs_period_us" 100000 "$(cat "$(v1cg "$pid" cpu)/cpu.cfs_period_us")" || return 1
	eq "cpu.shares" 512 "$(cat "$(v1cg "$pid" cpu)/cpu.shares")" || return 1
	# The container cgroup sits under our --cgroup-parent, as podman's cgroupfs manager names it.
	has "cgroup path" "/$pcg/libpod-" "$(v1cg "$pid" memory)"
}

p_update() {
	local pid
	pm update --memory 96m --cpus 0.25 lim >/dev/null || fail
	pid=$(pm_pid lim)
	eq "memory.limit_in_bytes" 100663296 "$(cat "$(v1cg "$pid" memory)/memory.limit_in_bytes")" || return 1
	eq "cpu.cfs_quota_us" 25000 "$(cat "$(v1cg "$pid" cpu)/cpu.cfs_quota_us")"
}

p_stop() {
	pm stop -t 1 lim >/dev/null || fail
	eq "status" exited "$(pm_status lim)" || return 1
	pm rm lim >/dev/null
}

p_kill() {
	pm kill -s KILL d1 >/dev/null || fail
	poll 10 pm_exited d1 || {
		pm_status d1
		return 1
	}
	eq "exit code" 137 "$(pm inspect --format '{{.State.ExitCode}}' d1)"
}

p_restart() {
	local pid1 pid2
	pm start d1 >/dev/null || fail
	eq "status after start" running "$(pm_status d1)" || return 1
	pid1=$(pm_pid d1)
	pm restart -t 1 d1 >/dev/null || fail
	eq "status after restart" running "$(pm_status d1)" || return 1
	pid2=$(pm_pid d1)
	[ "$pid1" != "$pid2" ] || {
		echo "same pid $pid1 after restart"
		return 1
	}
	pm rm -f -t 0 d1 >/dev/null
}

p_preserve_fds() {
	local out
	echo "through fd 3" >"$T/fd3"
	out=$(pmrun --rm --preserve-fds 1 "$img" sh -c 'cat <&3; ls /proc/self/fd | sort -n | tr "\n" " "' 3<"$T/fd3") ||
		return 1
	# fd 3 passes; 4+ (in ls: its own directory fd) must not be inherited from podman or the runtime.
	has "fd 3 content" "through fd 3" "$out" || return 1
	has "fds" "0 1 2 3 4 " "$out"
}

p_userns() {
	local out
	out=$(pmrun --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$img" \
		sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/x && stat -c %u /tmp/x') || return 1
	out=$(printf '%s\n' "$out" | tr -s ' ')
	eq "maps and ids" $' 0 100000 65536\n 0 100000 65536\n0\n0' "$out"
}

p_init() {
	local out
	out=$(pmrun --rm --init "$img" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$') || fail
	# podman 4 bind-mounts catatonit at /run/podman-init and makes it pid 1.
	has "pid 1" "/run/podman-init -- sh -c" "$out" || return 1
	# The command is not pid 1 under --init.
	[ "$(printf '%s\n' "$out" | tail -n 1)" != 1 ] || {
		echo "the shell is pid 1: $out"
		return 1
	}
}

p_clean() {
	local out
	out=$(pm ps -aq) || fail
	eq "podman ps -a" "" "$out"
}

# ---------------------------------------------------------------------------------------------------------------
# containerd (ctr -> containerd -> containerd-shim-runc-v2 -> the runtime)

c_run_rm() {
	local out
	out=$(ctrun --rm "$img" c-rm echo hello) || fail
	eq "output" hello "$out"
}

c_exit_code() {
	ctrun --rm "$img" c-exit sh -c 'exit 3'
	eq "exit status" 3 $?
}

c_missing_command() {
	local out rc
	out=$(ctrun --rm "$img" c-missing /no/such/command 2>&1)
	rc=$?
	[ $rc -ne 0 ] || {
		echo "exit status 0"
		return 1
	}
	has "error names the command" "/no/such/command" "$out" || return 1
	# A failed create must leave no container behind, in containerd or in the runtime's root.
	ct c rm c-missing >/dev/null 2>&1
	eq "leftover runtime state" "" "$(ls "$T/containerd/rtroot/$cns" 2>/dev/null)"
}

c_stdin() {
	local out
	# ctr does not close the container's stdin at EOF of its own: read a known number of lines.
	# shellcheck disable=SC2016 # expanded by the container's shell
	out=$(printf 'line one\nline two\n' | ctrun --rm "$img" c-stdin sh -c 'read -r a; read -r b; echo "$a|$b"') ||
		return 1
	eq "output" 'line one|line two' "$out"
}

c_tty() {
	local out
	out=$(inpty "${CT[@]}" run --runc-binary "$wrapper" --runc-root "$T/containerd/rtroot" --rm -t "$img" c-tty \
		sh -c 'tty; test -t 0 && test -t 1 && echo both')
	eq "exit status" 0 $? || {
		echo "$out"
		return 1
	}
	has "tty" /dev/pts/0 "$out" && has "stdin/stdout" both "$out"
}

c_detach_exec() {
	local out
	ctrun -d "$img" c1 sleep 1000 >/dev/null || fail
	eq "status" RUNNING "$(task_status c1)" || return 1
	out=$(ct t exec --exec-id e1 c1 sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "') || fail
	eq "exec output" $'from-exec\nsleep 1000 ' "$out" || return 1
	ct t exec --exec-id e2 c1 sh -c 'exit 5'
	eq "exec exit status" 5 $?
}

c_exec_tty() {
	local out
	out=$(inpty "${CT[@]}" t exec -t --exec-id e3 c1 sh -c 'tty; test -t 0 && echo term') || {
		echo "$out"
		return 1
	}
	has "exec -t tty" /dev/pts/ "$out" && has "exec -t stdin" term "$out"
}

c_ps() {
	local out pid
	pid=$(ct t ls | awk '$1 == "c1" {print $2}')
	out=$(ct t ps c1) || fail
	has "ctr task ps" "$pid" "$out"
}

c_pause() {
	local pid fz
	pid=$(ct t ls | awk '$1 == "c1" {print $2}')
	fz=$(v1cg "$pid" freezer) || return 1
	ct t pause c1 || {
		ct t resume c1 >/dev/null 2>&1
		return 1
	}
	eq "status after pause" PAUSED "$(task_status c1)" || return 1
	eq "freezer.state" FROZEN "$(cat "$fz/freezer.state")" || {
		ct t resume c1 >/dev/null 2>&1
		return 1
	}
	ct t resume c1 || fail
	eq "status after resume" RUNNING "$(task_status c1)" || return 1
	eq "freezer.state" THAWED "$(cat "$fz/freezer.state")"
}

c_limits() {
	local pid
	ctrun -d --memory-limit 67108864 --cpu-quota 50000 --cpu-period 100000 "$img" c-lim sleep 1000 >/dev/null ||
		return 1
	pid=$(ct t ls | awk '$1 == "c-lim" {print $2}')
	eq "cgroup" "/sys/fs/cgroup/memory/$cns/c-lim" "$(v1cg "$pid" memory)" || return 1
	eq "memory.limit_in_bytes" 67108864 "$(cat "/sys/fs/cgroup/memory/$cns/c-lim/memory.limit_in_bytes")" || return 1
	eq "cpu.cfs_quota_us" 50000 "$(cat "/sys/fs/cgroup/cpu/$cns/c-lim/cpu.cfs_quota_us")"
}

c_kill() {
	ct t kill -s SIGKILL c-lim || fail
	poll 10 task_stopped c-lim || {
		echo "status $(task_status c-lim)"
		return 1
	}
	ct t rm c-lim >/dev/null || fail
	ct c rm c-lim
}

c_restart() {
	local pid1 pid2
	pid1=$(ct t ls | awk '$1 == "c1" {print $2}')
	# SIGKILL: sleep as pid 1 has no handler, so the kernel drops SIGTERM.
	ct t kill -s SIGKILL c1 || fail
	poll 10 task_stopped c1 || {
		echo "status $(task_status c1)"
		return 1
	}
	ct t rm c1 >/dev/null || fail
	ct t start -d c1 >/dev/null || fail
	eq "status after restart" RUNNING "$(task_status c1)" || return 1
	pid2=$(ct t ls | awk '$1 == "c1" {print $2}')
	[ "$pid1" != "$pid2" ] || {
		echo "same pid $pid1 after restart"
		return 1
	}
	ct t kill -s SIGKILL c1 && poll 10 task_stopped c1 && ct t rm c1 >/dev/null && ct c rm c1
}

c_userns() {
	local out
	out=$(ctrun --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$img" c-userns \
		sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u') || return 1
	out=$(printf '%s\n' "$out" | tr -s ' ')
	eq "maps and ids" $' 0 100000 65536\n 0 100000 65536\n0' "$out"
}

c_clean() {
	eq "ctr containers" "" "$(ct c ls -q)" || return 1
	eq "ctr tasks" "" "$(ct t ls -q)"
}

# ---------------------------------------------------------------------------------------------------------------
# Docker Engine (docker -> dockerd -> containerd -> containerd-shim-runc-v2 -> the runtime). A private engine:
# containerd and dockerd in network and mount namespaces of their own (docker-engine.sh), every path under $T/docker,
# cgroups under /$dcg. Each step runs with `--runtime ref` (the reference runc) and then `--runtime rt` (the runtime
# under test, through the tracing wrapper); it fails when rt fails a step the reference passes.

dref=${RT_MANAGERS_DOCKER_REFERENCE:-$(command -v runc)}
# The CLI's own config, not ~/.docker; not exported, since podman reads DOCKER_CONFIG too.
DK=(env "DOCKER_CONFIG=$T/docker/cli" /usr/bin/docker -H "unix://$T/docker/docker.sock")
# Twice the others' time limit: one docker command is a daemon, containerd, a shim and the runtime.
dk() { timeout -k 5 "$((cmd_timeout * 2))" "${DK[@]}" "$@"; }
dimg=rt-managers:latest
# DR is the runtime of the step being run: ref or rt. Container names carry it, so both sides can coexist.
DR=
drun() { dk run --network none --runtime "$DR" "$@"; }
dk_status() { dk inspect --format '{{.State.Status}}' "$1" 2>&1; }
dk_pid() { dk inspect --format '{{.State.Pid}}' "$1" 2>&1; }
dk_exited() { [ "$(dk_status "$1")" = exited ]; }
dk_up() { dk version >/dev/null 2>&1; }
dk_healthy() { [ "$(dk inspect --format '{{.State.Health.Status}}' "$1" 2>&1)" = healthy ]; }
gone() { [ ! -e "/proc/$1" ]; }

# dockerd's arguments, one a line (docker-engine.sh reads them at each start); extra ones are appended.
dockerd_args() {
	printf '%s\n' --data-root "$T/docker/root" --exec-root "$T/docker/exec" --pidfile "$T/docker/dockerd.pid" \
		-H "unix://$T/docker/docker.sock" --containerd "$T/docker/containerd/containerd.sock" \
		--iptables=false --ip-masq=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs \
		--cgroup-parent "/$dcg" --add-runtime "ref=$dref" --add-runtime "rt=$wrapper" --live-restore "$@"
}

# start_docker: the engine in its own namespaces, then the image: `docker import` of the busybox rootfs build_image
# made, with a named user (1000, home /home/user) for the HOME steps.
start_docker() {
	local r=$T/docker/rootfs
	sed -e "s|@TMP@/containerd|$T/docker/containerd|g" "$here/containerd.toml.in" >"$T/docker/containerd.toml"
	# --userns-remap=nobody:nogroup takes 200000-265535, looked up by the user's name in both files.
	echo "nobody:200000:65536" >"$T/docker/subuid"
	echo "nobody:200000:65536" >"$T/docker/subgid"
	dockerd_args >"$T/docker/dockerd.args"
	unshare --net --mount --propagation private "$here/docker-engine.sh" "$T/docker" &
	engine_pid=$!
	poll 30 dk_up || {
		tail -n 20 "$T/docker/dockerd.log" "$T/docker/containerd.log"
		return 1
	}
	cp -a "$T/image/bundle/rootfs" "$r" || return 1
	mkdir -p "$r/home/user" && chown 1000:1000 "$r/home/user" || return 1
	printf 'user:x:1000:1000:user:/home/user:/bin/sh\n' >>"$r/etc/passwd"
	printf 'user:x:1000:\n' >>"$r/etc/group"
	import_image
}

import_image() {
	tar -C "$T/docker/rootfs" -c . | dk import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$dimg" >/dev/null
}

# restart_dockerd [ARGS]: stop dockerd (its containers live on: --live-restore) and wait for the engine to start it
# again, with the extra ARGS.
restart_dockerd() {
	local old
	old=$(cat "$T/docker/dockerd.pid" 2>/dev/null) || return 1
	dockerd_args "$@" >"$T/docker/dockerd.args"
	kill "$old" || return 1
	poll 30 gone "$old" || return 1
	poll 30 dk_up
}

# stop_docker: every container removed, then dockerd and containerd stopped; the namespaces go with them.
stop_docker() {
	[ -n "$engine_pid" ] || return 0
	dk_rm_all
	: >"$T/docker/stop"
	[ -e "$T/docker/dockerd.pid" ] && kill "$(cat "$T/docker/dockerd.pid")" 2>/dev/null
	poll 30 gone "$engine_pid" || kill -9 "$engine_pid" 2>/dev/null
	wait "$engine_pid" 2>/dev/null
	engine_pid=
}

# dskip NAME REASON: a Docker step not run, and why.
dskip() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - docker: $1 # SKIP $2"
}

# dk_tidy: remove what a step of runtime DR left, even when it failed half-way; DR-c1 lives across steps.
dk_tidy() {
	local names
	mapfile -t names < <(dk ps -a --filter "name=^/$DR-" --format '{{.Names}}' | grep -vx "$DR-c1")
	[ ${#names[@]} -eq 0 ] || dk rm -f "${names[@]}" >/dev/null 2>&1
}

# dk_rm_all: remove every container of the engine.
dk_rm_all() {
	local ids
	mapfile -t ids < <(dk ps -aq 2>/dev/null)
	[ ${#ids[@]} -eq 0 ] || dk rm -f "${ids[@]}" >/dev/null 2>&1
}

# dt NAME FUNC [ARGS]: one Docker step, run with the reference runtime and then with rt (FUNC sees DR=ref or rt).
# It passes when rt passes; when both fail it passes as a skip (the step tests nothing rt can fix here); it fails
# when rt fails a step the reference passes.
dt() {
	local name=$1 ref_out rt_out ref_rc rt_rc
	shift
	n=$((n + 1))
	if [ $SECONDS -ge "$budget" ]; then
		failed=$((failed + 1))
		echo "not ok $n - docker: $name # not run: the ${budget}s budget is spent (RT_MANAGERS_BUDGET)"
		return
	fi
	ref_out=$(DR=ref "$@" 2>&1)
	ref_rc=$?
	DR=ref dk_tidy
	rt_out=$(DR=rt "$@" 2>&1)
	rt_rc=$?
	DR=rt dk_tidy
	if [ $rt_rc -eq 0 ]; then
		passed=$((passed + 1))
		if [ $ref_rc -eq 0 ]; then
			echo "ok $n - docker: $name"
		else
			echo "ok $n - docker: $name # the reference runtime fails it"
			printf '%s\n' "$ref_out" | tail -n 5 | sed 's/^/#   ref: /'
		fi
	elif [ $ref_rc -ne 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - docker: $name # SKIP the reference runtime fails it too"
		printf '%s\n' "$rt_out" | tail -n 5 | sed 's/^/#   rt: /'
	else
		failed=$((failed + 1))
		echo "not ok $n - docker: $name"
		printf '%s\n' "$rt_out" | tail -n 20 | sed 's/^/#   /'
	fi
}

# failed_with LOG: a failed step whose diagnostics are LOG.
failed_with() {
	tail -n 20 "$1"
	return 1
}

d_run_rm() {
	local out
	out=$(drun --rm "$dimg" echo hello) || fail
	eq "output" hello "$out"
}

d_exit_code() {
	drun --rm "$dimg" sh -c 'exit 3'
	eq "exit status" 3 $?
}

d_missing_command() {
	drun --rm "$dimg" /no/such/command >/dev/null 2>&1
	# Docker maps the runtime's "not found" to 127.
	eq "exit status" 127 $?
}

d_stdin() {
	local out
	out=$(printf 'line one\nline two\n' | drun --rm -i "$dimg" sh -c 'cat; echo done') || fail
	eq "output" $'line one\nline two\ndone' "$out"
}

d_tty() {
	local out
	out=$(inpty "${DK[@]}" run --network none --runtime "$DR" --rm -t "$dimg" sh -c 'tty; test -t 0 && test -t 1 && echo both; exit 4')
	eq "exit status" 4 $? || {
		echo "$out"
		return 1
	}
	has "tty" /dev/pts/0 "$out" && has "stdin/stdout" both "$out"
}

# Short-lived containers, several at once: each ran, and its start must not fail because the workload has already
# exited and been reaped by the shim.
d_short_lived() {
	local i pids=() rc=0
	for i in $(seq 12); do
		drun --rm "$dimg" true >"$T/docker/short.$DR.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || {
			rc=1
			cat "$T/docker/short.$DR.$((i + 1))"
		}
	done
	return $rc
}

# HOME is not in the config Docker writes: the runtime takes it from the container's /etc/passwd.
# shellcheck disable=SC2016 # expanded by the container's shell
d_home() {
	local out
	out=$(drun --rm "$dimg" sh -c 'echo "$HOME"') || fail
	eq "HOME of root" /root "$out" || return 1
	out=$(drun --rm -u 1000 "$dimg" sh -c 'echo "$HOME"') || fail
	eq "HOME of run -u 1000" /home/user "$out"
}

d_detach_exec() {
	local out
	drun -d --name "$DR-c1" "$dimg" sleep 1000 >/dev/null || fail
	eq "status" running "$(dk_status "$DR-c1")" || return 1
	out=$(dk exec "$DR-c1" sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "') || fail
	eq "exec output" $'from-exec\nsleep 1000 ' "$out" || return 1
	dk exec "$DR-c1" sh -c 'exit 5'
	eq "exec exit status" 5 $?
}

d_exec_stdin() {
	local out
	out=$(echo piped | dk exec -i "$DR-c1" cat) || fail
	eq "exec -i output" piped "$out"
}

d_exec_tty() {
	local out
	out=$(inpty "${DK[@]}" exec -t "$DR-c1" sh -c 'tty; test -t 0 && echo term') || {
		echo "$out"
		return 1
	}
	has "exec -t tty" /dev/pts/ "$out" && has "exec -t stdin" term "$out"
}

# shellcheck disable=SC2016 # expanded by the container's shell
d_exec_home() {
	local out
	out=$(dk exec "$DR-c1" sh -c 'echo "$HOME"') || fail
	eq "exec HOME" /root "$out" || return 1
	out=$(dk exec -u user "$DR-c1" sh -c 'echo "$HOME"') || fail
	eq "exec -u user HOME" /home/user "$out" || return 1
	out=$(dk exec -u 4242 "$DR-c1" sh -c 'echo "$HOME"') || fail
	eq "exec -u 4242 (no entry) HOME" / "$out"
}

d_top_stats() {
	local out
	out=$(dk top "$DR-c1") || fail
	has "docker top" "sleep 1000" "$out" || return 1
	out=$(dk stats --no-stream --format '{{.Name}} {{.PIDs}}' "$DR-c1") || fail
	eq "docker stats" "$DR-c1 1" "$out"
}

d_pause() {
	local fz
	fz=$(v1cg "$(dk_pid "$DR-c1")" freezer) || return 1
	dk pause "$DR-c1" >/dev/null || {
		dk unpause "$DR-c1" >/dev/null 2>&1
		return 1
	}
	eq "status after pause" paused "$(dk_status "$DR-c1")" || return 1
	eq "freezer.state" FROZEN "$(cat "$fz/freezer.state")" || {
		dk unpause "$DR-c1" >/dev/null 2>&1
		return 1
	}
	dk unpause "$DR-c1" >/dev/null || fail
	eq "status after unpause" running "$(dk_status "$DR-c1")" || return 1
	dk exec "$DR-c1" true
}

d_cp_commit() {
	local out
	echo "copied in" >"$T/docker/cpin"
	dk cp "$T/docker/cpin" "$DR-c1:/tmp/cpin" || fail
	out=$(dk exec "$DR-c1" cat /tmp/cpin) || fail
	eq "file copied in" "copied in" "$out" || return 1
	dk cp "$DR-c1:/etc/hostname" "$T/docker/cpout.$DR" || fail
	eq "file copied out" "$(dk inspect --format '{{.Config.Hostname}}' "$DR-c1")" "$(cat "$T/docker/cpout.$DR")" || return 1
	dk commit "$DR-c1" "rt-managers-commit-$DR" >/dev/null || fail
	out=$(drun --rm "rt-managers-commit-$DR" cat /tmp/cpin) || fail
	eq "committed image" "copied in" "$out" || return 1
	dk rmi "rt-managers-commit-$DR" >/dev/null
}

d_restart_kill() {
	local pid1 pid2
	pid1=$(dk_pid "$DR-c1")
	dk restart -t 1 "$DR-c1" >/dev/null || fail
	eq "status after restart" running "$(dk_status "$DR-c1")" || return 1
	pid2=$(dk_pid "$DR-c1")
	[ "$pid1" != "$pid2" ] || {
		echo "same pid $pid1 after restart"
		return 1
	}
	dk kill "$DR-c1" >/dev/null || fail
	poll 10 dk_exited "$DR-c1" || {
		dk_status "$DR-c1"
		return 1
	}
	eq "exit code" 137 "$(dk inspect --format '{{.State.ExitCode}}' "$DR-c1")" || return 1
	dk rm "$DR-c1" >/dev/null
}

d_limits_update_stop() {
	local pid
	drun -d --name "$DR-lim" --memory 64m --cpus 0.5 --cpu-shares 512 --pids-limit 42 "$dimg" sleep 1000 >/dev/null ||
		return 1
	pid=$(dk_pid "$DR-lim")
	has "cgroup path" "/$dcg/" "$(v1cg "$pid" memory)" || return 1
	eq "memory.limit_in_bytes" 67108864 "$(cat "$(v1cg "$pid" memory)/memory.limit_in_bytes")" || return 1
	eq "pids.max" 42 "$(cat "$(v1cg "$pid" pids)/pids.max")" || return 1
	eq "cpu.cfs_quota_us" 50000 "$(cat "$(v1cg "$pid" cpu)/cpu.cfs_quota_us")" || return 1
	eq "cpu.shares" 512 "$(cat "$(v1cg "$pid" cpu)/cpu.shares")" || return 1
	dk update --memory 96m --memory-swap 192m --cpus 0.25 "$DR-lim" >/dev/null || fail
	eq "memory.limit_in_bytes after update" 100663296 "$(cat "$(v1cg "$pid" memory)/memory.limit_in_bytes")" || return 1
	eq "cpu.cfs_quota_us after update" 25000 "$(cat "$(v1cg "$pid" cpu)/cpu.cfs_quota_us")" || return 1
	dk stop -t 1 "$DR-lim" >/dev/null || fail
	eq "status after stop" exited "$(dk_status "$DR-lim")" || return 1
	dk rm "$DR-lim" >/dev/null
}

# exec (and a health check, which is an exec) into a container with room for exactly one more task.
d_pids_exec_health() {
	local i
	drun -d --name "$DR-pids" --pids-limit 2 "$dimg" sleep 1000 >/dev/null || fail
	for i in 1 2 3; do
		dk exec "$DR-pids" true || {
			echo "exec $i at pids.max 2 with one process failed"
			return 1
		}
	done
	dk rm -f "$DR-pids" >/dev/null
	drun -d --name "$DR-health" --pids-limit 2 --health-cmd 'test -d /' --health-interval 1s "$dimg" sleep 1000 \
		>/dev/null || fail
	poll 20 dk_healthy "$DR-health" || {
		dk inspect --format '{{json .State.Health}}' "$DR-health"
		return 1
	}
	dk rm -f "$DR-health" >/dev/null
}

d_oom() {
	# busybox dd fills a 64 MiB buffer: over a 32 MiB limit (no swap here) it is OOM-killed.
	drun --name "$DR-oom" --memory 32m --memory-swap 32m "$dimg" dd if=/dev/zero of=/dev/null bs=64M count=1 \
		>/dev/null 2>&1
	eq "exit status" 137 $? || return 1
	eq "OOMKilled" true "$(dk inspect --format '{{.State.OOMKilled}}' "$DR-oom")" || return 1
	dk rm "$DR-oom" >/dev/null
}

d_filesystems() {
	local out
	mkdir -p "$T/docker/vol/$DR"
	out=$(drun --rm --read-only --tmpfs /run:size=1m -v "$T/docker/vol/$DR:/data" "$dimg" sh -c \
		'touch /x 2>/dev/null && echo root-writable; touch /run/t && echo tmpfs-ok; echo hi >/data/f; grep " /run " /proc/mounts | cut -d" " -f3') ||
		fail
	eq "read-only root, tmpfs" $'tmpfs-ok\ntmpfs' "$out" || return 1
	eq "volume file on the host" hi "$(cat "$T/docker/vol/$DR/f")"
}

d_security() {
	local out
	out=$(drun --rm --cap-drop ALL --cap-add NET_RAW --security-opt no-new-privileges -u 1000:1000 "$dimg" sh -c \
		'grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " "; id -u; id -g') || fail
	eq "status, ids" $'CapBnd: 0000000000002000\nNoNewPrivs: 1\nSeccomp: 2\n1000\n1000' "$out" || return 1
	out=$(drun --rm --security-opt seccomp=unconfined "$dimg" grep Seccomp: /proc/self/status | tr -s "\t" " ") || fail
	eq "seccomp=unconfined" "Seccomp: 0" "$out"
}

# shellcheck disable=SC2016 # expanded by the container's shell
d_kernel_knobs() {
	local out
	out=$(drun --rm --ulimit nofile=512:512 --sysctl net.ipv4.ip_forward=1 --device /dev/null:/dev/mynull \
		--shm-size 8m "$dimg" sh -c 'ulimit -n; cat /proc/sys/net/ipv4/ip_forward; echo x >/dev/mynull && echo dev;
			df -k /dev/shm | awk "NR == 2 {print \$2}"') || fail
	eq "nofile, sysctl, device, shm" $'512\n1\ndev\n8192' "$out"
}

# shellcheck disable=SC2016 # expanded by the container's shell
d_namespaces() {
	local out want
	# The host's namespaces here are the engine's private network namespace and this script's others.
	want="$(readlink "/proc/$(cat "$T/docker/dockerd.pid")/ns/net") $(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/ipc) $(readlink /proc/self/ns/uts)"
	out=$(dk run --rm --runtime "$DR" --network host --pid host --ipc host --uts host "$dimg" sh -c \
		'echo $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/ipc) $(readlink /proc/self/ns/uts)') ||
		fail
	eq "host namespaces" "$want" "$out" || return 1
	drun -d --name "$DR-nsc" "$dimg" sleep 1000 >/dev/null || fail
	out=$(dk run --rm --runtime "$DR" --pid "container:$DR-nsc" --network "container:$DR-nsc" "$dimg" sh -c \
		'ps -o args | grep -c "^sleep 1000"; readlink /proc/self/ns/net') || fail
	eq "joined pid and network namespaces" "1 $(readlink "/proc/$(dk_pid "$DR-nsc")/ns/net")" "$(printf '%s' "$out" | tr '\n' ' ')" || return 1
	dk rm -f "$DR-nsc" >/dev/null
}

d_init() {
	local out
	out=$(drun --rm --init "$dimg" sh -c 'cat /proc/1/cmdline | tr "\0" " "') || fail
	has "pid 1" "docker-init -- sh -c" "$out"
}

d_live_restore() {
	local pid1 out
	drun -d --name "$DR-live" "$dimg" sleep 1000 >/dev/null || fail
	pid1=$(dk_pid "$DR-live")
	restart_dockerd || {
		tail -n 5 "$T/docker/dockerd.log"
		return 1
	}
	eq "status after the daemon restarted" running "$(dk_status "$DR-live")" || return 1
	eq "pid after the daemon restarted" "$pid1" "$(dk_pid "$DR-live")" || return 1
	out=$(dk exec "$DR-live" echo alive) || fail
	eq "exec after the daemon restarted" alive "$out" || return 1
	dk rm -f "$DR-live" >/dev/null
}

# shellcheck disable=SC2016 # expanded by the container's shell
d_userns() {
	local out
	out=$(drun --rm "$dimg" sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/x && stat -c %u /tmp/x') ||
		fail
	eq "maps and ids" $' 0 200000 65536\n 0 200000 65536\n0\n0' "$(printf '%s\n' "$out" | tr -s ' ')" || return 1
	drun -d --name "$DR-uns" "$dimg" sleep 1000 >/dev/null || fail
	out=$(dk exec -u 1000 "$DR-uns" sh -c 'id -u; echo "$HOME"; cat /proc/self/uid_map' | tr -s ' ') || fail
	eq "exec -u 1000 in the user namespace" $'1000\n/home/user\n 0 200000 65536' "$out" || return 1
	dk rm -f "$DR-uns" >/dev/null
}

d_clean() {
	eq "docker ps -a" "" "$(dk ps -aq)"
}

# ---------------------------------------------------------------------------------------------------------------
# After everything: nothing left behind.

leftover_state() {
	local out id
	out=$(find "$T/containerd/rtroot" -mindepth 1 -maxdepth 2 2>/dev/null)
	# ctr's --runc-root gets the namespace appended; that (empty) directory is the shim's, not a container's.
	out=$(printf '%s\n' "$out" | grep -vx "$T/containerd/rtroot/$cns")
	# Docker's runtimes keep their state under dockerd's --exec-root, in runtime-<name>/moby.
	out+=$'\n'$(find "$T"/docker/exec/runtime-*/moby -mindepth 1 -maxdepth 1 2>/dev/null)
	# podman's containers (every id its event log ever named) in the runtime's default root.
	while read -r id; do
		[ -e "$runtime_root/$id" ] && out+=$'\n'"$runtime_root/$id"
	done < <(podman_ids)
	eq "state under the runtime roots" "" "$(printf '%s' "$out" | sed '/^$/d')"
}

leftover_cgroups() {
	local out
	# podman's cgroupfs manager puts conmon in <parent>/conmon itself; everything else would be a container's.
	out=$(find /sys/fs/cgroup/*/"$pcg" /sys/fs/cgroup/*/"$cns" /sys/fs/cgroup/*/"$dcg" -mindepth 1 -type d 2>/dev/null |
		grep -v "/$pcg/conmon$")
	eq "container cgroups" "" "$out" || return 1
	remove_cgroups
	out=$(find /sys/fs/cgroup/*/"$pcg" /sys/fs/cgroup/*/"$cns" /sys/fs/cgroup/*/"$dcg" -maxdepth 0 2>/dev/null)
	eq "cgroups that could not be removed" "" "$out"
}

leftover_mounts() {
	local out
	out=$(grep -F "$T" /proc/self/mountinfo)
	eq "mounts under $T" "" "$out"
}

leftover_processes() {
	local out
	# The shims exit shortly after their container is deleted.
	poll 10 no_shims
	out=$(our_pids | grep -vx "$containerd_pid" | while read -r p; do
		printf '%s: %s\n' "$p" "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")"
	done)
	eq "processes still using $T" "" "$out"
}

readme_examples() {
	local f block
	for f in containers.conf.in containerd-cri.toml.in runtimeclass.yaml; do
		# Each README block is preceded by a line "<!-- file: NAME -->" and must equal the file.
		block=$(awk -v f="<!-- file: $f -->" '$0 == f {on = 1; next} on && /^```/ {if (in_b) exit; in_b = 1; next} in_b' \
			"$here/README.md")
		eq "README block for $f" "$(cat "$here/$f")" "$block" || return 1
	done
}

cri_config() {
	local out
	render containerd-cri.toml.in >"$T/containerd/cri.toml"
	out=$(containerd --config "$T/containerd/cri.toml" config dump) || return 1
	has "runtime_type" 'runtime_type = "io.containerd.runc.v2"' "$out" || return 1
	has "BinaryName" "BinaryName = \"$wrapper\"" "$out" || return 1
	has "handler" 'runtimes.rt]' "$out" || return 1
	# The RuntimeClass's handler is the runtime name in the CRI config.
	has "RuntimeClass handler" "handler: rt" "$(cat "$here/runtimeclass.yaml")"
}

# ---------------------------------------------------------------------------------------------------------------

echo "# runtime: $RUNTIME ($("$RUNTIME" --version 2>&1 | head -n 1)); podman storage driver: $driver; temp: $T"
build_image >"$T/image.log" 2>&1 || {
	cat "$T/image.log"
	die "build the image"
}
if want podman; then
	pm load -q -i "$T/image.tar" >/dev/null 2>&1 || pm pull -q "oci-archive:$T/image.tar" >/dev/null || die "podman: load the image"
fi
if want containerd; then
	start_containerd || die "start containerd"
	ct images import "$T/image.tar" >/dev/null || die "ctr: import the image"
fi

if want podman; then
	t "podman: run --rm prints the output" p_run_rm
	t "podman: the exit code passes through (sh -c 'exit 3' -> 3)" p_exit_code
	t "podman: a missing command exits 127" p_missing_command
	t "podman: run -i relays piped stdin" p_stdin
	t "podman: run -t gets a pty (/dev/pts/0)" p_tty
	t "podman: run -t keeps the exit status" p_tty_exit_code
	t "podman: run -d, then exec (output, exit status)" p_detach_exec
	t "podman: exec -i relays piped stdin" p_exec_stdin
	t "podman: exec -t gets a pty" p_exec_tty
	t "podman: top lists the container's processes" p_top
	t "podman: ps shows the running container" p_ps
	t "podman: pause/unpause freeze and thaw the cgroup" p_pause
	t "podman: memory/pids/cpu limits land in the v1 cgroup" p_limits
	t "podman: update --memory --cpus changes the cgroup" p_update
	t "podman: stop" p_stop
	t "podman: kill -s KILL -> exit code 137" p_kill
	t "podman: start again and restart" p_restart
	t "podman: --preserve-fds 1 passes fd 3 and nothing more" p_preserve_fds
	t "podman: --uidmap/--gidmap run in a user namespace" p_userns
	t "podman: --init runs catatonit as pid 1" p_init
	t "podman: no containers left (ps -a empty)" p_clean
fi

if want containerd; then
	t "containerd: run --rm prints the output" c_run_rm
	t "containerd: the exit code passes through" c_exit_code
	t "containerd: a missing command fails and leaves nothing" c_missing_command
	t "containerd: stdin relayed" c_stdin
	t "containerd: run -t gets a pty" c_tty
	t "containerd: run -d, then exec (output, exit status)" c_detach_exec
	t "containerd: exec -t gets a pty" c_exec_tty
	t "containerd: task ps (runtime ps --format json)" c_ps
	t "containerd: pause/resume freeze and thaw the cgroup" c_pause
	t "containerd: memory/cpu limits land in the v1 cgroup" c_limits
	t "containerd: kill -s SIGKILL, delete" c_kill
	t "containerd: restart (kill, delete the task, start a new one)" c_restart
	t "containerd: --uidmap/--gidmap run in a user namespace" c_userns
	t "containerd: no containers or tasks left" c_clean
fi

if ! want docker; then
	:
elif dstart=$SECONDS && start_docker >"$T/docker/start.log" 2>&1; then
	echo "# docker: $("${DK[@]}" version --format '{{.Server.Version}}'), reference runtime $dref"
	dt "run --rm prints the output" d_run_rm
	dt "the exit code passes through" d_exit_code
	dt "a missing command exits 127" d_missing_command
	dt "run -i relays piped stdin" d_stdin
	dt "run -t gets a pty and keeps the exit status" d_tty
	dt "12 short-lived containers at once all start" d_short_lived
	dt "HOME from the image's /etc/passwd (run, run -u)" d_home
	dt "run -d, then exec (output, exit status)" d_detach_exec
	dt "exec -i relays piped stdin" d_exec_stdin
	dt "exec -t gets a pty" d_exec_tty
	dt "HOME for exec, exec -u NAME, exec -u UID without an entry" d_exec_home
	dt "top and stats" d_top_stats
	dt "pause/unpause freeze and thaw the cgroup" d_pause
	dt "cp in and out, commit" d_cp_commit
	dt "restart, kill -> 137" d_restart_kill
	dt "memory/cpu/pids limits, update, stop" d_limits_update_stop
	if "$RUNTIME" --version 2>/dev/null | grep -q '^runc '; then
		# Proving the steps against runc: this one is a runc bug, not the step's.
		dskip "exec and a health check at pids.max = current + 1" \
			"runc's init joins the cgroup whole and sometimes dies there (pthread_create: EAGAIN)"
	else
		dt "exec and a health check at pids.max = current + 1" d_pids_exec_health
	fi
	dt "OOM kill at --memory (137, OOMKilled)" d_oom
	dt "--read-only, --tmpfs, a volume" d_filesystems
	dt "caps, no-new-privileges, user, seccomp" d_security
	dt "ulimit, sysctl, device, shm size" d_kernel_knobs
	dt "host and container: namespaces" d_namespaces
	dt "--init runs docker-init as pid 1" d_init
	dt "live-restore: a daemon restart leaves the container running" d_live_restore
	dskip "--privileged" "every runtime fails it here: this host's root lacks CAP_SYS_RESOURCE (capset: EPERM)"
	# A remapped daemon has a store of its own: containers of the first would be out of its sight, and live on.
	dk_rm_all
	if restart_dockerd --userns-remap nobody:nogroup >>"$T/docker/start.log" 2>&1 &&
		import_image >>"$T/docker/start.log" 2>&1; then
		dt "--userns-remap: run and exec -u in the remapped user namespace" d_userns
	else
		t "docker: restart with --userns-remap and import the image" failed_with "$T/docker/start.log"
	fi
	dt "no containers left (ps -a empty)" d_clean
	t "docker: the engine stops" stop_docker
	echo "# docker: $((SECONDS - dstart)) s"
else
	t "docker: start a private engine and import the image" failed_with "$T/docker/start.log"
fi

t "README: the examples are the tested files" readme_examples
t "README: containerd's CRI config with BinaryName parses" cri_config

t "after all: no state left under the runtime roots" leftover_state
t "after all: no container processes left" leftover_processes
t "after all: no container cgroups left; ours removed" leftover_cgroups
pm rmi -af >/dev/null 2>&1
kill "$containerd_pid" 2>/dev/null && wait "$containerd_pid" 2>/dev/null
containerd_pid=
t "after all: no mounts under $T" leftover_mounts

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
