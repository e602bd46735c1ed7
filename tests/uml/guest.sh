#!/usr/bin/env bash
# The cgroup v2 enforcement checks. init.sh runs this as root inside the UML
# guest (a pure cgroup v2 kernel) with the results directory as $1; $1/env
# names the runtime under test. Output is TAP ("ok N - name" / "not ok N -
# name", diagnostics as "# ..."), the last line "N passed, N failed"; the exit
# status is 0 when nothing failed.
#
# Checks are grouped so that one container serves several of them: every
# container start costs 2-3 s in the guest (shared/notes/uml.md, Speed).
set -u
results=$1
# shellcheck source=/dev/null
. "$results/env"
# shellcheck source=tests/uml/lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"
cut -d' ' -f1 /proc/uptime >"$results/boot-time"

name=$(basename "$RUNTIME")
work=/tmp/rtuml
state=/run/rtuml
cg=/sys/fs/cgroup
rootfs=$work/rootfs
mkdir -p "$work" "$state"

# Every runtime call is bounded, so one hung call costs 30 s, not the boot;
# runc and crun need 1-3 s per call here.
op_timeout=30
# rt runs the runtime under test with a state root of its own.
rt() { timeout "$op_timeout" "$RUNTIME" --root "$state" "$@"; }

status_of() { rt state "$1" 2>/dev/null | jq -r .status; }
is_status() { [[ $(status_of "$1") == "$2" ]]; }
# cgroup_key FILE KEY: the value of KEY in a flat-keyed cgroup file.
cgroup_key() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
# procs DIR: the pids in a cgroup, one line.
procs() { tr '\n' ' ' <"$1/cgroup.procs" 2>/dev/null; }
is_empty_cgroup() { [[ -z $(procs "$1") ]]; }
gone() { [[ ! -e $1 ]]; }
# pids_dead PID...: every pid has exited (absent, or a zombie not yet reaped).
pids_dead() {
	local p st
	for p; do
		st=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) || continue
		[[ -z $st || $st == Z ]] || return 1
	done
}

# bundle ID ARGS RESOURCES [JQ]: write $work/ID/config.json for a busybox
# container in cgroup /rtuml/ID, ARGS and RESOURCES as JSON, JQ an optional
# jq filter applied last.
bundle() {
	local id=$1 args=$2 res=$3 extra=${4:-.}
	mkdir -p "$work/$id"
	jq -n --arg root "$rootfs" --arg cgpath "/rtuml/$id" --arg host "$id" \
		--argjson args "$args" --argjson res "$res" '{
		ociVersion: "1.0.2",
		process: {
			terminal: false, user: {uid: 0, gid: 0}, args: $args, cwd: "/",
			env: ["PATH=/bin", "HOME=/"],
			capabilities: {
				bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
				effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
				permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
			},
			noNewPrivileges: true
		},
		root: {path: $root, readonly: true},
		hostname: $host,
		mounts: [
			{destination: "/proc", type: "proc", source: "proc"},
			{destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
			{destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
			{destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
			{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]},
			{destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]},
			{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}
		],
		linux: {
			cgroupsPath: $cgpath,
			resources: $res,
			namespaces: [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "cgroup"}],
			maskedPaths: ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
			readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
		}
	} | '"$extra" >"$work/$id/config.json"
}

# start ID: create and start a detached container; its stdio goes to
# $work/ID.out.
# A failed create or start is cleaned up so later checks start clean.
start() {
	rt create --bundle "$work/$1" "$1" </dev/null >"$work/$1.out" 2>&1 || {
		echo "create $1 failed (status $?):"
		cat "$work/$1.out"
		rt delete -f "$1" >/dev/null 2>&1
		return 1
	}
	rt start "$1" || {
		rt delete -f "$1" >/dev/null 2>&1
		return 1
	}
}

