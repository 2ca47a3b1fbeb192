#!/usr/bin/env bash
# Builds the appliance image for one board:
#   firmware/build.sh BOARD OUTDIR
# leaves OUTDIR/vmlinux (Debian's kernel as an uncompressed ELF: QEMU boots it
# via PVH ~3 s faster under TCG than the XZ bzImage), OUTDIR/vmlinuz (the
# bzImage, for boot loaders) and OUTDIR/probe.cpio (the u-root initramfs).
# Needs no root: the kernel package is fetched with apt-get download and
# unpacked with dpkg-deb -x. Same inputs, same bytes (tested).
#
# The image carries open-licensed country and AS databases
# (firmware/geoip.lock); MaxMind's GeoLite2/GeoIP2 files are the user's to
# supply (--geoip-dir), never baked in.
#
# Firmware updates are signed: SIGNING_KEY=KEY.pem (an ed25519 key, PKCS#8
# PEM, e.g. from `openssl genpkey -algorithm ed25519`) is the key the image
# trusts (its public half goes into /etc/probe/update-keys) and signs
# OUTDIR/update/ with: vmlinuz and initrd (the zstd initramfs, as a slot
# holds it), each with its .sig. Without SIGNING_KEY a throwaway development
# key is made once under out/keys/ and reused, so builds stay reproducible.
set -euo pipefail
signing_key=${SIGNING_KEY:-}
if [ -n "$signing_key" ]; then
	signing_key=$(realpath "$signing_key")
fi
cd "$(dirname "$0")/.."
board=${1:?usage: firmware/build.sh BOARD OUTDIR}
out=${2:?usage: firmware/build.sh BOARD OUTDIR}
boardfile=board/$board/board.json
[ -f "$boardfile" ] || { echo "build: no board $board ($boardfile)" >&2; exit 1; }
# shellcheck source=kernel.lock
. firmware/kernel.lock
export GOAMD64=v1 CGO_ENABLED=0 GOOS=linux GOARCH=amd64

# step says which part of the build runs (the slow ones take 10-60 s), with
# the seconds since the build started.
step() { echo "build: [${SECONDS}s] $*"; }
# beat runs a long command with a line every 15 s saying it still runs;
# its exit status is the command's.
beat() { bash scripts/heartbeat.sh "$@"; }

cache=out/cache
kroot=out/kernel/$KVER
mkdir -p "$cache" "$out"

# 1. Debian's kernel package, verified against the lock file.
step "1/6 kernel package $KPKG $KPKG_VERSION"
deb=$cache/${KPKG}_${KPKG_VERSION}_amd64.deb
if ! echo "$KPKG_SHA256  $deb" | sha256sum -c --status 2>/dev/null; then
	rm -f "$deb"
	(cd "$cache" && { apt-get download "$KPKG=$KPKG_VERSION" 2>/dev/null ||
		{ apt-get update -qq && apt-get download "$KPKG=$KPKG_VERSION"; }; })
	echo "$KPKG_SHA256  $deb" | sha256sum -c --status ||
		{ echo "build: $deb does not match KPKG_SHA256 in firmware/kernel.lock" >&2; exit 1; }
fi

# 2. Unpacked once per package; depmod over the whole tree so that module
#    dependencies come from the kernel's own symbol tables.
if [ "$(cat "$kroot/.sha256" 2>/dev/null)" != "$KPKG_SHA256" ]; then
	step "2/6 unpacking the kernel, depmod, vmlinux"
	rm -rf "$kroot"
	mkdir -p "$kroot"
	dpkg-deb -x "$deb" "$kroot/root"
	depmod -b "$kroot/root" "$KVER"
	# The bzImage carries the kernel as one XZ stream after the setup code.
	vmlinuz=$kroot/root/boot/vmlinuz-$KVER
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
	# (xz stops after the stream: tail's SIGPIPE must not fail the pipeline)
	xz -dc --single-stream <(tail -c +$((off + 1)) "$vmlinuz") >"$kroot/vmlinux"
	echo "$KPKG_SHA256" >"$kroot/.sha256"
else
	step "2/6 kernel unpacked already ($kroot)"
fi
cp "$kroot/vmlinux" "$out/vmlinux"
cp "$kroot/root/boot/vmlinuz-$KVER" "$out/vmlinuz"

