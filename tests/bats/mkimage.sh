#!/usr/bin/env bash
# mkimage.sh busybox|debian OUT.tar: make, offline, an image runc's bats suite asks get-images.sh for.
#   busybox: Debian's busybox-static with every applet linked in /bin, and the accounts of the docker busybox image.
#   debian:  debootstrap --variant=minbase of the host's Debian release from the host's Debian mirror.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 busybox|debian OUT.tar" >&2; exit 2; }
kind=$1
out=$(realpath -m "$2")
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.mkimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/rootfs
mkdir -p "$root"

case $kind in
busybox)
	busybox=/bin/busybox
	[ -x "$busybox" ] || { echo "mkimage: $busybox missing: install busybox-static (scripts/deps.sh bats)" >&2; exit 1; }
	mkdir -p "$root"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,sbin,var/spool/mail,var/www}
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	cp "$busybox" "$root/bin/busybox"
	for applet in $("$busybox" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
	done
	# The accounts the suite's busybox image has (tests name users and groups such as nobody and daemon).
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		lp:x:7:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		floppy:x:11:
		news:x:13:
		uucp:x:14:
		audio:x:29:
		www-data:x:33:
		operator:x:37:
		staff:x:50:
		users:x:100:
		nogroup:x:65534:
	EOF
	;;
debian)
	# shellcheck source=/dev/null
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	mirror=$(sed -nE 's/^(URIs:|deb) *(https?:[^ ]+).*/\2/p' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	echo "mkimage: debootstrap $codename from $mirror (a few minutes, once)" >&2
	if ! debootstrap --variant=minbase "$codename" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
		tail -5 "$tmp/debootstrap.log" >&2
		echo "mkimage: debootstrap failed: the suite's debian tests need a Debian mirror once" >&2
		exit 1
	fi
	# Slim, as the suite's own debian image is: each test unpacks the image anew.
	rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
		"$root"/usr/share/{doc,man,info,locale,lintian}
	;;
*)
	echo "mkimage: unknown image $kind (busybox or debian)" >&2
	exit 2
	;;
esac

# Not compressed: each test of the suite unpacks an image anew, and GNU tar reads a plain tar whatever its name.
tar --numeric-owner -C "$root" -cf "$tmp/image.tar" .
mv "$tmp/image.tar" "$out"