# finish ID: the container has stopped (polled), then delete it and require
# its cgroup directory to be gone.
finish() {
	poll 30 is_status "$1" stopped || { echo "$1 not stopped: $(status_of "$1")"; return 1; }
	rt delete "$1" || return 1
	gone "$cg/rtuml/$1" || { echo "cgroup $cg/rtuml/$1 left after delete"; return 1; }
}

show() { [[ -f $work/$1.out ]] && sed "s/^/$1: /" "$work/$1.out"; }

# --- set-up ---------------------------------------------------------------

echo "# guest: kernel $(uname -r), runtime $RUNTIME ($("$RUNTIME" --version | head -n 1))"
echo "# guest: cgroup2 controllers: $(cat "$cg/cgroup.controllers")"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh cat dd head tail cut sleep awk ls true echo; do
	ln -s busybox "$rootfs/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
busybox modprobe loop || echo "# guest: modprobe loop failed"
# Two loop devices for the device and io checks; loop2 for a baseline read.
for i in 0 1 2; do
	dd if=/dev/urandom of="$work/loop$i.img" bs=1M count=$((i == 1 ? 1 : 4)) status=none
	losetup "/dev/loop$i" "$work/loop$i.img" || echo "# guest: losetup loop$i failed"
done
t0=$(date +%s.%N)

# --- 1. memory: OOM kill at memory.max -------------------------------------
# cgroupsPath /rtuml/oom/ctr: run deletes ctr on exit, while the parent
# /rtuml/oom keeps the count, since memory.events is hierarchical
# (Documentation/admin-guide/cgroup-v2.rst, memory.events).

check_oom_run() {
	local rc
	bundle oom '["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]' \
		'{"memory": {"limit": 33554432}}' '.linux.cgroupsPath = "/rtuml/oom/ctr"'
	rt run --bundle "$work/oom" oom </dev/null >"$work/oom.out" 2>&1
	rc=$?
	show oom
	expect "run exit status" "$rc" 137
}
check_oom_events() {
	local k
	k=$(cgroup_key "$cg/rtuml/oom/memory.events" oom_kill)
	((${k:-0} >= 1)) || { echo "memory.events: $(tr '\n' ' ' <"$cg/rtuml/oom/memory.events")"; return 1; }
	gone "$cg/rtuml/oom/ctr" || { echo "cgroup rtuml/oom/ctr left after run"; return 1; }
}
check "memory.max: dd of 64M in a 32M container is OOM-killed, run exits 137" check_oom_run
check "memory.max: memory.events oom_kill >= 1, cgroup removed after run" check_oom_events

# --- 2. pids.max refusing forks --------------------------------------------

check_pids() {
	bundle pids '["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 60 & done; echo spawned all"]' \
		'{"pids": {"limit": 4}}' || return 1
	start pids || return 1
	poll 30 is_status pids stopped || { echo "pids not stopped"; return 1; }
	show pids
	expect pids.max "$(cat "$cg/rtuml/pids/pids.max")" 4 || return 1
	local k
	k=$(cgroup_key "$cg/rtuml/pids/pids.events" max)
	((${k:-0} >= 1)) || { echo "pids.events max = '$k'"; return 1; }
	grep -q "can't fork" "$work/pids.out" || { echo "no fork failure in the output"; return 1; }
	! grep -q "spawned all" "$work/pids.out" || { echo "all 8 forks succeeded"; return 1; }
	finish pids
}
check "pids.max=4: forks refused (pids.events max >= 1), delete removes the cgroup" check_pids

# --- 3. one long-running container: cpu.max, freeze, update, events --------

main_ok=0
if bundle main '["sh", "-c", "while :; do :; done"]' \
	'{"memory": {"limit": 67108864}, "pids": {"limit": 32}, "cpu": {"quota": 20000, "period": 100000}}' &&
	start main; then
	main_ok=1
fi
m=$cg/rtuml/main

