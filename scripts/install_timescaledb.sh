#!/usr/bin/env bash
# Build and install TimescaleDB (Apache-2 edition) for the machine's PostgreSQL, then
# make the server preload it. Debian 12 has no timescaledb package, so we build the next
# release's (trixie) source package: only a deb-src line is added, so no binary package
# is ever taken from trixie. Idempotent: when the installed extension already has the
# source package's version the build is skipped and a rerun takes seconds.
#
# Environment (all optional):
#   FLEETCARE_PG_MAJOR             PostgreSQL major version to build for (default: the
#                                  cluster listening on PGPORT, else the newest installed)
#   FLEETCARE_TIMESCALEDB_SUITE    Debian suite to take the source from (default: trixie)
#   FLEETCARE_BUILD_DIR            build directory outside the repo
#                                  (default: /var/cache/fleetcare-build)
#   PGHOST / PGPORT / PGUSER       server to configure (default: 127.0.0.1 / 5432 / postgres)
set -euo pipefail

SUITE=${FLEETCARE_TIMESCALEDB_SUITE:-trixie}
BUILD_ROOT=${FLEETCARE_BUILD_DIR:-/var/cache/fleetcare-build}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
export DEBIAN_FRONTEND=noninteractive
SOURCES_FILE=/etc/apt/sources.list.d/fleetcare-${SUITE}-src.sources
APT_GET=(apt-get -o DPkg::Lock::Timeout=600 -y -q)

log() { printf '[install_timescaledb] %s\n' "$*"; }
die() { printf '[install_timescaledb] ERROR: %s\n' "$*" >&2; exit 1; }

# Run one named step and print how long it took. Not called as `step ... || x`, so that
# set -e stays in force inside the step; a failing step is reported by the EXIT trap.
CURRENT_STEP="" STEP_T0=0
step() {
    CURRENT_STEP=$1
    shift
    STEP_T0=$(date +%s)
    log "step '$CURRENT_STEP' ..."
    "$@"
    log "step '$CURRENT_STEP' took $(($(date +%s) - STEP_T0)) s"
    CURRENT_STEP=""
}
on_exit() {
    local rc=$?
    if [ -n "$CURRENT_STEP" ]; then
        log "step '$CURRENT_STEP' FAILED (exit $rc) after $(($(date +%s) - STEP_T0)) s"
    fi
}
trap on_exit EXIT

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, make install, pg_ctlcluster)"
command -v pg_lsclusters >/dev/null || die "postgresql-common (pg_lsclusters) not found"

# One run at a time: several engineers and CI share this machine. Daemons started from
# here (the PostgreSQL server) are given `9>&-` so they do not inherit and keep the lock.
mkdir -p "$BUILD_ROOT"
exec 9>"$BUILD_ROOT/.install_timescaledb.lock"
flock -w 1800 9 || die "another install_timescaledb.sh holds $BUILD_ROOT/.install_timescaledb.lock"

T_START=$(date +%s)

# --- PostgreSQL version and cluster -------------------------------------------------
CLUSTER_LINE=$(pg_lsclusters -h | awk -v port="$PGPORT" '$3 == port { print $1, $2; exit }')
if [ -n "${FLEETCARE_PG_MAJOR:-}" ]; then
    PG_MAJOR=$FLEETCARE_PG_MAJOR
elif [ -n "$CLUSTER_LINE" ]; then
    PG_MAJOR=${CLUSTER_LINE%% *}
else
    PG_MAJOR=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/postgres' 2>/dev/null \
        | awk -F/ '{ print $5 }' | sort -n | tail -n 1)
