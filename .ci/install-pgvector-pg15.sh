#!/usr/bin/env bash
# Make the `vector` extension (pgvector) available in the system PostgreSQL 15.
# Debian bookworm ships no pgvector package, so we build trixie's source package
# against bookworm's postgresql-server-dev-15. Idempotent; run as root.
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
CONTROL=/usr/share/postgresql/15/extension/vector.control
log() { echo "[pgvector] $*"; }
die() { echo "[pgvector] ERROR: $*" >&2; exit 1; }
trap 'echo "[pgvector] ERROR: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# Fast path: already installed -> nothing to do.
if [[ -f $CONTROL ]]; then log "already installed ($CONTROL), skipping"; exit 0; fi
[[ $(id -u) -eq 0 ]] || die "must run as root"

# Reuse the Debian mirror the machine already uses (deb822 *.sources or one-line
# sources.list); never hard-code a different host. Skip debian-security.
MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -v '^[[:space:]]*#' | grep -oE '(https?|ftp)://[^ ]+/debian/?( |$)' | tr -d ' ' | sed 's#/$##' | head -n1 || true)
[[ -n $MIRROR ]] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*}"
log "using mirror $MIRROR"

TMP=$(mktemp -d /tmp/pgvector-build.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

log "installing build deps (postgresql-server-dev-15, dpkg-dev, build-essential)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed"
apt-get install -y -qq postgresql-server-dev-15 dpkg-dev build-essential >/dev/null \
  || die "installing build dependencies failed"
[[ -x $PG_CONFIG ]] || die "$PG_CONFIG missing after install"

# Isolated apt config: trixie deb-src lives only in $TMP (own sources, lists and
# cache), so the system's sources/lists never see trixie.
mkdir -p "$TMP/lists/partial" "$TMP/cache/archives/partial" "$TMP/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$TMP/trixie.list"
APT_ISO=(-o Dir::Etc::SourceList="$TMP/trixie.list" -o Dir::Etc::SourceParts=/dev/null
         -o Dir::State::Lists="$TMP/lists" -o Dir::Cache="$TMP/cache" -o APT::Sandbox::User=root)
log "fetching trixie pgvector source package"
apt-get "${APT_ISO[@]}" update -qq || die "isolated apt-get update (trixie deb-src) failed"
(cd "$TMP/src" && apt-get "${APT_ISO[@]}" source --download-only -qq pgvector) \
  || die "apt-get source pgvector failed"
DSC=$(ls "$TMP"/src/pgvector_*.dsc 2>/dev/null | head -n1) || true
[[ -n $DSC ]] || die "no pgvector .dsc downloaded"
# gpgv "cannot verify inline signature" warning is expected (no uploader keyring);
# integrity is already guaranteed by apt via the signed trixie Release/Sources hashes.
log "unpacking $(basename "$DSC")"
dpkg-source -x "$DSC" "$TMP/src/pgvector" >/dev/null || die "dpkg-source -x failed"

# OPTFLAGS="" avoids pgvector's default -march=native (binary must run on other CPUs).
log "building and installing"
make -C "$TMP/src/pgvector" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null || die "make failed"
make -C "$TMP/src/pgvector" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS="" install >/dev/null || die "make install failed"
[[ -f $CONTROL ]] || die "install finished but $CONTROL is missing"
log "installed pgvector $(sed -nE "s/^default_version *= *'?([^']*)'?/\1/p" "$CONTROL")"