throttled() { (($(cgroup_key "$m/cpu.stat" nr_throttled) > 0)); }
check_cpu() {
	expect cpu.max "$(cat "$m/cpu.max")" "20000 100000" || return 1
	poll 20 throttled || { echo "cpu.stat: $(tr '\n' ' ' <"$m/cpu.stat")"; return 1; }
	echo "cpu.stat: $(tr '\n' ' ' <"$m/cpu.stat")"
}
thawed() { [[ $(cgroup_key "$m/cgroup.events" frozen) == 0 ]]; }
check_pause() {
	rt pause main || return 1
	expect status "$(status_of main)" paused || return 1
	expect cgroup.freeze "$(cat "$m/cgroup.freeze")" 1 || return 1
	expect "cgroup.events frozen" "$(cgroup_key "$m/cgroup.events" frozen)" 1 || return 1
	rt resume main || return 1
	expect status "$(status_of main)" running || return 1
	expect cgroup.freeze "$(cat "$m/cgroup.freeze")" 0 || return 1
	poll 10 thawed || { echo "still frozen after resume"; return 1; }
}
check_update() {
	rt update --memory 134217728 --pids-limit 50 main || return 1
	expect memory.max "$(cat "$m/memory.max")" 134217728 || return 1
	expect pids.max "$(cat "$m/pids.max")" 50 || return 1
	echo '{"cpu": {"quota": 30000, "period": 100000}, "pids": {"limit": 40}}' >"$work/update.json"
	rt update -r "$work/update.json" main || return 1
	expect "cpu.max after -r" "$(cat "$m/cpu.max")" "30000 100000" || return 1
	expect "pids.max after -r" "$(cat "$m/pids.max")" 40 || return 1
}
check_events() {
	local out
	out=$(rt events --stats main) || return 1
	echo "$out"
	jq -e '.type == "stats" and .data.memory.usage.usage > 0 and .data.pids.current >= 1 and .data.cpu.usage.total > 0' <<<"$out" >/dev/null
}
check_main_delete() {
	rt kill main KILL || return 1
	finish main
}
if ((main_ok)); then
	check "cpu.max 20000/100000: throttling visible in cpu.stat nr_throttled" check_cpu
	check "pause/resume: status paused, cgroup.freeze and frozen 1, then running" check_pause
	check "update: --memory/--pids-limit and -r FILE change live limits" check_update
	if [[ $name == crun ]]; then
		skip "events --stats reports memory, pids and cpu usage" "crun has no events command"
	else
		check "events --stats reports memory, pids and cpu usage" check_events
	fi
	check "kill KILL then delete removes the cgroup" check_main_delete
else
	show main
	for t in cpu.max pause/resume update "events --stats" delete; do
		check "$t (main container did not start)" false
	done
fi

# --- 4. cgroup.kill: kill --all and delete -f without a pid namespace -------
# Without its own pid namespace the container's other processes survive the
# death of its init: only a cgroup-wide kill reaches them.

nopidns='.linux.namespaces |= map(select(.type != "pid"))'
sleepers='["sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000 & wait"]'
has_four() { (($(wc -w <<<"$(procs "$1")") == 4)); }

check_kill_all() {
	local pids
	bundle killall "$sleepers" '{}' "$nopidns" && start killall || return 1
	poll 20 has_four "$cg/rtuml/killall" || { echo "procs: $(procs "$cg/rtuml/killall")"; return 1; }
	pids=$(procs "$cg/rtuml/killall")
	rt kill --all killall KILL || return 1
	poll 20 is_empty_cgroup "$cg/rtuml/killall" || { echo "left: $(procs "$cg/rtuml/killall")"; return 1; }
	# shellcheck disable=SC2086 # one word per pid
	poll 20 pids_dead $pids || { echo "still alive among $pids"; return 1; }
	finish killall
}
check_delete_force() {
	local pids
	bundle forced "$sleepers" '{}' "$nopidns" && start forced || return 1
	poll 20 has_four "$cg/rtuml/forced" || { echo "procs: $(procs "$cg/rtuml/forced")"; return 1; }
	pids=$(procs "$cg/rtuml/forced")
	rt delete -f forced || return 1
	gone "$cg/rtuml/forced" || { echo "cgroup left after delete -f: $(procs "$cg/rtuml/forced")"; return 1; }
	# shellcheck disable=SC2086 # one word per pid
	poll 20 pids_dead $pids || { echo "still alive among $pids"; return 1; }
}
check "kill --all KILL (no pid ns) kills every process in the cgroup" check_kill_all
check "delete -f (no pid ns) kills every process and removes the cgroup" check_delete_force

