#!/usr/bin/env bash
# The checks under a real systemd: rt-test.service (init.sh) runs this as root inside the UML guest, with the
# results directory as $1 and $1/env naming the runtimes. Every check runs once per runtime (rt, runc), so each is
# proved against runc too. Output is TAP, the last line "N passed, N failed"; the status file gets 0 or 1.
set -u
results=$1
# shellcheck source=/dev/null
. "$results/env"
# shellcheck source=tests/uml/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
cut -d' ' -f1 /proc/uptime >"$results/boot-time"

work=/var/tmp/rtsd # not /tmp: the containers' units may get PrivateTmp-like views of it
rootfs=$work/rootfs
cg=/sys/fs/cgroup
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh cat sleep true echo; do ln -s busybox "$rootfs/bin/$a"; done
cp "$PROBE" "$rootfs/probe"
echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"

poll_interval=0.1
op_timeout=40
rtc() { timeout "$op_timeout" "$RUNTIME" --root "$state" "$@"; }
sdrt() { rtc --systemd-cgroup "$@"; }
prop() { systemctl show -P "$2" "$1"; }
# props UNIT PROP...: read the properties into the associative array P in one systemctl call (each costs ~0.3 s here).
declare -A P
props() {
	local u=$1 k v args=()
	shift
	for k; do args+=(-p "$k"); done
	P=()
	while IFS='=' read -r k v; do P[$k]=$v; done < <(systemctl show "${args[@]}" "$u")
}
unit_gone() { [[ $(prop "$1" LoadState) == not-found ]]; }
status_of() { rtc state "$1" 2>/dev/null | jq -r .status; }
is_status() { [[ $(status_of "$1") == "$2" ]]; }
# nothing_left ID UNIT CGROUP: no state, no unit (nor job), no cgroup directory.
nothing_left() {
	local ok=0
	[[ ! -e $state/$1 ]] || { echo "state dir $state/$1 left"; ok=1; }
	unit_gone "$2" || { echo "unit $2 left: $(systemctl show -p LoadState -p ActiveState -p Job "$2" | tr '\n' ' ')"; ok=1; }
	[[ -z $3 || ! -e $3 ]] || { echo "cgroup $3 left"; ok=1; }
	local jobs
	jobs=$(systemctl list-jobs --no-legend | grep -v ' rt-test\.service ')
	[[ -z $jobs ]] || { echo "jobs left: $jobs"; ok=1; }
	return $ok
}

# bundle ID CGROUPSPATH ARGS [JQ]: a busybox bundle at $work/ID.
bundle() {
	mkdir -p "$work/$1"
	jq -n --arg root "$rootfs" --arg cgpath "$2" --argjson args "$3" '{
		ociVersion: "1.0.2",
		process: {terminal: false, user: {uid: 0, gid: 0}, args: $args, cwd: "/", env: ["PATH=/bin"],
			capabilities: {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]},
			noNewPrivileges: true},
		root: {path: $root, readonly: true},
		mounts: [
			{destination: "/proc", type: "proc", source: "proc"},
			{destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"]},
			{destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]}
		],
		linux: {cgroupsPath: $cgpath, resources: {},
			namespaces: [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]}
	} | '"${4:-.}" >"$work/$1/config.json"
}

# --- the driver, detached containers ------------------------------------------------------------------------

