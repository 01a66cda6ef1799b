#!/usr/bin/env bash
# build/strongswan.sh — build the strongSwan pieces `make interop` talks to
# (charon with tnc-pdp and the OS/Attestation/SWIMA IMVs, pt-tls-client with
# the OS/Attestation/SWIMA IMCs, sw-collector) from Debian 12's source package,
# into a cache outside the clone keyed by the version:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/imchost/strongswan-5.9.8-<recipe hash>
#
# Debian's binary packages leave out tnc-pdp, libimcv and the IMCs/IMVs, so
# the peer is built here. The source comes from `apt-get source` through a
# private apt configuration (a deb-src list and a lists directory of our own
# under the cache), so the machine's apt setup is left as it is; the build
# dependencies come from the machine's ordinary apt-get.
#
# The last line of stdout is the prefix. A stamp file ($PREFIX/.complete) is
# written only after `make install` succeeded: a killed or failed build is
# rebuilt from scratch on the next run.
#
# build/strongswan/*.patch are applied to the source first (one, tiny: see
# its header).
#
# Usage: build/strongswan.sh [--print-prefix]
set -euo pipefail

VERSION=5.9.8
# RECIPE counts changes to how the build is done that the configure flags
# and patches below do not show (bump it with such a change).
RECIPE=2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/imchost
PATCHES=$(cd "$(dirname "$0")" && pwd)/strongswan
JOBS=${JOBS:-2}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

# Only what the interop tests use (pt-tls-client and libpttls come with
# tnccs-20; there is no switch of their own). The paths come in below:
# sysconfdir inside the prefix, nothing goes to /etc; the tests write their
# own strongswan.conf files and point STRONGSWAN_CONF at them.
features=(
	--disable-defaults
	--enable-charon --enable-ikev2 --disable-ikev1
	--enable-nonce --enable-random --enable-openssl --enable-sha1 --enable-sha2
	--enable-md5 --enable-hmac
	--enable-pem --enable-pkcs1 --enable-pkcs8 --enable-x509 --enable-pubkey
	--enable-constraints
	--enable-sqlite
	--enable-tnc-pdp --enable-tnc-imc --enable-tnc-imv --enable-tnccs-20
	--enable-imc-os --enable-imv-os
	--enable-imc-attestation --enable-imv-attestation
	--enable-imc-swima --enable-imv-swima
	--enable-tpm --enable-tss-tss2
	--enable-vici --enable-swanctl
	--enable-socket-default --enable-kernel-netlink
	--disable-pki --disable-scripts --disable-stroke --disable-updown
	--disable-attr --disable-resolve --disable-xauth-generic
	--disable-dependency-tracking
)