# --- 5. devices program and io.max on a loop device -----------------------

# 1 MiB/s on loop0; reading 4 MiB with O_DIRECT takes >= 3 s when enforced.
rate=1048576
# shellcheck disable=SC2016 # expanded by the container's shell
devscript='
head -c 1 /dev/zero >/dev/null && echo "zero: ok"
echo x >/dev/null && echo "null: ok"
dd if=/dev/loop1 of=/dev/null bs=4k count=1 2>&1; echo "loop1: rc=$?"
a=$(cut -d" " -f1 /proc/uptime)
dd if=/dev/loop0 of=/dev/null bs=64k count=64 iflag=direct 2>&1; echo "loop0: rc=$?"
b=$(cut -d" " -f1 /proc/uptime)
echo "elapsed: $(( ${b%.*}${b#*.} - ${a%.*}${a#*.} ))"
'
dev_devices='[
	{"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0, "fileMode": 432, "uid": 0, "gid": 0},
	{"path": "/dev/loop1", "type": "b", "major": 7, "minor": 1, "fileMode": 432, "uid": 0, "gid": 0}]'
dev_res='{
	"devices": [
		{"allow": false, "access": "rwm"},
		{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
		{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
		{"allow": true, "type": "b", "major": 7, "minor": 0, "access": "rwm"},
		{"allow": false, "type": "b", "major": 7, "minor": 1, "access": "rwm"}],
	"blockIO": {"throttleReadBpsDevice": [{"major": 7, "minor": 0, "rate": '$rate'}]}}'

dev_ok=0
if bundle dev "$(jq -cn --arg s "$devscript" '["sh", "-c", $s]')" "$dev_res" \
	".linux.devices = $dev_devices" && start dev &&
	poll 60 is_status dev stopped; then
	dev_ok=1
fi
check_devices() {
	show dev
	((dev_ok)) || return 1
	if ! grep -q "zero: ok" "$work/dev.out" || ! grep -q "null: ok" "$work/dev.out"; then
		echo "allowed /dev/zero or /dev/null failed"
		return 1
	fi
	grep -q "loop1.*Operation not permitted" "$work/dev.out" || { echo "loop1 not denied with EPERM"; return 1; }
	grep -q "loop0: rc=0" "$work/dev.out" || { echo "allowed loop0 read failed"; return 1; }
}
check_io() {
	((dev_ok)) || return 1
	local line elapsed a b base
	line=$(cat "$cg/rtuml/dev/io.max")
	[[ $line == "7:0 rbps=$rate "* ]] || { echo "io.max: '$line'"; return 1; }
	elapsed=$(awk '$1 == "elapsed:" { print $2 }' "$work/dev.out")
	# Baseline: the same read from an unthrottled loop device.
	a=$(date +%s%N)
	dd if=/dev/loop2 of=/dev/null bs=64k count=64 iflag=direct status=none
	b=$(date +%s%N)
	base=$(((b - a) / 10000000))
	echo "4 MiB read: ${elapsed:-?} cs throttled at 1 MiB/s, $base cs unthrottled"
	((${elapsed:-0} >= 250)) || { echo "read not throttled"; return 1; }
}
check "devices: b 7:1 denied with EPERM while null, zero and b 7:0 work" check_devices
check "io.max rbps on loop0: a 4 MiB direct read takes >= 2.5 s" check_io
check "delete after the device/io container removes the cgroup" finish dev

# --- 6. rootless in a delegated subtree ------------------------------------
# cgroup-v2.rst "Delegation": chown the directory and its cgroup.procs,
# cgroup.threads and cgroup.subtree_control to the delegatee. Moving a process
# needs write access to cgroup.procs of the common ancestor, so root puts the
# launching shell into the delegated subtree first.

uid=1000
user_cg=$cg/rtuml-user
user_dir=/tmp/rtuml-user
check_rootless() {
	local rc
	echo "+memory +pids" >"$cg/cgroup.subtree_control" || return 1
	mkdir -p "$user_cg/launcher" "$user_dir/state" "$user_dir/run" "$user_dir/ctr" || return 1
	echo "+memory +pids" >"$user_cg/cgroup.subtree_control" || return 1
	chown "$uid:$uid" "$user_cg" "$user_cg"/cgroup.{procs,threads,subtree_control} \
		"$user_cg/launcher" "$user_cg/launcher/cgroup.procs" || return 1
	chmod 0700 "$user_dir/run"
	# Rootless as `runc spec --rootless` writes it: a user namespace mapping
	# root to the user, no gid=5 on devpts, cgroupsPath in the delegation.
	work=$user_dir bundle ctr \
		'["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]' \
		'{"memory": {"limit": 33554432}, "pids": {"limit": 10}}' '
		.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: '$uid', size: 1}]
		| .linux.gidMappings = [{containerID: 0, hostID: '$uid', size: 1}]
		| .linux.cgroupsPath = "/rtuml-user/ctr"' || return 1
	chown -R "$uid:$uid" "$user_dir"
	(
		echo "$BASHPID" >"$user_cg/launcher/cgroup.procs" || exit 1
		export HOME=$user_dir XDG_RUNTIME_DIR=$user_dir/run
		as_user() {
			timeout "$op_timeout" setpriv --reuid="$uid" --regid="$uid" --clear-groups \
				"$RUNTIME" --root "$user_dir/state" "$@"
		}
		as_user create --bundle "$user_dir/ctr" ctr </dev/null >"$user_dir/ctr.out" 2>&1 || {
			cat "$user_dir/ctr.out"
			exit 1
		}
		stat -c 'cgroup owner: %u' "$user_cg/ctr"
		expect memory.max "$(cat "$user_cg/ctr/memory.max")" 33554432 || exit 1
		expect pids.max "$(cat "$user_cg/ctr/pids.max")" 10 || exit 1
		as_user start ctr || exit 1
		st() { as_user state ctr | jq -r .status; }
		# shellcheck disable=SC2317 # called through poll
		stopped() { [[ $(st) == stopped ]]; }
		poll 30 stopped || { echo "not stopped: $(st)"; exit 1; }
		cat "$user_dir/ctr.out"
		k=$(cgroup_key "$user_cg/ctr/memory.events" oom_kill)
		((${k:-0} >= 1)) || { echo "memory.events oom_kill = '$k'"; exit 1; }
		as_user delete ctr || exit 1
		gone "$user_cg/ctr" || { echo "cgroup left after delete"; exit 1; }
	)
	rc=$?
	return "$rc"
}
check "rootless (uid $uid) in a delegated subtree: limits set, OOM kill, delete" check_rootless

