#!/usr/bin/env bash
# The AppArmor checks of `make test-lsm`. init.sh runs this as root inside the
# UML guest booted with AppArmor as its LSM (tests/uml/lsm.sh), with the
# results directory as $1; $1/env names the runtimes (RTUML_RUNTIMES), each
# checked in turn in this one boot. Output is TAP as in guest.sh, the last
# line "N passed, N failed"; the exit status is 0 when nothing failed.
set -u
results=$1
# shellcheck source=/dev/null
. "$results/env"
# shellcheck source=tests/uml/lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"
cut -d' ' -f1 /proc/uptime >"$results/boot-time"

work=/tmp/rtlsm
rootfs=$work/rootfs
cg=/sys/fs/cgroup
mkdir -p "$work"

# Every runtime call is bounded, so one hung call costs 30 s, not the boot.
op_timeout=30
# rt runs the runtime under test ($R, named $name) with a state root of its own.
rt() { timeout "$op_timeout" "$R" --root "/run/rtlsm/$name" "$@"; }

# has FILE TEXT / lacks FILE TEXT: a fixed string is (not) in FILE, else say so.
has() { grep -qF -- "$2" "$1" || { echo "no '$2' in:"; cat "$1"; return 1; }; }
lacks() { ! grep -qF -- "$2" "$1" || { echo "'$2' in:"; cat "$1"; return 1; }; }

# one_line_naming FILE TEXT: for rt, FILE (a failed call's stderr) is one line
# `rt: ...` containing TEXT. runc's words are its own (its message names the
# attr file, not the profile): only that it said something is checked.
one_line_naming() {
	[[ -s $1 ]] || { echo "nothing on stderr"; return 1; }
	[[ $name == runc* ]] && return 0
	local lines
	lines=$(wc -l <"$1")
	((lines == 1)) || { echo "stderr is $lines lines:"; cat "$1"; return 1; }
	has "$1" "rt: " && has "$1" "$2"
}

# bundle ID ARGS [JQ [JQ-ARG...]]: $work/$name/ID/config.json for a busybox
# container in cgroup /rtlsm/$name-ID, ARGS as JSON, JQ an optional jq filter
# applied last (with JQ-ARGs such as --arg NAME VALUE).
bundle() {
	local id=$1 args=$2 extra=${3:-.}
	shift $(($# < 3 ? $# : 3))
	mkdir -p "$work/$name/$id"
	jq -n --arg root "$rootfs" --arg cgpath "/rtlsm/$name-$id" --argjson args "$args" "$@" '{
		ociVersion: "1.0.2",
		process: {
			terminal: false, user: {uid: 0, gid: 0}, args: $args, cwd: "/", env: ["PATH=/bin"],
			capabilities: {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}
		},
		root: {path: $root, readonly: true},
		hostname: "rtlsm",
		mounts: [
			{destination: "/proc", type: "proc", source: "proc"},
			{destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
			{destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
			{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]}
		],
		linux: {
			cgroupsPath: $cgpath,
			namespaces: [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}],
			maskedPaths: ["/proc/kcore", "/proc/keys"],
			readonlyPaths: ["/proc/sys", "/proc/sysrq-trigger"]
		}
	} | '"$extra" >"$work/$name/$id/config.json"
}

# process_json FILE [JQ]: a process.json for exec -p that runs exec_script, JQ
# applied last.
process_json() {
	jq -n --arg s "$exec_script" '{terminal: false, user: {uid: 0, gid: 0}, args: ["sh", "-c", $s], cwd: "/",
		env: ["PATH=/bin"]} | '"${2:-.}" >"$1"
}

# --- set-up: securityfs, the profiles, a busybox rootfs ----------------------

