"""The MQTT side of ingest: persistent QoS 1 session, writer thread, ack after commit.

Threads: paho's network thread receives into a bounded inbox; the writer thread takes
the inbox as one batch (by size, or by age for bounded latency), stores it in one
transaction and only then acknowledges its messages. When the writer lags, the network
thread blocks on the full inbox, paho stops reading the socket and the broker keeps the
rest in our persistent session: backpressure, not unbounded memory.

Acks carry connection-scoped packet ids: a message received on an earlier connection is
never acked on a later one (its id may by then name another message); the broker
redelivers it and the database's unique keys drop the copy.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg

from fleetcare import contracts, db
from fleetcare.errors import FleetcareError, TransientError
from fleetcare.settings import mqtt_host_port
from ingest import fastsock
from ingest.metrics import IngestMetrics
from ingest.pipeline import Counts, MachineCache, Pipeline

log = logging.getLogger("ingest.subscriber")

TOPIC_FILTER = contracts.TOPIC_PREFIX + "/+/+"


@dataclass
class IngestConfig:
    """How one ingest process connects, batches and reports (see `fleetcare ingest -h`)."""

    mqtt_url: str
    database_url: str
    client_id: str = "fleetcare-ingest"
    # None: a plain subscription (one consumer per client id). A group name: the MQTT 5 /
    # Mosquitto shared subscription $share/<group>/..., so N processes split the load.
    shared_group: str | None = None
    topic_filter: str = TOPIC_FILTER
    username: str | None = None
    password: str | None = None
    # Messages per transaction. 2,000 single readings commit in ~25 ms; bigger batches
    # gain little and hold more unacked messages.
    batch_messages: int = 2000
    # A batch is written at the latest this long after its first message arrived...
    max_latency_s: float = 0.5
    # ...or as soon as no message came for this long (a finished burst need not wait).
    idle_flush_s: float = 0.05
    # Received but not yet acked. Must stay below the broker's max_inflight_messages
    # (10,000 in our config), or the broker stops sending before we flush.
    max_pending: int = 8000
    keepalive_s: int = 30
    # --once: exit after the queue drained (see Ingest.run).
    once: bool = False
    idle_exit_s: float = 2.0
    # --once: give up (non-zero exit) when the broker cannot be reached for this long.
    connect_timeout_s: float = 30.0
    metrics_port: int | None = None
    log_every_s: float = 30.0
    shutdown_timeout_s: float = 30.0
    # Buffered socket reads (ingest/fastsock.py); False = paho's own per-byte reads.
    fast_socket: bool = True

    @property
    def subscription(self) -> str:
        if self.shared_group:
            return f"$share/{self.shared_group}/{self.topic_filter}"
        return self.topic_filter


class Ingest:
    """One ingest process: ``run()`` until ``stop()`` (or, with ``once``, until drained)."""

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.metrics = IngestMetrics()
        self.machines = MachineCache()
        self._cond = threading.Condition()
        self._inbox: list[tuple[int, int, str, bytes]] = []
        self._inbox_since = 0.0          # monotonic arrival of the inbox's first message
        self._last_message = 0.0         # monotonic arrival of the latest message
        self._unacked = 0                # received and not yet acked (inbox + writing)
        self._generation = 0             # bumps on every connect and disconnect
        self._ack_lock = threading.Lock()
        self._connected = threading.Event()
        self._subscribed_at = 0.0        # monotonic time of the current connection's SUBACK
        self._connect_failures = 0       # failed attempts since the last good connection
        self._unreachable_since: float | None = None
        self._stop = threading.Event()
        self._abort = threading.Event()  # stop without waiting for the database
        self._writer_done = threading.Event()
        self._fatal: BaseException | None = None
        self._conn: psycopg.Connection | None = None
        self._pipeline: Pipeline | None = None
        self.client = self._make_client()
        self.metrics_server: Any = None
        # Monotonic times for throughput figures (the benchmark reads them).
        self.first_message_at: float | None = None
        self.last_commit_at: float | None = None

    # -- paho side -----------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        cls = fastsock.BufferedClient if self.config.fast_socket else mqtt.Client
        client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=self.config.client_id,
                     clean_session=False, protocol=mqtt.MQTTv311)
        client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        """paho could not open the connection; it retries after 1, 2, 4 ... 30 s."""
        self._connect_failures += 1
        if self._unreachable_since is None:
            self._unreachable_since = time.monotonic()
        self.metrics.connect_failures.inc()
        self.metrics.connected.set(0)
        retry = min(2 ** (self._connect_failures - 1), 30)
        log.error("cannot reach the MQTT broker at %s (%s; attempt %d); retrying in %d s",
                  self.config.mqtt_url, self._why_unreachable(), self._connect_failures, retry)

    def _why_unreachable(self) -> str:
        """The operating system's reason a TCP connection to the broker fails, if it does."""
        host, port = mqtt_host_port(self.config.mqtt_url)
        try:
            with socket.create_connection((host, port), timeout=3):
                return "TCP connects, MQTT handshake failed"
        except OSError as exc:
            return exc.strerror or str(exc) or type(exc).__name__

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any,
                    _p: Any) -> None:
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", self.config.mqtt_url, reason)
            return
        with self._ack_lock:
            self._generation += 1
        self.metrics.connects.inc()
        self.metrics.connected.set(1)
        self._connect_failures = 0
        self._unreachable_since = None
        log.info("connected to %s as %s (session present: %s); subscribing to %s",
                 self.config.mqtt_url, self.config.client_id, flags.session_present,
                 self.config.subscription)
        client.subscribe(self.config.subscription, qos=1)
        self._connected.set()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any,
                      _p: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error("subscription to %s refused: %s", self.config.subscription, reasons)
            return
        with self._cond:
            self._subscribed_at = time.monotonic()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any,
                       _p: Any) -> None:
        with self._ack_lock:
            self._generation += 1
        self._connected.clear()
        self.metrics.connected.set(0)
        with self._cond:
            self._subscribed_at = 0.0
        if not self._stop.is_set():
            if self._unreachable_since is None:
                self._unreachable_since = time.monotonic()
            log.warning("broker connection lost (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        item = (self._generation, msg.mid, msg.topic, bytes(msg.payload))
        cond = self._cond
        with cond:
            while self._unacked >= self.config.max_pending and not self._stop.is_set():
                cond.wait(1.0)  # backpressure: paho stops reading while we wait
            inbox = self._inbox
            if not inbox:
                self._inbox_since = now
                if self.first_message_at is None:
                    self.first_message_at = now
            inbox.append(item)
            self._unacked += 1
            self._last_message = now
            self.metrics.last_message.set_to_current_time()
            if len(inbox) >= self.config.batch_messages:
                cond.notify_all()

    # -- writer side ---------------------------------------------------------------------

    def _take_batch(self) -> list[tuple[int, int, str, bytes]] | None:
        """Block until a batch is due; None once stopping with nothing left."""
        cfg = self.config
        with self._cond:
            while True:
                now = time.monotonic()
                n = len(self._inbox)
                if n >= cfg.batch_messages:
                    break
                if n and (now - self._inbox_since >= cfg.max_latency_s
                          or now - self._last_message >= cfg.idle_flush_s
                          or self._stop.is_set()):
                    break
                if not n and self._stop.is_set():
                    return None
                if n:
                    wait = min(self._inbox_since + cfg.max_latency_s,
                               self._last_message + cfg.idle_flush_s) - now
                else:
                    wait = 0.5
                self._cond.wait(max(wait, 0.001))
            # One transaction holds at most batch_messages: bounded commit time, and a
            # retried batch after a database failure stays small.
            taken = self._inbox[:cfg.batch_messages]
            del self._inbox[:cfg.batch_messages]
            if self._inbox:
                self._inbox_since = now
            self.metrics.received.inc(len(taken))
            return taken

    def _write_loop(self) -> None:
        try:
            while (taken := self._take_batch()) is not None:
                if not self._write(taken):
                    break  # stopping while the database is away: leave them unacked
        except BaseException as exc:  # a bug must stop the process, not hang it silently
            log.exception("ingest writer failed")
            self._fatal = exc
            self._stop.set()
        finally:
            self._writer_done.set()
            with self._cond:
                self._cond.notify_all()

    def _write(self, taken: list[tuple[int, int, str, bytes]]) -> bool:
        messages = [(t, p) for _g, _m, t, p in taken]
        oldest = time.monotonic()
        backoff = 0.2
        while True:
            started = time.monotonic()
            try:
                pipeline = self._ensure_pipeline()
                batch, result = pipeline.process(messages, datetime.now(UTC))
                break
            except (psycopg.OperationalError, TransientError) as exc:
                self.metrics.db_errors.inc()
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                log.warning("database unavailable (%s); retrying the batch of %d in %.1fs",
                            first, len(messages), backoff)
                self._drop_connection()
                if self._abort.wait(backoff):
                    return False
                backoff = min(backoff * 2, 5.0)
        done = time.monotonic()
        self._ack(taken)
        self.last_commit_at = done
        self.metrics.record_batch(batch, result, done - started, done - oldest)
        return True

    def _ensure_pipeline(self) -> Pipeline:
        if self._pipeline is None:
            conn = db.connect(self.config.database_url, autocommit=True)
            self._conn = conn
            self._pipeline = Pipeline(conn, machines=self.machines)
        return self._pipeline

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        self._pipeline = None

    def _ack(self, taken: list[tuple[int, int, str, bytes]]) -> None:
        with self._ack_lock:
            generation = self._generation
            mids = [mid for g, mid, _t, _p in taken if g == generation]
            if mids:
                fastsock.ack_many(self.client, mids)
        with self._cond:
            self._unacked -= len(taken)
            self.metrics.pending.set(self._unacked)
            self._cond.notify_all()
        if len(mids) < len(taken):
            log.info("%d messages from an earlier connection stored but not acked "
                     "(the broker redelivers them; duplicates are dropped)",
                     len(taken) - len(mids))

    # -- lifecycle -----------------------------------------------------------------------

    def stop(self, now: bool = False) -> None:
        """Ask run() to finish: write what was received, ack it, disconnect."""
        if now:
            self._abort.set()
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def _drained(self) -> bool:
        with self._cond:
            if not self._subscribed_at or self._unacked:
                return False
            quiet_since = max(self._subscribed_at, self._last_message)
            return time.monotonic() - quiet_since >= self.config.idle_exit_s

    def run(self, on_tick: Callable[[], None] | None = None) -> Counts:
        """Receive and store until stopped; with ``once``, until drained.

        Drained means: connected and subscribed, every received message committed and
        acked, and then no message for ``idle_exit_s`` seconds. A persistent session's
        backlog starts flowing right after the SUBACK and Mosquitto sends it without
        pauses, so a quiet spell of a couple of seconds means the queue is empty.
        """
        cfg = self.config
        if cfg.metrics_port is not None:
            try:
                self.metrics_server = self.metrics.serve(cfg.metrics_port)
            except OSError as exc:
                raise FleetcareError(
                    f"cannot serve metrics on port {cfg.metrics_port} ({exc.strerror or exc});"
                    " choose another with --metrics-port / FLEETCARE_INGEST_METRICS_PORT"
                ) from None
            log.info("metrics on http://0.0.0.0:%d/metrics", self.metrics_server.server_port)
        # Fail fast on a wrong database URL or schema before touching the broker.
        self._ensure_pipeline()
        writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        writer.start()
        host, port = mqtt_host_port(cfg.mqtt_url)
        log.info("connecting to the MQTT broker at %s as %s", cfg.mqtt_url, cfg.client_id)
        self._unreachable_since = time.monotonic()
        self.client.connect_async(host, port, keepalive=cfg.keepalive_s)
        self.client.loop_start()
        next_log = time.monotonic() + cfg.log_every_s
        unreachable: str | None = None
        try:
            while not self._stop.wait(0.1):
                if cfg.once and self._drained():
                    log.info("queue drained (idle %.1fs)", cfg.idle_exit_s)
                    break
                since = self._unreachable_since
                if cfg.once and since is not None and (
                        time.monotonic() - since >= cfg.connect_timeout_s):
                    unreachable = (f"no connection to the MQTT broker at {cfg.mqtt_url} "
                                   f"within {cfg.connect_timeout_s:.0f} s; check "
                                   "FLEETCARE_MQTT_URL and that the broker runs")
                    break
                if on_tick:
                    on_tick()
                if time.monotonic() >= next_log:
                    log.info("%s", self.metrics.summary())
                    next_log += cfg.log_every_s
        finally:
            self._shutdown(writer)
        if unreachable is not None:
            raise TransientError(unreachable)
        if self._fatal is not None:
            raise FleetcareError(f"ingest stopped: {self._fatal}") from self._fatal
        log.info("%s", self.metrics.summary())
        return self.metrics.totals

    def _shutdown(self, writer: threading.Thread) -> None:
        self.stop()
        # The writer flushes and acks what was received; if the database stays away,
        # give up after a while: unacked messages stay in the broker's session.
        writer.join(self.config.shutdown_timeout_s)
        if writer.is_alive():
            log.warning("database still unavailable after %.0fs; exiting with %d messages "
                        "unacked (the broker keeps them)", self.config.shutdown_timeout_s,
                        self._unacked)
            self._abort.set()
            writer.join()
        try:
            self.client.disconnect()  # queued after the last PUBACKs, so they go out first
        finally:
            self.client.loop_stop()
            self._drop_connection()
            if self.metrics_server is not None:
                self.metrics_server.shutdown()


def prepare_session(mqtt_url: str, client_id: str = "fleetcare-ingest", *,
                    shared_group: str | None = None, username: str | None = None,
                    password: str | None = None, timeout: float = 10.0) -> None:
    """Create the persistent session and its subscription, then disconnect.

    A broker queues QoS 1 messages only for sessions that exist: run this (or the
    service) before gateways publish, so a later ``fleetcare ingest --once`` gets them.
    """
    cfg = IngestConfig(mqtt_url=mqtt_url, database_url="", client_id=client_id,
                       shared_group=shared_group, username=username, password=password)
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=False, protocol=mqtt.MQTTv311)
    client.manual_ack_set(True)  # anything already queued stays queued for the real run
    if username:
        client.username_pw_set(username, password)
    client.on_connect = lambda c, *_: c.subscribe(cfg.subscription, qos=1)
    client.on_subscribe = lambda *_: done.set()
    host, port = mqtt_host_port(mqtt_url)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise TransientError(f"cannot reach the MQTT broker at {mqtt_url} "
                             f"({exc.strerror or exc}); check FLEETCARE_MQTT_URL and that "
                             "the broker runs") from None
    client.loop_start()
    try:
        if not done.wait(timeout):
            raise TransientError(f"no SUBACK from {mqtt_url} within {timeout:.0f}s")
    finally:
        client.disconnect()
        client.loop_stop()