# --- 7. exec at pids.max = current + 1 --------------------------------------
# exec into a container with room for exactly one more task: rt's bootstrap and Go threads stay outside the cgroup,
# and the process joins it (here whole, v2 cannot split a process) right before execve. runc 1.1.5 fails this
# here: its Go init joins first, then dies starting a thread (runtime/cgo: pthread_create failed).
check_exec_pids() {
	local i out
	bundle execpids '["sleep", "600"]' '{"pids": {"limit": 2}}' && start execpids || return 1
	for i in 1 2 3; do
		out=$(rt exec execpids cat /proc/self/cgroup 2>&1) || { echo "exec $i at pids.max 2: $out"; break; }
		[[ $out == "0::/" ]] || { echo "exec $i: cgroup $out, want 0::/"; break; }
	done
	expect pids.current "$(cat "$cg/rtuml/execpids/pids.current")" 1 || out=
	rt delete -f execpids || return 1
	gone "$cg/rtuml/execpids" || { echo "cgroup left after delete -f"; return 1; }
	[[ $i == 3 && $out == "0::/" ]]
}
if [[ $name == rt ]]; then
	check "pids.max=2 with one process: exec works, three times, in the cgroup" check_exec_pids
else
	skip "pids.max=2 with one process: exec works, three times, in the cgroup" "rt's behaviour; runc's init dies there"