echo "# guest: kernel $(uname -r), lsm $(cat /sys/kernel/security/lsm 2>/dev/null || echo '?')"
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
echo "# guest: lsm $(cat /sys/kernel/security/lsm), apparmor enabled: $(cat /sys/module/apparmor/parameters/enabled)"
# rtlsm-deny is the container's: everything but writes below /tmp (the
# container's own tmpfs), audited so denials show in the kernel log.
# rtlsm-other is exec --apparmor's: everything but writes below /dev/shm.
# rtlsm-missing is never loaded.
cat >"$work/profiles" <<'EOF'
profile rtlsm-deny flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  audit deny /tmp/** w,
}
profile rtlsm-other flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  audit deny /dev/shm/** w,
}
EOF
setup_ok=1
if ! out=$(apparmor_parser -r -K "$work/profiles" 2>&1); then
	setup_ok=0
	echo "# guest: apparmor_parser failed:"
	diag "$out"
fi
echo "# guest: loaded: $(tr '\n' ' ' </sys/kernel/security/apparmor/profiles)"
mkdir -p "$rootfs"/{bin,proc,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh cat echo sleep; do
	ln -s busybox "$rootfs/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
echo "untouched" >"$work/decoy.orig"

# --- the checks, for one runtime --------------------------------------------

# The confined container: its own process reports its profile and tries both
# writes, then sleeps for the exec checks.
# shellcheck disable=SC2016 # expanded by the container's shell
conf_script='cat /proc/self/attr/current; echo x >/tmp/f && echo tmp-written; echo x >/dev/shm/f && echo shm-written; echo ready; exec sleep 1000'
# An exec'd process: its profile, then both writes.
# shellcheck disable=SC2016
exec_script='cat /proc/self/attr/current; echo x >/tmp/e && echo tmp-written; echo x >/dev/shm/e && echo shm-written; true'

conf_ready() { grep -q ready "$work/$name/conf.out"; }
check_confined() {
	bundle conf "$(jq -cn --arg s "$conf_script" '["sh", "-c", $s]')" '.process.apparmorProfile = "rtlsm-deny"'
	rt create --bundle "$work/$name/conf" conf </dev/null >"$work/$name/conf.out" 2>"$work/$name/conf.err" || {
		cat "$work/$name/conf.err"
		return 1
	}
	rt start conf || return 1
	poll 30 conf_ready || { echo "not ready:"; cat "$work/$name/conf.out"; return 1; }
	expect attr/current "$(head -n 1 "$work/$name/conf.out")" "rtlsm-deny (enforce)" || return 1
	lacks "$work/$name/conf.out" tmp-written && has "$work/$name/conf.err" "/tmp/f: Permission denied" &&
		has "$work/$name/conf.out" shm-written
}

# exec_check OUT WANT ARGS...: exec into conf; its attr/current is WANT, and
# with exec_script, the writes its profile denies fail (stdout to OUT).
exec_check() {
	local out=$work/$name/$1 want=$2
	shift 2
	rt exec "$@" >"$out" 2>"$out.err" || { echo "exec failed:"; cat "$out.err"; return 1; }
	expect attr/current "$(head -n 1 "$out")" "$want" || return 1
	case $want in
	"rtlsm-deny (enforce)") lacks "$out" tmp-written && has "$out" shm-written ;;
	"rtlsm-other (enforce)") has "$out" tmp-written && lacks "$out" shm-written ;;
	unconfined) has "$out" tmp-written && has "$out" shm-written ;;
	esac
}
check_exec_inherits() { exec_check exec-plain.out "rtlsm-deny (enforce)" conf sh -c "$exec_script"; }
check_exec_apparmor() { exec_check exec-flag.out "rtlsm-other (enforce)" --apparmor rtlsm-other conf sh -c "$exec_script"; }
check_exec_p() {
	process_json "$work/$name/p-other.json" '.apparmorProfile = "rtlsm-other"'
	exec_check exec-p.out "rtlsm-other (enforce)" -p "$work/$name/p-other.json" conf
}
# runc 1.5 keeps no AppArmor profile for the container itself, only in its
# process: exec -p takes the process.json's, none here.
check_exec_p_unconfined() {
	process_json "$work/$name/p-none.json"
	exec_check exec-p-none.out unconfined -p "$work/$name/p-none.json" conf
}
check_exec_missing() {
	local rc procs
	rt exec --apparmor rtlsm-missing conf cat /proc/self/attr/current >"$work/$name/exec-missing.out" 2>"$work/$name/exec-missing.err"
	rc=$?
	((rc != 0)) || { echo "exec under an unloaded profile succeeded:"; cat "$work/$name/exec-missing.out"; return 1; }
	one_line_naming "$work/$name/exec-missing.err" 'process.apparmorProfile "rtlsm-missing": profile not loaded' || return 1
	cat "$work/$name/exec-missing.err"
	# Nothing left: the container's cgroup holds its sleep and nothing else.
	procs=$(wc -l <"$cg/rtlsm/$name-conf/cgroup.procs")
	expect "processes in the container's cgroup" "$procs" 1
}
conf_stopped() { [[ $(rt state conf 2>/dev/null | jq -r .status) == stopped ]]; }
check_conf_delete() {
	rt kill conf KILL || return 1
	poll 30 conf_stopped || { echo "not stopped"; return 1; }
	rt delete conf || return 1
	[[ ! -e $cg/rtlsm/$name-conf ]] || { echo "cgroup left"; return 1; }
}

check_unconfined() {
	bundle plain '["cat", "/proc/self/attr/current"]'
	rt run --bundle "$work/$name/plain" plain </dev/null >"$work/$name/plain.out" 2>&1 || { cat "$work/$name/plain.out"; return 1; }
	expect attr/current "$(head -n 1 "$work/$name/plain.out")" unconfined
}

check_create_missing() {
	local rc
	bundle missing '["true"]' '.process.apparmorProfile = "rtlsm-missing"'
	rt create --bundle "$work/$name/missing" missing </dev/null >"$work/$name/missing.out" 2>"$work/$name/missing.err"
	rc=$?
	expect "create status" "$rc" 1 || { cat "$work/$name/missing.err"; return 1; }
	one_line_naming "$work/$name/missing.err" 'process.apparmorProfile "rtlsm-missing": profile not loaded' || return 1
	cat "$work/$name/missing.err"
	# Nothing left behind: no state, no cgroup (so no process), no state directory entry.
	! rt state missing >/dev/null 2>&1 || { echo "state of missing still there"; return 1; }
	[[ ! -e /run/rtlsm/$name/missing ]] || { echo "state directory left"; return 1; }
	[[ ! -e $cg/rtlsm/$name-missing ]] || { echo "cgroup left: $(cat "$cg/rtlsm/$name-missing/cgroup.procs")"; return 1; }
}

# CVE-2025-52881 class: a createContainer hook (run in the container's mount
# namespace after its mounts) binds a host file over every attr file of the
# container's init in the container's /proc. A runtime that writes the profile
# through that /proc writes the file instead, and the container runs unconfined.
# shellcheck disable=SC2016 # expanded by the hook's shell
bind_hook='for f in "$2"/proc/1/attr/apparmor/exec "$2"/proc/1/attr/exec "$2"/proc/1/task/*/attr/apparmor/exec "$2"/proc/1/task/*/attr/exec; do mount --bind "$1" "$f" || exit 1; done'
check_not_redirected() {
	cp "$work/decoy.orig" "$work/$name/decoy"
	# shellcheck disable=SC2016 # jq's variables
	bundle bound '["cat", "/proc/self/attr/current"]' '.process.apparmorProfile = "rtlsm-deny"
		| .hooks.createContainer = [{path: "/bin/sh", args: ["sh", "-c", $hook, "sh", $decoy, $root]}]' \
		--arg hook "$bind_hook" --arg decoy "$work/$name/decoy"
	rt run --bundle "$work/$name/bound" bound </dev/null >"$work/$name/bound.out" 2>&1 || { cat "$work/$name/bound.out"; return 1; }
	expect "the decoy bound over the attr files" "$(cat "$work/$name/decoy")" untouched || return 1
	expect attr/current "$(head -n 1 "$work/$name/bound.out")" "rtlsm-deny (enforce)"
}

check_features() {
	local got
	got=$(rt features | jq -c .linux.apparmor) || return 1
	expect "features .linux.apparmor" "$got" '{"enabled":true}'
}

t0=$EPOCHREALTIME
for R in $RTUML_RUNTIMES; do
	name=$(basename "$R")
	[[ $name != runc ]] || name=runc-$("$R" --version | awk 'NR == 1 { print $3 }')
	tap_label="$name: "
	echo "# guest: runtime $R ($("$R" --version | head -n 1))"
	mkdir -p "$work/$name"
	if ((!setup_ok)); then
		check "AppArmor profiles loaded" false
		continue
	fi
	check "container under a profile: attr/current names it (enforce), /tmp write denied, /dev/shm works" check_confined
	check "exec without --apparmor runs under the container's profile" check_exec_inherits
	check "exec --apparmor PROFILE runs under PROFILE" check_exec_apparmor
	check "exec -p process.json with apparmorProfile: as --apparmor" check_exec_p
	check "exec -p process.json without apparmorProfile runs unconfined, as runc 1.5" check_exec_p_unconfined
	check "exec --apparmor with an unloaded profile fails naming it, nothing left" check_exec_missing
	check "kill and delete the confined container" check_conf_delete
	check "without a profile the container is unconfined" check_unconfined
	check "create with an unloaded profile: exit 1 naming it, nothing left" check_create_missing
	check "profile written past a file bound over the container's attr files" check_not_redirected
	check "features: linux.apparmor.enabled is true" check_features
done

echo "# guest: checks took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
tap_summary
