"""Ingest under faults, with the simulator publishing and exact counts at the end.

Each case drives real processes (Mosquitto with the project config, PostgreSQL,
`fleetcare ingest`) through one fault and then compares every stored row and dead letter
with a fault-free run of the same messages (conftest.Traffic): nothing lost, nothing
doubled, every reject explained.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from faultkit import Traffic, assert_same_as_clean_run, traffic_factory  # noqa: F401
from pgcluster import PrivateCluster
from proxy import TcpProxy
from test_ingest_helpers import (
    InThread,
    broker,  # noqa: F401 - fixture
    count,
    encode,
    fast_publish,
    ingest_config,
    machine_ids,
    reading,
    seed_machines,
    topic,
    wait_for,
)

from fleetcare import db
from fleetcare.queries import beside
from gateways.publisher import Publisher
from ingest.subscriber import Ingest, prepare_session

Q = beside(__file__)

ROWS = Q.count_telemetry


def _spawn_ingest(mqtt_url: str, db_url: str, client_id: str, *extra: str) -> subprocess.Popen:
    """The ingest service in a child process (ingest_child.py: the service without the
    whole CLI's imports, so ten restarts fit in CI's minutes)."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("ingest_child.py")), mqtt_url, db_url,
         client_id, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _publish_in_chunks(url: str, messages: list[tuple[str, bytes]], chunks: int,
                       pause_s: float) -> threading.Thread:
    """Gateways publishing through paho (the simulator's publisher) in a thread."""
    def run() -> None:
        step = -(-len(messages) // chunks)
        with Publisher(url, clients=3, window=500) as pub:
            for i in range(0, len(messages), step):
                pub.publish(iter_messages(messages[i:i + step]))
                time.sleep(pause_s)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def iter_messages(pairs: list[tuple[str, bytes]]):  # noqa: ANN201
    from gateways.uplink import Message

    for n, (t, p) in enumerate(pairs):
        # The publisher keys its connection by machine; the topic's machine id will do.
        yield Message(0.0, hash(t.split("/")[2]) & 0xFFFF, 0, n, 0, t, p, 1, None)


def _drain(mqtt_url: str, db_url: str, client_id: str) -> None:
    final = _spawn_ingest(mqtt_url, db_url, client_id, "--once")
    assert final.wait(240) == 0


def test_ingest_sigkilled_ten_times_while_gateways_publish(db_url: str, broker,  # noqa: F811
                                                           traffic_factory) -> None:
    traffic: Traffic = traffic_factory(40, 45, 11)
    traffic.seed(db_url)
    rng = random.Random(16)
    client_id = "kill10"
    prepare_session(broker.url, client_id)
    chunks = 10
    step = -(-len(traffic.messages) // chunks)
    kills: list[int] = []
    proc = None
    try:
        for i in range(chunks):
            # The gateways publish the next part while the previous process lies dead.
            publisher = _publish_in_chunks(broker.url, traffic.messages[i * step:(i + 1) * step],
                                           chunks=2, pause_s=0.2)
            proc = _spawn_ingest(broker.url, db_url, client_id)
            before = count(db_url, ROWS)
            # Kill at a random moment once this process is storing: mid-batch, mid-commit,
            # between commit and ack.
            assert wait_for(lambda b=before: count(db_url, ROWS) > b, timeout=60,
                            interval=0.05)
            time.sleep(rng.uniform(0.0, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills.append(count(db_url, ROWS))
            publisher.join(60)
            assert not publisher.is_alive()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
    # Nine kills came before every row was in (later parts were not yet published); on a
    # fast machine the tenth may come just after the last batch committed.
    assert len(kills) == 10 and all(k < traffic.rows("telemetry") for k in kills[:9]), kills
    _drain(broker.url, db_url, client_id)
    assert_same_as_clean_run(db_url, traffic, redelivered_rejects_ok=True)


@pytest.fixture
def private_pg():  # noqa: ANN201
    try:
        cluster = PrivateCluster().start()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        url = cluster.create_database("faults")
        db.upgrade(url)
        yield cluster, url
    finally:
        cluster.close()


def test_postgresql_restarted_and_crashed_while_ingest_runs(private_pg, broker,  # noqa: F811
                                                            traffic_factory) -> None:
    cluster, url = private_pg
    traffic: Traffic = traffic_factory(40, 45, 11)
    traffic.seed(url)
    cfg = ingest_config(broker.url, url, client_id="pgrestart", batch_messages=300)
    prepare_session(broker.url, cfg.client_id)
    running = InThread(cfg).start()
    publisher = _publish_in_chunks(broker.url, traffic.messages, chunks=8, pause_s=0.5)
    try:
        assert wait_for(lambda: count(url, ROWS) > 2000, timeout=60)
        cluster.restart("fast", down_s=2.0)      # a clean restart (maintenance)
        assert wait_for(lambda: count(url, ROWS) > 8000, timeout=90)
        cluster.restart("immediate", down_s=1.0)  # a crash: recovery from the WAL
        publisher.join(120)
        assert wait_for(lambda: count(url, ROWS) >= traffic.rows("telemetry"), timeout=120)
        time.sleep(1.0)
    finally:
        counts = running.stop()
    assert running.service.metrics.db_errors._value.get() >= 2
    assert counts.messages >= len(traffic.messages)
    assert_same_as_clean_run(url, traffic)


def test_database_network_cut_and_restored(db_url: str, broker,  # noqa: F811
                                           traffic_factory) -> None:
    traffic: Traffic = traffic_factory(40, 45, 11)
    traffic.seed(db_url)
    from urllib.parse import urlsplit

    parts = urlsplit(db_url)
    proxy = TcpProxy(parts.port or 5432)
    via_proxy = proxy.url(parts.path.lstrip("/"))
    cfg = ingest_config(broker.url, via_proxy, client_id="netcut", batch_messages=300)
    prepare_session(broker.url, cfg.client_id)
    running = InThread(cfg).start()
    publisher = _publish_in_chunks(broker.url, traffic.messages, chunks=8, pause_s=0.5)
    cuts = 0
    try:
        for threshold in (2000, 6000, 12000):
            assert wait_for(lambda t=threshold: count(db_url, ROWS) > t, timeout=90)
            cuts += proxy.cut()
            time.sleep(3.0)  # the link stays down: every reconnect attempt is refused
            proxy.restore()
        publisher.join(120)
        assert wait_for(lambda: count(db_url, ROWS) >= traffic.rows("telemetry"), timeout=120)
        time.sleep(1.0)
    finally:
        running.stop()
        proxy.close()
    assert cuts >= 3
    assert running.service.metrics.db_errors._value.get() >= 3
    assert_same_as_clean_run(db_url, traffic)


FAILING_TRIGGER = Q.install_fault_switch


def test_disk_full_on_write_is_retried_and_refused_rows_are_dead_letters(
        db_url: str, broker) -> None:  # noqa: F811
    """53100 disk_full (an out-of-space table or tablespace) is a resource error: ingest
    keeps the batch unacked and retries until space is back. A row the database refuses
    for its content becomes a db_rejected dead letter; its batch's other rows are stored."""
    machines = machine_ids(50)
    seed_machines(db_url, [*machines, "POISON"])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(FAILING_TRIGGER)
    good = [(topic(m), encode(reading(m, s))) for s in range(40) for m in machines]  # 2,000
    poison = [(topic("POISON"), encode(reading("POISON", s))) for s in range(7)]
    cfg = ingest_config(broker.url, db_url, client_id="diskfull", batch_messages=200)
    prepare_session(broker.url, cfg.client_id)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.disk_full)
    running = InThread(cfg).start()
    messages = good[:1000] + poison + good[1000:]
    fast_publish(broker.url, messages)
    try:
        assert wait_for(lambda: running.service.metrics.db_errors._value.get() >= 3,
                        timeout=60)
        assert count(db_url, ROWS) == 0  # nothing written, nothing acked
        assert count(db_url, Q.count_dead_letters) == 0
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(Q.disk_ok)  # space freed
        assert wait_for(lambda: count(db_url, ROWS) == len(good), timeout=90)
        assert wait_for(lambda: count(db_url, Q.count_dead_letters)
                        == len(poison), timeout=30)
    finally:
        counts = running.stop()
    assert counts.messages == len(messages)
    assert counts.dead_letters == {"db_rejected": len(poison)}
    with psycopg.connect(db_url) as conn:
        rejected = conn.execute(Q.dead_letters_topic).fetchall()
    assert sorted(rejected) == sorted((t, "db_rejected", p) for t, p in poison)
    assert count(db_url, Q.telemetry_count_distinct_machine_id) == len(good)


def test_gateways_back_after_a_week_offline_upload_their_backlog(db_url: str,  # noqa: F811
                                                                 broker) -> None:
    """Five gateways come back after a week offline and upload a reading a minute for the
    whole week (10,080 each, store-and-forward arrays of 500) while 200 others report
    live. Every reading is stored once, arrival is the upload time, and no meter reset
    is invented."""
    now = datetime.now(UTC).replace(microsecond=0)
    week_ago = now - timedelta(days=7)
    returning = machine_ids(5, prefix="W")
    live = machine_ids(200, prefix="L")
    seed_machines(db_url, [*returning, *live])
    uploaded_at = now
    backlog = []
    for m in returning:
        recs = [reading(m, s, ts=week_ago + timedelta(minutes=s), hours=1000 + s / 60,
                        sent_at=uploaded_at.isoformat()) for s in range(7 * 24 * 60)]
        backlog += [(topic(m), encode(recs[i:i + 500])) for i in range(0, len(recs), 500)]
    live_msgs = [(topic(m), encode(reading(m, s, ts=now - timedelta(minutes=30 - s))))
                 for s in range(30) for m in live]
    cfg = ingest_config(broker.url, db_url, client_id="backlog", batch_messages=500)
    prepare_session(broker.url, cfg.client_id)
    running = InThread(cfg).start()
    mixed = live_msgs[:3000] + backlog + live_msgs[3000:]
    fast_publish(broker.url, mixed)
    expected = 5 * 7 * 24 * 60 + len(live_msgs)
    try:
        assert wait_for(lambda: count(db_url, ROWS) >= expected, timeout=120)
    finally:
        counts = running.stop()
    assert counts.stored["telemetry"] == expected == 50_400 + 6_000
    assert counts.duplicates_total == 0 and counts.dead_letters_total == 0
    assert count(db_url, Q.telemetry_count_distinct_machine_id) == expected
    with psycopg.connect(db_url) as conn:
        first, last, arrived = conn.execute(
            Q.telemetry_min_ts).fetchone()
        resets = conn.execute(Q.count_meter_resets).fetchone()[0]
    assert first == week_ago and last == week_ago + timedelta(minutes=7 * 24 * 60 - 1)
    assert arrived == 1  # every backlog reading arrived at its upload, not at its ts
    assert resets == 0


def test_ingest_restarted_with_a_fresh_client_id_gets_nothing_twice(db_url: str,  # noqa: F811
                                                                    broker) -> None:
    """Guard for the kill test's premise: a second session sees only new messages, and
    redelivered ones are dropped by the unique keys (the counts say which)."""
    machines = machine_ids(20)
    seed_machines(db_url, machines)
    messages = [(topic(m), encode(reading(m, s))) for s in range(50) for m in machines]
    cid = f"fresh-{uuid.uuid4().hex[:6]}"
    prepare_session(broker.url, cid)
    fast_publish(broker.url, messages)
    first = Ingest(ingest_config(broker.url, db_url, client_id=cid, once=True)).run()
    fast_publish(broker.url, messages[:100])  # a gateway re-sends
    again = Ingest(ingest_config(broker.url, db_url, client_id=cid, once=True)).run()
    assert first.stored["telemetry"] == len(messages)
    assert again.messages == 100 and again.duplicates["telemetry"] == 100
    assert count(db_url, ROWS) == len(messages)
