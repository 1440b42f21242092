#!/usr/bin/env bash
# Start the machine's PostgreSQL and Mosquitto if they are not already up (tests and CI
# use both). Idempotent: a second run only probes and prints.
#
# Environment (all optional): PGHOST / PGPORT (default 127.0.0.1 / 5432),
# FLEETCARE_MQTT_HOST / FLEETCARE_MQTT_PORT (default 127.0.0.1 / 1883),
# FLEETCARE_MOSQUITTO_CONF (default /etc/mosquitto/mosquitto.conf).
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
MQTT_HOST=${FLEETCARE_MQTT_HOST:-127.0.0.1}
MQTT_PORT=${FLEETCARE_MQTT_PORT:-1883}
MOSQUITTO_CONF=${FLEETCARE_MOSQUITTO_CONF:-/etc/mosquitto/mosquitto.conf}

log() { printf '[start_services] %s\n' "$*"; }
die() { printf '[start_services] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds.
wait_for() {
    local deadline=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT"; }
mqtt_up() { (exec 3<>"/dev/tcp/$MQTT_HOST/$MQTT_PORT") 2>/dev/null; }

start_postgresql() {
    if pg_up; then
        log "PostgreSQL already accepting connections on $PGHOST:$PGPORT"
        return 0
    fi
    local cluster
    cluster=$(pg_lsclusters -h | awk -v port="$PGPORT" '$3 == port { print $1, $2; exit }')
    [ -n "$cluster" ] || die "no PostgreSQL cluster configured on port $PGPORT (pg_lsclusters)"
    log "starting PostgreSQL cluster ${cluster/ //}"
    # Closed stdin and output: a daemon must not hold the caller's pipes open.
    # shellcheck disable=SC2086  # "VERSION NAME"
    pg_ctlcluster --skip-systemctl-redirect $cluster start </dev/null >/dev/null 2>&1 \
        || pg_up || die "pg_ctlcluster $cluster start failed (see /var/log/postgresql/)"
    wait_for 30 pg_up || die "PostgreSQL did not accept connections on $PGHOST:$PGPORT within 30 s"
    log "PostgreSQL up on $PGHOST:$PGPORT"
}

start_mosquitto() {
    if mqtt_up; then
        log "Mosquitto already listening on $MQTT_HOST:$MQTT_PORT"
        return 0
    fi
    command -v mosquitto >/dev/null || die "mosquitto is not installed (apt-get install mosquitto)"
    [ -f "$MOSQUITTO_CONF" ] || die "$MOSQUITTO_CONF not found"
    # systemd's tmpfiles would make these; without systemd we do (the broker runs as
    # user mosquitto and writes its pid file and log there).
    if id -u mosquitto >/dev/null 2>&1; then
        install -d -o mosquitto -g mosquitto /run/mosquitto /var/log/mosquitto /var/lib/mosquitto
    fi
    log "starting mosquitto -d -c $MOSQUITTO_CONF"
    mosquitto -d -c "$MOSQUITTO_CONF" </dev/null >/dev/null 2>&1 \
        || die "mosquitto failed to start (see /var/log/mosquitto/mosquitto.log)"
    wait_for 15 mqtt_up || die "Mosquitto did not listen on $MQTT_HOST:$MQTT_PORT within 15 s"
    log "Mosquitto up on $MQTT_HOST:$MQTT_PORT"
}

start_postgresql
start_mosquitto