# 3. The files laid into the image: the board's modules, rootfs/, the board
#    file, and mke2fs with its libraries (first boot formats the data disk).
step "3/6 staging modules, rootfs/, the board file, mke2fs"
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/etc/probe"
go run ./tools/imgtool modules -tree "$kroot/root/lib/modules/$KVER" -board "$boardfile" -out "$stage"
cp -r rootfs/. "$stage/"
cp "$boardfile" "$stage/etc/probe/board.json"
# The board's kernel command line (console= and kernel_args), for the QEMU
# harness; firmware/disk.sh writes the same into the boot entries.
go run ./tools/imgtool console -board "$boardfile" >"$out/cmdline"
# The open-licensed country and AS databases pinned in firmware/geoip.lock
# (18 MB: ip-location-db's country file and the AS file tools/asnmmdb makes
# from its CSV), in the probe's default --geoip-dir beside the attribution
# their CC BY 4.0 sources require (rootfs/usr/share/probe/geoip/
# COPYRIGHT.txt). GeoLite2's EULA (no redistribution, replace within 30
# days of a new release) does not fit a frozen image: MaxMind's files stay
# the user's to give with --geoip-dir. install-deps checks every file's
# SHA-256 (and is offline once out/geoip holds them).
bash scripts/install-deps.sh geoip >&2
cp out/geoip/geo-whois-asn-country.mmdb out/geoip/ip-location-db-asn.mmdb "$stage/usr/share/probe/geoip/"
mke2fs=$(command -v mke2fs || echo /usr/sbin/mke2fs)
mkdir -p "$stage/sbin"
cp -L "$mke2fs" "$stage/sbin/mke2fs"
for lib in $(ldd "$mke2fs" | grep -oE '/[^ ]+'); do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
# The update signing key's public half: the key(s) this image trusts.
if [ -z "$signing_key" ]; then
	signing_key=$PWD/out/keys/dev-update-signing.pem
	if [ ! -f "$signing_key" ]; then
		go run ./tools/imgtool keygen -out "$signing_key"
		echo "build: no SIGNING_KEY given: generated a throwaway development key $signing_key (never ship it)" >&2
	fi
	echo "build: updates signed with the development key $signing_key (give SIGNING_KEY=KEY.pem for a release)" >&2
fi
[ -r "$signing_key" ] || { echo "build: SIGNING_KEY $signing_key not readable" >&2; exit 1; }
{
	echo "# ed25519 public keys (base64) whose signatures firmware updates may carry"
	go run ./tools/imgtool pubkey -key "$signing_key"
} >"$stage/etc/probe/update-keys"
# Builds must not depend on the umask or the checkout's modes.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod go-w {} +

# The probe: a normal optimised build, stripped and without build ids or
# VCS stamps so that the same tree gives the same bytes.
step "4/6 the probe (go build)"
mkdir -p "$out/bin"
beat "building the probe" go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o "$out/bin/probe" ./cmd/probe

files=(-files "$out/bin/probe:bin/probe")
for d in "$stage"/*; do
	files+=(-files "$d:$(basename "$d")")
done
step "5/6 the initramfs (u-root's mkuimage: probeinit and the rescue commands)"
# u-root v0.16.0 warns that it was tested with Go 1.20-1.22 only; go.mod's Go
# builds it, and the boot test boots what it built. Its warning is replaced
# by one line; anything else it says is shown, all of it if it fails.
uroot_log=$(mktemp)
if ! beat "building the initramfs" go tool mkuimage -config=probe -skip-ldd "${files[@]}" -o "$out/probe.cpio" 2>"$uroot_log"; then
	cat "$uroot_log" >&2
	rm -f "$uroot_log"
	exit 1
fi
if grep -q 'not using one of the recommended Go versions' "$uroot_log"; then
	echo "build: u-root's warning about $(go env GOVERSION) left out: u-root v0.16.0 names Go 1.20-1.22 as tested; this Go builds it (the boot test proves the image)" >&2
fi
# The warning is one line plus tab-indented continuation lines.
awk '/WARN You are not using one of the recommended Go versions/ { skip = 1; next }
	skip && /^\t/ { next }
	{ skip = 0; print }' "$uroot_log" >&2
rm -f "$uroot_log"

# 4. The image as a signed update (POST /appliance/v1/update with each
#    file's sha256 and the base64 in its .sig as kernel_sig / initrd_sig).
step "6/6 the signed update"
rm -rf "$out/update"
mkdir -p "$out/update"
cp "$out/vmlinuz" "$out/update/vmlinuz"
zstd -q -10 -T0 -f "$out/probe.cpio" -o "$out/update/initrd"
go run ./tools/imgtool sign -key "$signing_key" "$out/update/vmlinuz" "$out/update/initrd"
ls -l "$out/probe.cpio" "$out/vmlinux" "$out/update"