fi

# --- 8. exec --cgroup, the init-cgroup fallback, events oom (runc 1.5) ------
# runc's exec.bats "exec --cgroup subcgroup [v2]": the init moves below the
# container's cgroup, which then enables a domain controller and takes no
# process (EBUSY): exec falls back to the init's cgroup unless --cgroup names
# one. events.bats "events oom": the oom line comes as the OOM happens.

check_exec_subcgroup() {
	local c=$cg/rtuml/execsub out
	bundle execsub '["sleep", "1000"]' '{}' && start execsub || return 1
	out=$(rt exec --cgroup .. execsub true 2>&1) && { echo "--cgroup .. succeeded"; return 1; }
	[[ $out == *"bad sub cgroup path"* ]] || { echo "--cgroup ..: $out"; return 1; }
	mkdir "$c/foobar" || return 1
	rt state execsub | jq -r .pid >"$c/foobar/cgroup.procs" || return 1
	echo +memory >"$c/cgroup.subtree_control" || return 1
	out=$(rt exec execsub cat /proc/self/cgroup) || { echo "exec without --cgroup: $out"; return 1; }
	expect "exec's cgroup (fallback to the init's)" "$out" "0::/foobar" || return 1
	out=$(rt exec --cgroup / execsub true 2>&1) && { echo "--cgroup / succeeded"; return 1; }
	[[ $out == *"evice or resource busy"* ]] || { echo "--cgroup /: $out"; return 1; }
	out=$(rt exec --cgroup foobar execsub cat /proc/self/cgroup) || { echo "--cgroup foobar: $out"; return 1; }
	expect "exec --cgroup foobar's cgroup" "$out" "0::/foobar" || return 1
	rt delete -f execsub || return 1
	gone "$c" || { echo "cgroup left after delete -f"; return 1; }
}
# has_inotify PID: PID or a child of it (events under timeout) holds an inotify fd.
has_inotify() {
	local p fd
	for p in "$1" $(cat "/proc/$1/task/"*/children 2>/dev/null); do
		for fd in "/proc/$p/fd/"*; do
			[[ $(readlink "$fd") == *inotify* ]] && return 0
		done
	done
	return 1
}
check_events_oom() {
	local pid rc
	bundle evoom '["sleep", "1000"]' '{"memory": {"limit": 33554432}}' && start evoom || return 1
	timeout 300 "$RUNTIME" --root "$state" events --interval 1h evoom >"$work/evoom.events" 2>&1 &
	pid=$!
	poll 20 has_inotify "$pid" || { echo "events never watched memory.events"; return 1; }
	rt exec evoom dd if=/dev/zero of=/dev/null bs=64M count=1 && { echo "no OOM kill"; return 1; }
	poll 60 grep -q '{"type":"oom","id":"evoom"}' "$work/evoom.events" || {
		echo "no oom line: $(cat "$work/evoom.events"); memory.events: $(tr '\n' ' ' <"$cg/rtuml/evoom/memory.events")"
		return 1
	}
	rt delete -f evoom || return 1
	wait "$pid"
	rc=$?
	expect "events' exit status after delete" "$rc" 0
}
if [[ $name == crun ]]; then
	skip "exec --cgroup: sub-cgroups, and the fallback to the init's cgroup on EBUSY" "crun differs"
	skip "events: an oom line as the OOM happens, exit 0 after delete" "crun has no events command"
else
	check "exec --cgroup: sub-cgroups, and the fallback to the init's cgroup on EBUSY" check_exec_subcgroup
	check "events: an oom line as the OOM happens, exit 0 after delete" check_events_oom
fi

# --- summary ---------------------------------------------------------------

t1=$(date +%s.%N)
echo "# guest: checks took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
tap_summary
