#!/bin/sh
# squall guest init (busybox sh), PID 1 of a squall guest image; embedded by
# src/image/build.rs. The contract (kernel command line, console lines) is documented in
# src/image/mod.rs.
#
# Every line it prints starts with "squall: ". It prints "squall: ready <name>" once the
# network is configured and the node's process has started, "squall: exited <status>" when
# that process ends, and "squall: error <what>" when it cannot go on; then it idles: the
# host decides what happens to the VM.
#
# Sourced with SQUALL_INIT_LIB=1 it only defines its functions (the unit tests use this to
# run decode_cmd on the host).

say() { echo "squall: $*"; }

# Where the data disk is mounted: the guest control reads under it only.
DATA_MOUNT=/data

idle() {
	while :; do
		wait
		sleep 3600
	done
}

fail() {
	say "error $*"
	idle
}

# decode_cmd VALUE FILE: base64url (no padding) -> the NUL-separated strings, into FILE.
decode_cmd() {
	_s=$(printf '%s' "$1" | tr -- '-_' '+/')
	case $((${#_s} % 4)) in
	2) _s="$_s==" ;;
	3) _s="$_s=" ;;
	esac
	printf '%s\n' "$_s" | base64 -d >"$2"
}

# run_cmd FILE: reads the NUL-terminated strings of FILE (see src/image/cmdline.rs:
# <n> env... program args...), exports the n environment entries and execs the program.
# Run it in a subshell: it replaces the shell it runs in.
run_cmd() {
	_file=$1
	set --
	while IFS= read -r -d '' _item; do
		set -- "$@" "$_item"
	done <"$_file"
	_n=$1
	shift
	case $_n in
	'' | *[!0-9]*) return 97 ;;
	esac
	while [ "$_n" -gt 0 ]; do
		export "$1"
		shift
		_n=$((_n - 1))
	done
	[ $# -gt 0 ] || return 98
	exec "$@"
}

# control_cmd LINE: one command of the host's guest control, as the server below passes
# it (one line per connection). Answers on stdout:
# - "clock <epoch seconds>" (the clock nemesis) sets the wall clock to that second (the
#   host sends it at the instant the guest's clock should read it): "ok <now>" or
#   "error <why>";
# - "read <path>", a file under $DATA_MOUNT (a node's data dir: what a system's setup step reads
#   there, such as a ticket the node wrote): "ok", then the file's bytes in base64; or
#   "missing";
# - "list <path>", a directory under $DATA_MOUNT: "ok", then its names, one a line; or "missing".
# Anything else: "error <why>".
control_cmd() {
	_cmd=${1%% *}
	_arg=${1#"$_cmd"}
	_arg=${_arg# }
	case $_cmd in
	clock)
		case $_arg in
		'' | *[!0-9]*) echo "error bad time: $_arg" ;;
		*)
			if date -s "@$_arg" >/dev/null 2>&1; then
				echo "ok $(date +%s)"
				say "clock set to @$_arg" >/dev/console 2>/dev/null
			else
				echo "error date -s @$_arg failed"
			fi
			;;
		esac
		;;
	read | list)
		case "$_arg/" in
		*/../*) echo "error not under $DATA_MOUNT: $_arg" ;;
		"$DATA_MOUNT"/*)
			if [ "$_cmd" = read ] && [ -f "$_arg" ]; then
				echo ok
				base64 <"$_arg"
			elif [ "$_cmd" = list ] && [ -d "$_arg" ]; then
				echo ok
				ls -A1 "$_arg"
			else
				echo missing
			fi
			;;
		*) echo "error not under $DATA_MOUNT: $_arg" ;;
		esac
		;;
	*) echo "error unknown command: $_cmd" ;;
	esac
}

[ "$SQUALL_INIT_LIB" = 1 ] && return 0

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
say "init started"

# Modules, in dependency order (written by the image builder).
if [ -f /etc/squall/modules ]; then
	while read -r _mod; do
		[ -n "$_mod" ] || continue
		insmod "/lib/modules/$_mod.ko" 2>/dev/null || say "insmod $_mod failed"
	done </etc/squall/modules
fi

NAME=node IP= GW= CMD= DATA= CONTROL=
set -f
for _word in $(cat /proc/cmdline); do
	case $_word in
	squall.name=*) NAME=${_word#squall.name=} ;;
	squall.ip=*) IP=${_word#squall.ip=} ;;
	squall.gw=*) GW=${_word#squall.gw=} ;;
	squall.cmd=*) CMD=${_word#squall.cmd=} ;;
	squall.data=*) DATA=${_word#squall.data=} ;;
	squall.control=*) CONTROL=${_word#squall.control=} ;;
	esac
done
set +f
hostname "$NAME"

# Network: lo, and eth0 with the node's address and the default route.
ip link set lo up
if [ -n "$IP" ]; then
	_i=0
	while [ ! -e /sys/class/net/eth0 ]; do
		_i=$((_i + 1))
		[ $_i -le 100 ] || fail "no eth0 after 10 s"
		sleep 0.1
	done
	ip addr add "$IP" dev eth0 || fail "ip addr add $IP dev eth0"
	ip link set eth0 up || fail "ip link set eth0 up"
	if [ -n "$GW" ]; then
		ip route add default via "$GW" dev eth0 || fail "ip route add default via $GW"
	fi
	say "network eth0 $IP gw ${GW:-none}"
fi

# /data: the ext4 disk if one is named, else a tmpfs.
mkdir -p /data
if [ -n "$DATA" ]; then
	_i=0
	while [ ! -b "$DATA" ]; do
		_i=$((_i + 1))
		[ $_i -le 100 ] || fail "no data disk $DATA after 10 s"
		sleep 0.1
	done
	mount -t ext4 "$DATA" /data || fail "mount -t ext4 $DATA /data"
	say "data $DATA on /data"
else
	mount -t tmpfs tmpfs /data
	say "data tmpfs on /data"
fi

# The guest control, when asked for: a TCP server on port $CONTROL of eth0's address, one
# command line per connection (busybox nc forks the handler for each).
if [ -n "$CONTROL" ]; then
	printf '#!/bin/sh\nSQUALL_INIT_LIB=1 . /init\nIFS= read -r _l\ncontrol_cmd "$_l"\n' >/run/squall-control
	chmod 0755 /run/squall-control
	nc -ll -p "$CONTROL" -e /run/squall-control </dev/null >/dev/null 2>&1 &
	say "control on port $CONTROL"
fi

[ -n "$CMD" ] || fail "no squall.cmd on the kernel command line"
decode_cmd "$CMD" /run/squall.cmd || fail "squall.cmd is not base64url"
(run_cmd /run/squall.cmd) </dev/null &
_pid=$!
say "ready $NAME"
wait $_pid
say "exited $?"
idle
