#!/usr/bin/env bash
# vmlinux-deb.sh ARCH SUITE PACKAGE: writes to stdout the vmlinux.h of a Debian
# kernel package of another architecture, from the BTF inside its kernel
# image (`make vmlinux-arm64` runs it for bpf/headers/arm64/vmlinux.h).
#
#   bpf/headers/vmlinux-deb.sh arm64 bookworm-backports linux-image-6.12.95+deb12-arm64
#
# The package comes with `apt-get download`, from the Debian archive this
# machine's apt configuration names ($TLMON_DEBIAN_MIRROR overrides it),
# through a sources list and state of its own in a temporary folder: the
# system's apt configuration is not changed. The image (/boot/vmlinuz-*, a
# plain arm64 Image, or one gzip'ed) is no ELF, but a kernel built with
# CONFIG_DEBUG_INFO_BTF carries its .BTF section in it unchanged: the script
# finds it by its header (magic 0xeb9f, version 1, a 24-byte header), cuts
# header + strings' offset + strings' length bytes out, and bpftool dumps that
# raw BTF as C. Needs apt-get, dpkg-deb, grep -P, od, dd and bpftool.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 ARCH SUITE PACKAGE  (e.g. arm64 bookworm-backports linux-image-6.12.95+deb12-arm64)" >&2
	exit 2
fi
arch=$1 suite=$2 pkg=$3

# The archive of the machine's first "deb ... main" source (one-line or deb822).
mirror=${TLMON_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && / main( |$)/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' || true)
fi
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
		function flush() { if (!done && deb && main && uri != "" && plain) { print uri; done = 1; exit } deb = main = plain = 0; uri = "" }
		/^[ \t]*$/ { flush(); next }
		$1 == "Types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
		$1 == "URIs:" { uri = $2 }
		$1 == "Components:" { for (i = 2; i <= NF; i++) if ($i == "main") main = 1 }
		$1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-(security|updates)$/) plain = 1 }
		END { flush() }' || true)
fi
if [ -z "$mirror" ]; then
	echo "$0: no Debian archive in /etc/apt/sources.list or sources.list.d; set TLMON_DEBIAN_MIRROR" >&2
	exit 1
fi
mirror=${mirror%/}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$tmp/sources.list"
opts=(-q -o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Dir::State::status=/dev/null
	-o APT::Sandbox::User=root -o Acquire::Languages=none
	-o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
apt-get "${opts[@]}" update >/dev/null
version=$(apt-cache "${opts[@]}" show "$pkg" | awk '$1 == "Version:" { print $2; exit }')
(cd "$tmp" && apt-get "${opts[@]}" download "$pkg" >/dev/null)

deb=$(ls "$tmp"/*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
img=$(ls "$tmp"/boot/vmlinuz-*)
if [ "$(od -An -tx1 -N2 "$img" | tr -d ' ')" = 1f8b ]; then
	gzip -dc <"$img" >"$tmp/Image"
	img=$tmp/Image
fi

# struct btf_header: magic (u16), version, flags, hdr_len, then type_off,
# type_len, str_off, str_len (u32 each); the strings come last.
off=$(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$img" | head -n1 | cut -d: -f1)
if [ -z "$off" ]; then
	echo "$0: no BTF in $(basename "$img") of $pkg (built without CONFIG_DEBUG_INFO_BTF?)" >&2
	exit 1
fi
read -r hdr_len type_off type_len str_off str_len < <(od -An -v -w20 -tu4 -j $((off + 4)) -N 20 "$img")
dd if="$img" of="$tmp/vmlinux.btf" bs=4M skip="$off" count=$((hdr_len + str_off + str_len)) \
	iflag=skip_bytes,count_bytes status=none

echo "/* $pkg $version ($arch), from Debian's $suite: bpf/headers/vmlinux-deb.sh $arch $suite $pkg */"
bpftool btf dump file "$tmp/vmlinux.btf" format c