check_create() {
	local id=$1 scope=$2 pid
	bundle "$id" "system.slice:sdt:$id" '["sleep", "1000"]' '.linux.resources = {
		memory: {limit: 67108864}, pids: {limit: 32}, cpu: {shares: 1024, quota: 50000, period: 100000}}
		| .annotations = {"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
			"org.systemd.property.CollectMode": "'"'inactive-or-failed'"'"}'
	sdrt run -d --bundle "$work/$id" "$id" </dev/null >"$work/$id.out" 2>&1 || { cat "$work/$id.out"; return 1; }
	pid=$(rtc state "$id" | jq .pid)
	props "$scope" ActiveState Slice Delegate MemoryMax TasksMax CPUQuotaPerSecUSec TimeoutStopUSec CollectMode
	expect "unit active" "${P[ActiveState]}" active || return 1
	expect "init's cgroup" "$(cat "/proc/$pid/cgroup")" "0::/system.slice/$scope" || return 1
	expect Slice "${P[Slice]}" system.slice || return 1
	expect Delegate "${P[Delegate]}" yes || return 1
	expect MemoryMax "${P[MemoryMax]}" 67108864 || return 1
	expect TasksMax "${P[TasksMax]}" 32 || return 1
	expect CPUQuotaPerSecUSec "${P[CPUQuotaPerSecUSec]}" 500ms || return 1
	expect "TimeoutStopUSec (annotation)" "${P[TimeoutStopUSec]}" "2min 3.456789s" || return 1
	expect "CollectMode (annotation)" "${P[CollectMode]}" inactive-or-failed || return 1
	expect memory.max "$(cat "$cg/system.slice/$scope/memory.max")" 67108864 || return 1
	expect pids.max "$(cat "$cg/system.slice/$scope/pids.max")" 32 || return 1
	expect cpu.max "$(cat "$cg/system.slice/$scope/cpu.max")" "50000 100000"
}
check_exec() {
	local out
	out=$(rtc exec "$1" cat /proc/self/cgroup) || { echo "$out"; return 1; }
	# The exec'd process sees its cgroup from inside the container's cgroup namespace (none here: the host view).
	expect "exec'd process's cgroup" "$out" "0::/system.slice/$2"
}
check_update() {
	rtc update --memory 100663296 --pids-limit 40 "$1" || return 1
	props "$2" MemoryMax TasksMax
	expect MemoryMax "${P[MemoryMax]}" 100663296 || return 1
	expect TasksMax "${P[TasksMax]}" 40 || return 1
	expect memory.max "$(cat "$cg/system.slice/$2/memory.max")" 100663296 || return 1
	expect pids.max "$(cat "$cg/system.slice/$2/pids.max")" 40
}
check_pause() {
	rtc pause "$1" || return 1
	expect "after pause" "$(status_of "$1")" paused || return 1
	expect cgroup.freeze "$(cat "$cg/system.slice/$2/cgroup.freeze")" 1 || return 1
	rtc resume "$1" || return 1
	expect "after resume" "$(status_of "$1")" running
}
check_ps_events() {
	local pid out
	pid=$(rtc state "$1" | jq .pid)
	out=$(rtc ps -f json "$1") || return 1
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$out" >/dev/null || { echo "ps: $out lacks $pid"; return 1; }
	out=$(rtc events --stats "$1") || return 1
	jq -e '.data.memory.usage.usage > 0 and .data.pids.current >= 1' <<<"$out" >/dev/null || { echo "events: $out"; return 1; }
}
check_kill_delete() {
	rtc kill --all "$1" KILL || return 1
	poll 20 is_status "$1" stopped || { echo "not stopped: $(status_of "$1")"; return 1; }
	rtc delete "$1" || return 1
	nothing_left "$1" "$2" "$cg/system.slice/$2"
}
# check_delete_frozen ID: delete -f of a paused container, and (rt) a plain delete of a stopped one whose leftover
# child is frozen and ignores SIGTERM, leave no unit, cgroup, state or process: what is left must be killed before
# the unit's stop, whose SIGTERM such a task does not act on (systemd waits TimeoutStopSec, 90 s, before SIGKILL;
# rt's stop gave up after 30 s and the delete failed). The child's "delete took" shows with UML_VERBOSE=1.
check_delete_frozen() {
	local id=$1 scope=sdt-$1.scope child
	bundle "$id" "system.slice:sdt:$id" '["sleep", "1000"]'
	sdrt run -d --bundle "$work/$id" "$id" </dev/null >"$work/$id.out" 2>&1 || { cat "$work/$id.out"; return 1; }
	rtc pause "$id" || return 1
	rtc delete -f "$id" || return 1
	nothing_left "$id" "$scope" "$cg/system.slice/$scope" || return 1
	# runc 1.5.3 reports the next container paused and refuses the delete (integration TestDeleteFrozen).
	[[ $name == rt ]] || return 0
	# The child ignores SIGTERM, as a daemon that takes its time to stop would: systemd's stop alone would wait.
	bundle "$id" "system.slice:sdt:$id" '["sh", "-c", "(trap \"\" TERM; exec sleep 1001) >/dev/null 2>&1 & echo left $!"]' \
		'.linux.namespaces |= map(select(.type != "pid"))'
	sdrt run -d --bundle "$work/$id" "$id" </dev/null >"$work/$id.out" 2>&1 || { cat "$work/$id.out"; return 1; }
	poll 20 is_status "$id" stopped || { echo "not stopped: $(status_of "$id")"; return 1; }
	poll 20 grep -q '^left ' "$work/$id.out" || { echo "no child: $(cat "$work/$id.out")"; return 1; }
	child=$(sed -n 's/^left //p' "$work/$id.out")
	echo 1 >"$cg/system.slice/$scope/cgroup.freeze"
	poll 20 grep -qx 'frozen 1' "$cg/system.slice/$scope/cgroup.events" || { echo "not frozen"; return 1; }
	local t0=$EPOCHREALTIME
	rtc delete "$id" || { echo 0 >"$cg/system.slice/$scope/cgroup.freeze"; return 1; }
	echo "delete took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
	poll 20 test ! -d "/proc/$child" || { echo "frozen leftover $child alive"; return 1; }
	nothing_left "$id" "$scope" "$cg/system.slice/$scope"
}
check_slice() {
	local id=$1 pid want=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-$1.scope
	bundle "$id" "kubepods-burstable-pod1.slice:cri:$id" '["sleep", "1000"]'
	sdrt run -d --bundle "$work/$id" "$id" </dev/null >"$work/$id.out" 2>&1 || { cat "$work/$id.out"; return 1; }
	pid=$(rtc state "$id" | jq .pid)
	expect "init's cgroup" "$(cat "/proc/$pid/cgroup")" "0::$want" || return 1
	rtc delete -f "$id" || return 1
	nothing_left "$id" "cri-$id.scope" "$cg$want"
}
check_fails_after_unit() {
	local id=$1 out rc
	# A unified key the kernel has no file for fails at the first limit, once the unit exists: the failed create
	# must stop it.
	bundle "$id" "system.slice:sdt:$id" '["sleep", "1000"]' '.linux.resources.unified = {"memory.nosuchfile": "1"}'
	out=$(sdrt run -d --bundle "$work/$id" "$id" </dev/null 2>&1)
	rc=$?
	expect "exit status" "$rc" 1 || return 1
	if [[ $name == rt ]]; then
		expect "lines of stderr" "$(wc -l <<<"$out")" 1 || return 1
		[[ $out == *memory.nosuchfile* ]] || { echo "error does not name the key: $out"; return 1; }
	fi
	[[ -z $(pgrep -f "sleep 1000" || true) ]] || { echo "processes left: $(pgrep -af 'sleep 1000')"; return 1; }
	nothing_left "$id" "sdt-$id.scope" "$cg/system.slice/sdt-$id.scope"
}
check_same_unit() {
	local id=$1 out rc pid scope=sdt-$1.scope
	# Two bundles with the same cgroupsPath: the second create finds the name taken by a live unit. It must fail
	# and leave the first container, its unit and its processes alone.
	bundle "$id" "system.slice:sdt:$id" '["sleep", "1000"]'
	sdrt run -d --bundle "$work/$id" "$id" </dev/null >"$work/$id.out" 2>&1 || { cat "$work/$id.out"; return 1; }
	pid=$(rtc state "$id" | jq .pid)
	out=$(sdrt run -d --bundle "$work/$id" "${id}b" </dev/null 2>&1)
	rc=$?
	expect "exit status" "$rc" 1 || return 1
	if [[ $name == rt ]]; then
		expect "lines of stderr" "$(wc -l <<<"$out")" 1 || return 1
		[[ $out == *"$scope"*"already exists"* ]] || { echo "error does not name the unit: $out"; return 1; }
	fi
	[[ ! -e $state/${id}b ]] || { echo "state of the failed create left"; return 1; }
	expect "first's unit" "$(prop "$scope" ActiveState)" active || return 1
	kill -0 "$pid" 2>/dev/null || { echo "first container's init $pid is gone"; return 1; }
	expect "first's init cgroup" "$(cat "/proc/$pid/cgroup")" "0::/system.slice/$scope" || return 1
	expect "first's status" "$(status_of "$id")" running || return 1
	rtc delete -f "$id" || return 1
	nothing_left "$id" "$scope" "$cg/system.slice/$scope"
}
check_foreground() {
	local id=$1 rc
	bundle "$id" "system.slice:sdt:$id" '["sh", "-c", "cat /proc/self/cgroup; exit 7"]'
	# stdout only: runc 1.1.5 warns on stderr about device rules it cannot give systemd.
	out=$(sdrt run --bundle "$work/$id" "$id" </dev/null 2>"$work/$id.err")
	rc=$?
	expect "run exit status" "$rc" 7 || { cat "$work/$id.err"; return 1; }
	expect "container's cgroup" "$out" "0::/system.slice/sdt-$id.scope" || return 1
	poll 10 nothing_left "$id" "sdt-$id.scope" "$cg/system.slice/sdt-$id.scope" || nothing_left "$id" "sdt-$id.scope" "$cg/system.slice/sdt-$id.scope"
}
check_refused_property() {
	local id=$1 out rc
	bundle "$id" "system.slice:sdt:$id" '["sleep", "1000"]' '.annotations = {"org.systemd.property.NoSuchThing": "true"}'
	out=$(sdrt run -d --bundle "$work/$id" "$id" </dev/null 2>&1)
	rc=$?
	expect "exit status" "$rc" 1 || return 1
	if [[ $name == rt ]]; then
		expect "lines of stderr" "$(wc -l <<<"$out")" 1 || return 1
		[[ $out == *NoSuchThing* && $out == *sdt-$id.scope* ]] || { echo "error does not name the property and unit: $out"; return 1; }
	fi
	[[ -z $(pgrep -f "$work/$id" || true) ]] || { echo "processes left"; return 1; }
	nothing_left "$id" "sdt-$id.scope" "$cg/system.slice/sdt-$id.scope"
}
check_rootless_no_bus() {
	local id=$1 out rc
	bundle "$id" "" '["true"]' '.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 1000, size: 1}] | .linux.gidMappings = [{containerID: 0, hostID: 1000, size: 1}]'
	chmod -R a+rX "$work/$id"
	mkdir -p "$work/rootless-$name" && chown 1000:1000 "$work/rootless-$name"
	out=$(cd "$work" && env -i PATH=/usr/bin:/bin setpriv --reuid 1000 --regid 1000 --clear-groups \
		timeout "$op_timeout" "$RUNTIME" --root "$work/rootless-$name" --systemd-cgroup run --bundle "$work/$id" "$id" 2>&1 </dev/null)
	rc=$?
	expect "exit status" "$rc" 1 || { echo "$out"; return 1; }
	if [[ $name == rt ]]; then
		expect "lines of stderr" "$(wc -l <<<"$out")" 1 || return 1
		[[ $out == *"no user bus"* ]] || { echo "error does not say there is no user bus: $out"; return 1; }
	fi
	[[ ! -e $work/rootless-$name/$id ]] || { echo "state dir left"; return 1; }
}