fi
[ -n "$PG_MAJOR" ] || die "no PostgreSQL installation found under /usr/lib/postgresql"
PG_CLUSTER=${CLUSTER_LINE#* }
[ -n "$CLUSTER_LINE" ] || PG_CLUSTER=main
log "PostgreSQL major version $PG_MAJOR, cluster $PG_MAJOR/$PG_CLUSTER on port $PGPORT"

# --- apt: a deb-src entry for the next release, mirror taken from existing sources ----
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$CODENAME" ] || die "cannot read VERSION_CODENAME from /etc/os-release"

# Print "URI KEYRING" of the first binary source of the running release.
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$SOURCES_FILE" ] || continue
        # deb822 stanzas; a Signed-By given as an inline key (multi-line) is ignored.
        awk -v want="$CODENAME" '
            function flush() {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ (" " want " ") && uri != "" && enabled != "no") {
                    print uri, (keyring == "" ? "-" : keyring); found = 1; exit
                }
                types = ""; suites = ""; uri = ""; keyring = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"     { $1 = ""; types = $0 }
            tolower($1) == "uris:"      { uri = $2 }
            tolower($1) == "suites:"    { $1 = ""; gsub(/^[ \t]+|[ \t]+$/, ""); suites = $0 }
            tolower($1) == "signed-by:" { if ($2 ~ /^\//) keyring = $2 }
            tolower($1) == "enabled:"   { enabled = tolower($2) }
            END { if (!found) flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # Classic one-line format: deb [options] URI suite components...
        awk -v want="$CODENAME" '
            $1 != "deb" { next }
            {
                keyring = "-"; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        if ($i ~ /^\[?signed-by=/) { k = $i; sub(/^\[?signed-by=/, "", k); sub(/\]$/, "", k); keyring = k }
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                if ($(i + 1) == want) { print $i, keyring; exit }
            }
        ' "$f"
    done
}

ensure_sources() {
    local mirror uri keyring want
    mirror=$(find_mirror | head -n 1)
    [ -n "$mirror" ] || die "no 'deb' source for $CODENAME in /etc/apt/sources.list{,.d}; cannot pick a mirror"
    uri=${mirror%% *}
    keyring=${mirror#* }
    if [ "$keyring" = "-" ] && [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    fi
    want="# Written by fleetcare scripts/install_timescaledb.sh: source packages only (deb-src),
# so that no binary package is upgraded from $SUITE.
Types: deb-src
URIs: $uri
Suites: $SUITE
Components: main"
    [ "$keyring" = "-" ] || want+=$'\n'"Signed-By: $keyring"
    if [ -f "$SOURCES_FILE" ] && [ "$(cat "$SOURCES_FILE")" = "$want" ]; then
        log "apt source $SOURCES_FILE already in place ($uri $SUITE)"
        return 0
    fi
    printf '%s\n' "$want" >"$SOURCES_FILE"
    log "wrote $SOURCES_FILE (deb-src $uri $SUITE)"
    NEED_UPDATE=1
}

have_source_index() {
    compgen -G "/var/lib/apt/lists/*_dists_${SUITE}_main_source_Sources*" >/dev/null
}

NEED_UPDATE=0
ensure_sources
have_source_index || NEED_UPDATE=1
if [ "$NEED_UPDATE" -eq 1 ]; then
    step "apt-get update" "${APT_GET[@]}" update
else
    log "apt source index for $SUITE present: no apt-get update"
fi

# Highest version of the timescaledb source package that apt knows.
SRC_VERSION=$(apt-cache showsrc --only-source timescaledb 2>/dev/null \
    | awk '/^Package: /{ p = ($2 == "timescaledb") } p && /^Version: /{ print $2 }' \
    | sort -u | {
        best=""
        while read -r v; do
            if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
        done
        echo "$best"
    })
[ -n "$SRC_VERSION" ] || die "apt knows no 'timescaledb' source package (deb-src $SUITE missing?)"
# 2.19.3+dfsg-1 -> 2.19.3 (drop epoch, Debian revision, repack suffix)
UPSTREAM=${SRC_VERSION#*:}
UPSTREAM=${UPSTREAM%-*}
UPSTREAM=${UPSTREAM%%[+~]*}
log "source package timescaledb $SRC_VERSION (upstream $UPSTREAM) from $SUITE"

PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
installed_version() {
    local control sharedir libdir v
    [ -x "$PG_CONFIG" ] || return 0
    sharedir=$("$PG_CONFIG" --sharedir)
    libdir=$("$PG_CONFIG" --pkglibdir)
    control=$sharedir/extension/timescaledb.control
    [ -f "$control" ] || return 0
    v=$(sed -nE "s/^default_version[[:space:]]*=[[:space:]]*'([^']+)'.*/\1/p" "$control")
    # The version is only "installed" if its loader, its library and its script are there.
    if [ -n "$v" ] && [ -f "$libdir/timescaledb.so" ] && [ -f "$libdir/timescaledb-$v.so" ] \
        && [ -f "$sharedir/extension/timescaledb--$v.sql" ]; then
        echo "$v"
    fi
}

INSTALLED=$(installed_version)

install_build_deps() {
    "${APT_GET[@]}" install --no-install-recommends \
        "postgresql-server-dev-$PG_MAJOR" build-essential cmake dpkg-dev \
        libssl-dev libkrb5-dev
}

fetch_source() {
    rm -rf "$SRC_PARENT"
    mkdir -p "$SRC_PARENT"
    # Let apt's sandbox user write the downloads (otherwise apt warns and runs as root).
    ! id -u _apt >/dev/null 2>&1 || chown _apt "$SRC_PARENT"
    # --only-source: the source package itself; =VERSION: exactly what we compared with.
    (cd "$SRC_PARENT" && apt-get -q source --only-source "timescaledb=$SRC_VERSION")
}

build_source() {
    local src
    src=$(find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | head -n 1)
    [ -n "$src" ] || die "apt-get source left no timescaledb-* directory in $SRC_PARENT"
    # Debian's +dfsg tarball strips the Timescale-License code (tsl/): Apache-only build.
    (cd "$src" && ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
        -DWARNINGS_AS_ERRORS=OFF -DCMAKE_BUILD_TYPE=Release -DSEND_TELEMETRY_DEFAULT=OFF \
        -DPG_CONFIG="$PG_CONFIG" >"$SRC_PARENT/bootstrap.log" 2>&1) \
        || { tail -n 40 "$SRC_PARENT/bootstrap.log" >&2; return 1; }
    make -C "$src/build" -j"$(nproc)" >"$SRC_PARENT/make.log" 2>&1 \
        || { tail -n 40 "$SRC_PARENT/make.log" >&2; return 1; }
    echo "$src" >"$SRC_PARENT/.srcdir"
}

install_build() {
    make -C "$(cat "$SRC_PARENT/.srcdir")/build" install >"$SRC_PARENT/install.log" 2>&1 \
        || { tail -n 40 "$SRC_PARENT/install.log" >&2; return 1; }
}

if [ "$INSTALLED" = "$UPSTREAM" ]; then
    log "TimescaleDB $INSTALLED already installed for PostgreSQL $PG_MAJOR: build skipped"
else
    log "installed: ${INSTALLED:-none}; building $UPSTREAM for PostgreSQL $PG_MAJOR"
    SRC_PARENT=$BUILD_ROOT/timescaledb/$SRC_VERSION
    step "install build dependencies" install_build_deps
    step "apt-get source timescaledb=$SRC_VERSION" fetch_source
    step "configure and compile (APACHE_ONLY)" build_source
    step "make install" install_build
    INSTALLED=$(installed_version)
    [ "$INSTALLED" = "$UPSTREAM" ] || die "after make install the extension reports '${INSTALLED:-nothing}', expected $UPSTREAM"
fi

# --- PostgreSQL: preload the library, telemetry off ----------------------------------
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -d postgres)

ensure_running() {
    if ! pg_isready -q; then
        log "PostgreSQL not running: starting $PG_MAJOR/$PG_CLUSTER"
        pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" start 9>&-
    fi
    local i
    for i in $(seq 1 60); do
        pg_isready -q && return 0
        sleep 0.5
    done
    die "PostgreSQL on $PGHOST:$PGPORT did not become ready"
}

# The value the config files give (postgresql.auto.conf last), not the running one.
file_setting() {
    "${PSQL[@]}" -c "SELECT setting FROM pg_file_settings WHERE name = '$1'
                     ORDER BY seqno DESC LIMIT 1"
}

configure_preload() {
    local current libs=() lib new_list cleaned=() has=0
    current=$(file_setting shared_preload_libraries)
    [ -n "$current" ] || current=$("${PSQL[@]}" -c "SHOW shared_preload_libraries")
    IFS=',' read -r -a libs <<<"$current"
    for lib in "${libs[@]}"; do
        lib=$(echo "$lib" | tr -d "\"' ")
        [ -n "$lib" ] || continue
        [[ "$lib" =~ ^[A-Za-z0-9_.$/-]+$ ]] || die "unexpected shared_preload_libraries entry: $lib"
        [ "$lib" != timescaledb ] || has=1
        cleaned+=("$lib")
    done
    if [ "$has" -eq 0 ]; then
        cleaned+=(timescaledb)
        # One literal per library: a single 'a,b' string would be read as one name.
        new_list=$(printf "'%s', " "${cleaned[@]}")
        new_list=${new_list%, }
        log "shared_preload_libraries: '$current' -> $new_list (ALTER SYSTEM)"
        "${PSQL[@]}" -c "ALTER SYSTEM SET shared_preload_libraries = $new_list"
    else
        log "shared_preload_libraries already lists timescaledb ('$current')"
    fi
    # Restart only if the running server has not loaded the library yet.
    if "${PSQL[@]}" -c "SHOW shared_preload_libraries" | tr ',' '\n' | tr -d ' "' \
        | grep -qx timescaledb; then
        log "timescaledb already loaded by the running server: no restart"
    else
        log "restarting PostgreSQL $PG_MAJOR/$PG_CLUSTER to load timescaledb"
        pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" restart 9>&-
        ensure_running
    fi
}

# In a conf.d file, not ALTER SYSTEM: timescaledb.* settings only exist in a backend once
# the extension is created in its database, and ALTER SYSTEM rejects unknown names.
configure_telemetry() {
    local config_file conf_dir file want
    config_file=$("${PSQL[@]}" -c "SHOW config_file")
    conf_dir=$(dirname "$config_file")/conf.d
    grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'conf\.d'" "$config_file" \
        || die "$config_file does not include_dir 'conf.d'; cannot set timescaledb.telemetry_level"
    file=$conf_dir/60-fleetcare-timescaledb.conf
    want="# Written by fleetcare scripts/install_timescaledb.sh
timescaledb.telemetry_level = 'off'"
    if [ -f "$file" ] && [ "$(cat "$file")" = "$want" ] \
        && [ "$(file_setting timescaledb.telemetry_level)" = off ]; then
        log "timescaledb.telemetry_level already off ($file)"
        return 0
    fi
    mkdir -p "$conf_dir"
    printf '%s\n' "$want" >"$file"
    chown --reference="$config_file" "$file"
    "${PSQL[@]}" -c "SELECT pg_reload_conf()" >/dev/null
    [ "$(file_setting timescaledb.telemetry_level)" = off ] \
        || die "timescaledb.telemetry_level in $file is overridden by a later setting"
    log "timescaledb.telemetry_level = off written to $file (reloaded)"
}

verify() {
    local db=fleetcare_tsdb_check_$$ out
    "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    out=$(psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" \
        -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION timescaledb" \
        -c "CREATE TABLE t (ts timestamptz NOT NULL, v double precision)" \
        -c "SELECT count(*) FROM create_hypertable('t', 'ts')" \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'" \
        -c "SHOW timescaledb.license" \
        -c "SHOW timescaledb.telemetry_level" 2>&1) || {
        "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $db" || true
        die "CREATE EXTENSION timescaledb failed: $out"
    }
    "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $db"
    local lines
    mapfile -t lines <<<"$out"
    log "verified in scratch database: extension ${lines[1]}, license ${lines[2]}, telemetry ${lines[3]}"
    [ "${lines[1]}" = "$UPSTREAM" ] || die "CREATE EXTENSION gave version ${lines[1]}, expected $UPSTREAM"
    [ "${lines[3]}" = off ] || die "timescaledb.telemetry_level is ${lines[3]}, expected off"
}

step "start PostgreSQL if needed" ensure_running
step "preload timescaledb (restart only if needed)" configure_preload
step "telemetry off" configure_telemetry
step "verify CREATE EXTENSION timescaledb" verify

log "TimescaleDB $UPSTREAM (Apache-2 edition) ready on PostgreSQL $PG_MAJOR; total $(($(date +%s) - T_START)) s"