# The cache is keyed by the version and a hash of the recipe (flags,
# patches, RECIPE): two checkouts with different recipes on one machine
# (developers sharing a user, CI runners) each keep their own build instead
# of rebuilding over the other's while it is in use.
recipe=$({ echo "$VERSION $RECIPE"; printf '%s\n' "${features[@]}"; cat "$PATCHES"/*.patch; } | sha256sum | cut -c1-12)
PREFIX=$CACHE/strongswan-$VERSION-$recipe
WORK=$PREFIX.build
STAMP=$PREFIX/.complete

if [ "${1:-}" = --print-prefix ]; then
	echo "$PREFIX"
	exit 0
fi

# One build per recipe at a time: a second run waits, then finds it done.
mkdir -p "$CACHE"
exec 9> "$PREFIX.lock"
flock 9
if [ -f "$STAMP" ]; then
	echo "strongSwan $VERSION: cached in $PREFIX" >&2
	echo "$PREFIX"
	exit 0
fi

start=$(date +%s)
say() { echo "strongswan.sh: $*" >&2; }

# Build dependencies: libtss2 for the TPM (tss-tss2; it brings the swtpm
# TCTI), OpenSSL, SQLite for the IMV database, json-c for the SWIMA IMC and
# IMV (RFC 8412 inventories travel through them as JSON), dpkg-dev for apt-get source,
# patch. The release tarball Debian ships has its parsers pre-generated, so
# no bison, flex or gperf.
need=()
for p in build-essential dpkg-dev patch pkg-config libssl-dev libsqlite3-dev libtss2-dev libjson-c-dev; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]} (apt-get)"
	$SUDO apt-get update -q >&2
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

rm -rf "$PREFIX" "$WORK"
mkdir -p "$WORK/apt/sources.list.d" "$WORK/apt/lists/partial" "$WORK/src"

# The deb-src entries mirror the deb entries of a stock Debian 12 machine.
cat > "$WORK/apt/sources.list.d/deb-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(
	-o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$WORK/apt/sources.list.d"
	-o "Dir::State::Lists=$WORK/apt/lists"
	-o "APT::Sandbox::User=root"
)
say "fetching the source package (private apt lists in $WORK/apt)"
apt-get "${apt_opts[@]}" update -q >&2
# The newest 5.9.8 revision first; a mirror may list a security revision it
# does not (yet) serve, so fall back to the next one.
fetched=
for v in $(apt-cache "${apt_opts[@]}" showsrc strongswan | awk '/^Version:/ {print $2}' | sort -rV); do
	case $v in "$VERSION"-*) ;; *) continue ;; esac
	rm -rf "${WORK:?}/src"/*
	if (cd "$WORK/src" && apt-get "${apt_opts[@]}" source -q "strongswan=$v" >&2); then
		fetched=$v; break
	fi
	say "strongswan $v could not be fetched, trying an older revision"
done
[ -n "$fetched" ] || { say "no strongswan $VERSION source package could be fetched"; exit 1; }
say "source package strongswan $fetched"
src=$(find "$WORK/src" -mindepth 1 -maxdepth 1 -type d -name "strongswan-$VERSION*" | head -n 1)
[ -n "$src" ] || { say "no strongswan-$VERSION source directory after apt-get source"; exit 1; }

# Our patches (each file says what it changes and why).
for p in "$PATCHES"/*.patch; do
	say "applying $(basename "$p")"
	patch -d "$src" -p1 --forward --quiet < "$p" >&2
done
# Debian's own patches touch two Makefile.am files (neither change matters
# to `make all`); their new times would make make rerun automake, which a
# build machine need not have. The autotools inputs are dated back, so the
# shipped Makefile.in, configure and config.h.in are used as they are.
find "$src" \( -name Makefile.am -o -name configure.ac -o -name '*.m4' \) -exec touch -d '2000-01-01 00:00:00' {} +

config=(
	--prefix="$PREFIX"
	--sysconfdir="$PREFIX/etc"
	--with-ipsecdir="$PREFIX/lib/ipsec"
	--with-piddir="$PREFIX/run"
	"${features[@]}"
)

say "configuring strongSwan $VERSION in $src"
(cd "$src" && ./configure "${config[@]}") > "$WORK/configure.log" 2>&1 || {
	tail -n 40 "$WORK/configure.log" >&2; say "configure failed (log: $WORK/configure.log)"; exit 1; }
say "building (make -j$JOBS)"
(cd "$src" && make -j"$JOBS") > "$WORK/make.log" 2>&1 || {
	tail -n 40 "$WORK/make.log" >&2; say "make failed (log: $WORK/make.log)"; exit 1; }
(cd "$src" && make install) > "$WORK/install.log" 2>&1 || {
	tail -n 40 "$WORK/install.log" >&2; say "make install failed (log: $WORK/install.log)"; exit 1; }

# The tests make the IMV database from the SQL files strongSwan installs
# (share/strongswan/templates/database/imv): check they are there.
[ -f "$PREFIX/share/strongswan/templates/database/imv/tables.sql" ] || { say "tables.sql was not installed"; exit 1; }
# charon's PID directory (compiled in): the tests bind a directory of their
# own onto it, per charon, so it must exist.
mkdir -p "$PREFIX/run"

rm -rf "$WORK"
echo "$recipe" > "$STAMP"
say "strongSwan $VERSION built in $(( $(date +%s) - start ))s into $PREFIX"
echo "$PREFIX"
