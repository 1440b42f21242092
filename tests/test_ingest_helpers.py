"""Shared helpers of the ingest tests: machines, payloads, a broker, publishing, counting.

No tests here; the ingest test modules import from it. Payloads are built from the
schema's fields so these tests do not depend on the simulator.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from psycopg import sql

from fleetcare.queries import beside
from fleetcare.settings import mqtt_host_port

Q = beside(__file__)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def seed_machines(url: str, machine_ids: list[str]) -> None:
    """Register machines (and the one region they need) so ingest knows them."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            Q.insert_regions)
        with conn.cursor() as cur:
            cur.executemany(
                Q.insert_machines,
                [(m,) for m in machine_ids])


def machine_ids(n: int, prefix: str = "M") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


def reading(machine_id: str, seq: int, *, hours: float | None = None,
            ts: datetime | None = None, **extra: object) -> dict[str, object]:
    """One valid telemetry record (a reading every 3 hours, 2 engine hours each)."""
    ts = ts or T0 + timedelta(hours=3 * seq)
    rec: dict[str, object] = {
        "machine_id": machine_id, "seq": seq, "ts": ts.isoformat(),
        "sent_at": (ts + timedelta(seconds=5)).isoformat(),
        "engine_hours": round(100.0 + 2.0 * seq if hours is None else hours, 3),
        "idle_hours": round(20.0 + 0.4 * seq, 3), "fuel_used_l": round(1000 + 30.5 * seq, 2),
        "lat": 31.2, "lon": 121.5, "coolant_temp_c": 85.5, "hydraulic_oil_temp_c": 55.0,
        "engine_load_pct": 62.0, "hydraulic_pressure_bar": 280.0,
    }
    rec.update(extra)
    return rec


def fault(machine_id: str, seq: int, **extra: object) -> dict[str, object]:
    ts = T0 + timedelta(hours=3 * seq, minutes=7)
    rec: dict[str, object] = {"machine_id": machine_id, "seq": seq, "ts": ts.isoformat(),
                              "sent_at": (ts + timedelta(minutes=1)).isoformat(),
                              "spn": 110, "fmi": 0, "oc": 3, "active": True}
    rec.update(extra)
    return rec


def service(machine_id: str, seq: int, **extra: object) -> dict[str, object]:
    ts = T0 + timedelta(days=seq, hours=2)
    rec: dict[str, object] = {
        "machine_id": machine_id, "seq": seq, "ts": ts.isoformat(), "kind": "preventive",
        "sent_at": (ts + timedelta(hours=1)).isoformat(),
        "work_order": f"WO-{machine_id}-{seq}", "components": ["engine"],
        "parts": [{"part": "oil_filter", "qty": 1}], "downtime_h": 2.5, "cost_cny": 1200.5,
        "engine_hours": 500.0, "station_id": "S1", "technician": "T1"}
    rec.update(extra)
    return rec


def topic(machine_id: str, stream: str = "telemetry") -> str:
    return f"fleet/v1/{machine_id}/{stream}"


def encode(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def telemetry_messages(machines: list[str], per_machine: int, *, array: int = 1,
                       start_seq: int = 0) -> list[tuple[str, bytes]]:
    """Messages of `per_machine` readings each, grouped `array` readings per payload."""
    out = []
    for seq0 in range(start_seq, start_seq + per_machine, array):
        for m in machines:
            recs = [reading(m, s) for s in range(seq0, min(seq0 + array,
                                                           start_seq + per_machine))]
            out.append((topic(m), encode(recs if array > 1 else recs[0])))
    return out


def count(url: str, sql: str, *params: object) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql, params).fetchone()[0])  # type: ignore[index]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def publish_all(url: str, messages: list[tuple[str, bytes]], *, window: int = 500) -> None:
    """Publish at QoS 1 and wait for every PUBACK, with a bounded window (paho's queue
    silently refuses past 65,535 outstanding messages)."""
    host, port = mqtt_host_port(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"test-pub-{uuid.uuid4().hex[:8]}", clean_session=True)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    done = threading.Semaphore(window)
    client.on_publish = lambda *a: done.release()
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        infos = []
        for t, payload in messages:
            done.acquire()
            info = client.publish(t, payload, qos=1)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS, info.rc
            infos.append(info)
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def broker() -> Iterator[object]:
    """Our own Mosquitto with the project config on a free port (never the machine's)."""
    from fleetcare.embedded import start_mosquitto

    mq = start_mosquitto()
    try:
        yield mq
        assert not mq.dropped_messages(), "Mosquitto dropped messages"
    finally:
        mq.close()


def ingest_config(mqtt_url: str, database_url: str, client_id: str = "test-ingest",
                  **overrides: object):  # noqa: ANN201
    """Small batches and short waits, so tests see many batches and finish quickly."""
    from ingest.subscriber import IngestConfig

    values: dict[str, object] = {"batch_messages": 200, "max_latency_s": 0.2,
                                 "idle_exit_s": 1.0, "log_every_s": 3600.0}
    values.update(overrides)
    return IngestConfig(mqtt_url=mqtt_url, database_url=database_url, client_id=client_id,
                        **values)  # type: ignore[arg-type]


class InThread:
    """An Ingest service running in a thread of the test process."""

    def __init__(self, config) -> None:  # noqa: ANN001
        from ingest.subscriber import Ingest

        self.service = Ingest(config)
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.service.run()
        except BaseException as exc:  # surfaced by join()
            self.error = exc

    def start(self) -> InThread:
        self.thread.start()
        return self

    def join(self, timeout: float = 120.0):  # noqa: ANN201
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "ingest did not finish"
        if self.error:
            raise self.error
        return self.result

    def stop(self, timeout: float = 60.0):  # noqa: ANN201
        self.service.stop()
        return self.join(timeout)


def fast_publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    from bench.loadgen import publish

    assert publish(url, messages) == len(messages)


def stored_rows(url: str, table: str = "telemetry") -> list[tuple]:
    """All rows but the server receive time (which differs between any two runs)."""
    with psycopg.connect(url) as conn:
        cols = [r[0] for r in conn.execute(
            Q.information_schema_columns_column_name, (table,))]
        return conn.execute(Q.stored_rows.format(
            columns=sql.SQL(", ").join(map(sql.Identifier, cols)),
            table=sql.Identifier(table))).fetchall()
