"""Ingest counters: Prometheus text format on an HTTP port, and a one-line log summary."""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ingest.decode import Batch
from ingest.pipeline import Counts
from ingest.writer import WriteResult


class IngestMetrics:
    """One registry per ingest instance (tests run several in a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter("fleetcare_ingest_messages_received",
                                "MQTT messages received", registry=r)
        self.committed = Counter("fleetcare_ingest_messages_committed",
                                 "messages whose batch committed (then acked)", registry=r)
        self.stored = Counter("fleetcare_ingest_rows_stored", "new rows stored", ["stream"],
                              registry=r)
        self.duplicates = Counter("fleetcare_ingest_rows_duplicate",
                                  "valid rows already stored (redelivery, re-upload)",
                                  ["stream"], registry=r)
        self.dead_letters = Counter("fleetcare_ingest_dead_letters",
                                    "rejected messages or records", ["reason"], registry=r)
        self.meter_resets = Counter("fleetcare_ingest_meter_resets",
                                    "net meter resets recorded", registry=r)
        self.db_errors = Counter("fleetcare_ingest_db_errors",
                                 "failed batch writes (retried)", registry=r)
        self.connects = Counter("fleetcare_ingest_broker_connects", "broker (re)connections",
                                registry=r)
        self.connect_failures = Counter("fleetcare_ingest_broker_connect_failures",
                                        "failed attempts to reach the broker", registry=r)
        self.connected = Gauge("fleetcare_ingest_broker_connected",
                               "1 while connected to the broker, else 0", registry=r)
        self.last_message = Gauge("fleetcare_ingest_last_message_timestamp_seconds",
                                  "Unix time the latest message was received (0: none yet)",
                                  registry=r)
        self.last_commit = Gauge("fleetcare_ingest_last_commit_timestamp_seconds",
                                 "Unix time the latest batch committed (0: none yet)",
                                 registry=r)
        self.batch_seconds = Histogram(
            "fleetcare_ingest_batch_seconds", "decode + write + commit time of a batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.lag = Gauge("fleetcare_ingest_lag_seconds",
                         "receive-to-commit time of the oldest message in the last batch",
                         registry=r)
        self.pending = Gauge("fleetcare_ingest_pending_messages",
                             "received, not yet committed and acked", registry=r)
        self.totals = Counts()
        self._lock = threading.Lock()

    def record_batch(self, batch: Batch, result: WriteResult, seconds: float,
                     lag: float) -> None:
        with self._lock:
            self.totals.add(batch, result)
        self.committed.inc(batch.messages)
        for stream, n in result.stored.items():
            self.stored.labels(stream).inc(n)
        for stream, n in result.duplicates.items():
            self.duplicates.labels(stream).inc(n)
        for row in batch.dead_letters:
            self.dead_letters.labels(row[3]).inc()
        if result.meter_resets > 0:
            self.meter_resets.inc(result.meter_resets)
        self.batch_seconds.observe(seconds)
        self.lag.set(lag)
        self.last_commit.set_to_current_time()

    def serve(self, port: int, addr: str = "0.0.0.0") -> Any:
        """Serve /metrics on ``port`` (0 = any free port); returns the server (``.server_port``)."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        return server

    def summary(self) -> str:
        with self._lock:
            t = self.totals
            dead = ", ".join(f"{k} {v}" for k, v in sorted(t.dead_letters.items())) or "none"
            state = "connected" if self.connected._value.get() else "NOT connected"
            return (f"{state}; received {int(self.received._value.get())} msgs, "
                    f"committed {t.messages}, "
                    f"stored {t.stored_total} rows ({t.duplicates_total} duplicates), "
                    f"dead letters: {dead}, meter resets {t.meter_resets}, "
                    f"batches {t.batches}")