# asuser CMD...: CMD as uid 1000 with the user's systemd at $XDG_RUNTIME_DIR/bus (dbus-user-session), from a cgroup
# inside that user's manager (as a user's terminal or app would be): the user's systemd can only move the
# container's init out of a cgroup delegated to the user, never out of this root service's.
asuser() {
	local ucg=$cg/user.slice/user-1000.slice/user@1000.service
	mkdir -p "$ucg/rtsd-user"
	(cd "$work" && sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$ucg/rtsd-user" \
		env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR=/run/user/1000 setpriv --reuid 1000 --regid 1000 \
		--clear-groups timeout "$op_timeout" "$@")
}
check_rootless_user() {
	local id=$1 pid scope ucg=/user.slice/user-1000.slice/user@1000.service
	[[ -S /run/user/1000/bus ]] || { echo "no user bus: user@1000.service did not start"; return 1; }
	scope=$(basename "$RUNTIME")-$id.scope
	bundle "$id" "" '["sleep", "1000"]' '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 1000, size: 1}]
		| .linux.gidMappings = [{containerID: 0, hostID: 1000, size: 1}]
		| .mounts |= map(select(.destination != "/sys")) | .linux.resources = {pids: {limit: 20}}'
	chmod -R a+rX "$work/$id"
	# Output to a file: the detached container keeps its stdio, and a captured pipe would wait for it.
	asuser "$RUNTIME" --root "/run/user/1000/sdt-$name" --systemd-cgroup run -d --bundle "$work/$id" "$id" \
		</dev/null >"$work/$id.out" 2>&1 || { cat "$work/$id.out"; return 1; }
	pid=$(asuser "$RUNTIME" --root "/run/user/1000/sdt-$name" state "$id" | jq .pid)
	expect "init's cgroup" "$(cat "/proc/$pid/cgroup")" "0::$ucg/user.slice/$scope" || return 1
	expect "unit in the user's systemd" "$(asuser systemctl --user show -P ActiveState "$scope")" active || return 1
	expect pids.max "$(cat "$cg$ucg/user.slice/$scope/pids.max")" 20 || return 1
	asuser "$RUNTIME" --root "/run/user/1000/sdt-$name" delete -f "$id" || return 1
	[[ ! -e /run/user/1000/sdt-$name/$id ]] || { echo "state dir left"; return 1; }
	[[ ! -e $cg$ucg/user.slice/$scope ]] || { echo "cgroup left"; return 1; }
	expect "unit after delete" "$(asuser systemctl --user show -P LoadState "$scope")" not-found
}

# --- the README's units, run by systemd ---------------------------------------------------------------------

# install_unit README_UNIT NAME ID [RUNTIME_FLAGS]: the README's unit with the runtime, the bundle $work/ID, the
# id and the pid file substituted, installed as NAME.service. A drop-in keeps it out of the host's boot targets
# (DefaultDependencies=no: sysinit.target would start udev, tmpfiles and the rest) and sends its output to a file.
install_unit() {
	local src=$1 unit=$2 id=$3 flags=${4:-}
	awk -v u="<!-- unit: $src -->" '$0 == u { on = 1; next } on && /^<!-- end unit -->/ { exit } on && !/^```/' \
		"$REPO/README.md" |
		sed -e "s|/usr/local/bin/rt |$RUNTIME $flags |g" -e "s|/srv/web|$work/$id|g" \
			-e "s|/run/rt-web.pid|/run/$id.pid|g" -e "s/ web\( \|$\)/ $id\1/g" >"/etc/systemd/system/$unit.service"
	mkdir -p "/etc/systemd/system/$unit.service.d"
	printf '[Unit]\nDefaultDependencies=no\n[Service]\nStandardOutput=append:%s\nStandardError=inherit\n' \
		"$work/$unit.log" >"/etc/systemd/system/$unit.service.d/test.conf"
}
runtime_clean() {
	[[ -z $(timeout 10 "$RUNTIME" list -q 2>/dev/null) ]] || { echo "containers left: $("$RUNTIME" list)"; return 1; }
	[[ -z $(pgrep -f "$work/$1" || true) ]] || { echo "processes left: $(pgrep -af "$work/$1")"; return 1; }
}
unit_done() { local s; s=$(prop "$1" ActiveState); [[ $s == inactive || $s == failed ]]; }

check_notify() {
	local u=$1 id=$2 main pid
	timeout "$op_timeout" systemctl start "$u" || { cat "$work/$u.log"; return 1; }
	expect ActiveState "$(prop "$u" ActiveState)" active || return 1
	main=$(prop "$u" MainPID)
	pid=$(timeout 10 "$RUNTIME" state "$id" | jq .pid)
	# A foreground run stays the main process and relays signals (README; runc reports its own pid too).
	[[ $(tr '\0' ' ' <"/proc/$main/cmdline") == "$RUNTIME "*"run "* ]] || { echo "MainPID $main is $(tr '\0' ' ' <"/proc/$main/cmdline")"; return 1; }
	[[ $pid -gt 0 && -d /proc/$pid ]] || { echo "container init $pid not running"; return 1; }
	if [[ ${3:-} == systemd ]]; then
		local scope
		scope=$(basename "$RUNTIME")-$id.scope
		expect "init's cgroup" "$(cat "/proc/$pid/cgroup")" "0::/system.slice/$scope" || return 1
		expect "scope" "$(prop "$scope" ActiveState)" active || return 1
	fi
	timeout "$op_timeout" systemctl stop "$u" || return 1
	unit_done "$u" || { echo "after stop: $(prop "$u" ActiveState)"; return 1; }
	runtime_clean "$id" || return 1
	if [[ ${3:-} == systemd ]]; then
		unit_gone "$(basename "$RUNTIME")-$id.scope" || { echo "scope left"; return 1; }
	fi
	systemctl reset-failed "$u" 2>/dev/null
	true
}
check_notify_kill() {
	local u=$1 id=$2
	timeout "$op_timeout" systemctl start "$u" || { cat "$work/$u.log"; return 1; }
	# systemctl kill signals the unit's cgroup, where only the foreground runtime is: it relays TERM to the
	# container, whose end ends the runtime with a non-zero status (the probe, pid 1 in its namespace, exits 2).
	systemctl kill -s TERM "$u" || return 1
	poll 20 unit_done "$u" || { echo "still $(prop "$u" ActiveState)"; return 1; }
	props "$u" Result ExecMainStatus
	expect "Result" "${P[Result]}" exit-code || return 1
	[[ ${P[ExecMainStatus]} != 0 ]] || { echo "ExecMainStatus 0"; return 1; }
	runtime_clean "$id" || return 1
	systemctl reset-failed "$u"
}
check_forking() {
	local u=$1 id=$2 main pid
	timeout "$op_timeout" systemctl start "$u" || { cat "$work/$u.log"; return 1; }
	expect ActiveState "$(prop "$u" ActiveState)" active || return 1
	main=$(prop "$u" MainPID)
	pid=$(timeout 10 "$RUNTIME" state "$id" | jq .pid)
	expect "MainPID (the container init)" "$main" "$pid" || return 1
	timeout "$op_timeout" systemctl stop "$u" || return 1
	unit_done "$u" || { echo "after stop: $(prop "$u" ActiveState)"; return 1; }
	runtime_clean "$id" || return 1
	systemctl reset-failed "$u" 2>/dev/null
	true
}
check_forking_exit() {
	local u=$1 id=$2
	: >"$work/$u.log"
	timeout "$op_timeout" systemctl start "$u" || { cat "$work/$u.log"; return 1; }
	# The container ends by itself (exit 3 on TERM from outside systemd): the unit fails with its status. The
	# probe says "ready" once its handler is in place; a TERM before that would end it as Go's default does.
	poll 20 grep -q ready "$work/$u.log" || { echo "the probe never said ready"; return 1; }
	timeout 10 "$RUNTIME" kill "$id" TERM || return 1
	poll 20 unit_done "$u" || { echo "still $(prop "$u" ActiveState)"; return 1; }
	props "$u" ActiveState ExecMainStatus
	expect ActiveState "${P[ActiveState]}" failed || return 1
	expect ExecMainStatus "${P[ExecMainStatus]}" 3 || return 1
	poll 10 runtime_clean "$id" || runtime_clean "$id" || return 1
	systemctl reset-failed "$u"
}

echo "# guest: kernel $(uname -r), $(systemctl --version | head -n 1), controllers: $(cat $cg/cgroup.controllers)"
# Every runtime's units first, and one daemon-reload for all of them (each reload costs seconds here).
for RUNTIME in ${RUNTIMES:?}; do
	name=$(basename "$RUNTIME")
	bundle "n1$name" "" '["/probe", "notify", "READY=1"]'
	install_unit rt-notify.service "n1$name" "n1$name"
	bundle "n2$name" "" '["/probe", "notify", "READY=1"]'
	install_unit rt-notify.service "n2$name" "n2$name" --systemd-cgroup
	bundle "f1$name" "" '["/probe", "signals", "3"]'
	install_unit rt-forking.service "f1$name" "f1$name"
done
# The user's own systemd for the rootless checks, without logind (not started here): /run/user/1000 made by a
# replacement user-runtime-dir@.service, XDG_RUNTIME_DIR given to the manager, and a PAM stack for user@.service
# (this host has no /etc/pam.d/systemd-user). All of it in the overlay, in guest memory.
printf 'auth sufficient pam_permit.so\naccount sufficient pam_permit.so\nsession sufficient pam_permit.so\n' >/etc/pam.d/systemd-user
cat >/etc/systemd/system/user-runtime-dir@.service <<'UNIT'
[Unit]
DefaultDependencies=no
StopWhenUnneeded=yes
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mkdir -p /run/user/%i && chown %i:%i /run/user/%i && chmod 0700 /run/user/%i'
UNIT
mkdir -p /etc/systemd/system/user@.service.d
printf '[Unit]\nDefaultDependencies=no\n[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%%i\n' \
	>/etc/systemd/system/user@.service.d/test.conf
systemctl daemon-reload
timeout "$op_timeout" systemctl start user@1000.service || {
	echo "# guest: user@1000.service did not start"
	systemctl status --no-pager user@1000.service user-runtime-dir@1000.service 2>&1 | sed 's/^/#   /'
}
for RUNTIME in $RUNTIMES; do
	name=$(basename "$RUNTIME")
	tap_label="$name: "
	state=/run/sdt-$name
	echo "# $name: $("$RUNTIME" --version | head -n 1)"
	s=sdt-d1$name.scope
	check "--systemd-cgroup run -d: a scope with Delegate, Slice, resources and annotations as properties and files" check_create "d1$name" "$s"
	check "exec joins the scope" check_exec "d1$name" "$s"
	check "update sets MemoryMax/TasksMax and the files" check_update "d1$name" "$s"
	check "pause/resume" check_pause "d1$name" "$s"
	check "ps and events --stats" check_ps_events "d1$name" "$s"
	check "kill --all, delete: no unit, job, cgroup or state left" check_kill_delete "d1$name" "$s"
	check "delete -f of a paused container; delete of a stopped one with a frozen leftover: nothing left" check_delete_frozen "d9$name"
	check "a nested slice expands as systemd's" check_slice "d2$name"
	check "a create failing after the unit exists stops it: exit 1, nothing left" check_fails_after_unit "d3$name"
	check "a second container with the same cgroupsPath fails in one line; the first runs on in its unit" check_same_unit "d8$name"
	check "foreground run in a scope exits with the status; nothing left" check_foreground "d4$name"
	check "a property systemd refuses: exit 1, one line naming it, nothing left" check_refused_property "d5$name"
	check "rootless without a user bus: refused, nothing left" check_rootless_no_bus "d6$name"
	check "rootless: a scope in the user's own systemd (user.slice), pids.max, delete removes it" check_rootless_user "d7$name"

	check "Type=notify unit: active on READY, MainPID, stop leaves nothing" check_notify "n1$name" "n1$name"
	check "Type=notify unit: systemctl kill reaches the container, exit fails the unit with its status" check_notify_kill "n1$name" "n1$name"
	check "Type=notify unit with --systemd-cgroup, empty cgroupsPath: the container in its own scope named after the runtime; stop removes it" check_notify "n2$name" "n2$name" systemd
	check "Type=forking unit: active with the pid file, MainPID is the init, stop leaves nothing" check_forking "f1$name" "f1$name"
	check "Type=forking unit: the container exits 3, the unit fails with status 3" check_forking_exit "f1$name" "f1$name"
done

tap_summary && echo 0 >"$results/status" || echo 1 >"$results/status"
sync
