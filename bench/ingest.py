"""`fleetcare bench ingest`: ingest against a naive subscriber and two ceilings, one run.

All consumers drain the same backlog: N messages are published once (QoS 1) to our own
Mosquitto while every consumer's persistent session exists but is offline, so each has
the same N queued, and each is timed from its first message to its last commit (or last
message, for the receive-only ceiling). The database is a scratch database created on
the configured (or embedded) server and dropped afterwards.

(a) naive: paho, json.loads, one INSERT + COMMIT per row, ack after commit.
(b) ingest: ``fleetcare ingest`` itself (``--processes`` > 1: a shared subscription).
(c) COPY ceiling: the same rows, decoded, straight to the table with binary COPY.
(d) receive-only ceiling: a bare paho subscriber at QoS 1 that counts messages.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
import paho.mqtt.client as mqtt
import psycopg
from psycopg import sql

from fleetcare import db
from fleetcare.clikit import settings_of
from fleetcare.queries import Queries, load
from fleetcare.settings import mqtt_host_port

log = logging.getLogger("bench.ingest")
_ADMIN = load("fleetcare", "admin.sql")
_BENCH = load("bench", "ingest.sql")

T0 = datetime(2024, 1, 1, tzinfo=UTC)


# -- payloads -----------------------------------------------------------------------------


def bench_messages(n: int, *, machines: int = 2000, mix: str = "telemetry", array: int = 1,
                   seed: int = 7, seq0: int = 0) -> Iterator[tuple[str, bytes]]:
    """n messages shaped like the simulator's (~300-byte readings); `mixed` adds fault
    codes (8 %) and work orders (2 %); `array` > 1 makes store-and-forward batches.
    Sequence numbers start at `seq0` (room below for a generated history)."""
    rng = random.Random(seed)
    seqs = {"telemetry": [0] * machines, "faults": [0] * machines, "service": [0] * machines}
    hours = [rng.uniform(100, 5000) for _ in range(machines)]
    for i in range(n):
        m = i % machines
        mid = f"B{m:05d}"
        stream = "telemetry"
        if mix == "mixed":
            r = rng.random()
            stream = "faults" if r < 0.08 else "service" if r < 0.10 else "telemetry"
        records = []
        for _ in range(array if stream == "telemetry" else 1):
            step = seqs[stream][m]
            seqs[stream][m] += 1
            seq = seq0 + step
            ts = T0 + timedelta(minutes=15 * step, seconds=m % 900)
            if stream == "telemetry":
                hours[m] += 0.25
                records.append({
                    "machine_id": mid, "seq": seq, "ts": ts.isoformat(),
                    "sent_at": (ts + timedelta(seconds=3)).isoformat(),
                    "engine_hours": round(hours[m], 2),
                    "idle_hours": round(hours[m] * 0.22, 2),
                    "fuel_used_l": round(hours[m] * 14.2, 1),
                    "lat": round(30 + (m % 100) * 0.05, 5), "lon": round(110 + (m % 97) * 0.07, 5),
                    "coolant_temp_c": round(rng.gauss(86, 4), 1),
                    "hydraulic_oil_temp_c": round(rng.gauss(58, 6), 1),
                    "engine_load_pct": round(rng.uniform(20, 95), 1),
                    "hydraulic_pressure_bar": round(rng.uniform(150, 330), 1)})
            elif stream == "faults":
                records.append({"machine_id": mid, "seq": seq, "ts": ts.isoformat(),
                                "spn": rng.choice([110, 100, 1638, 168, 97]),
                                "fmi": rng.choice([0, 1, 3, 4, 15, 16]),
                                "oc": rng.randint(1, 20), "active": rng.random() < 0.7})
            else:
                records.append({"machine_id": mid, "seq": seq, "ts": ts.isoformat(),
                                "kind": rng.choice(["breakdown", "preventive", "inspection"]),
                                "components": ["engine"], "parts": [{"part": "oil_filter",
                                                                     "qty": 1}],
                                "downtime_h": 3.0, "cost_cny": 1800.0,
                                "engine_hours": round(hours[m], 1)})
        body = records if len(records) > 1 else records[0]
        yield f"fleet/v1/{mid}/{stream}", json.dumps(body, separators=(",", ":")).encode()


# -- scratch database ---------------------------------------------------------------------


@contextmanager
def scratch_database(url: str, timescaledb: str = "auto") -> Iterator[str]:
    """A migrated database next to ``url``'s, dropped on exit (needs CREATEDB)."""
    name = f"fleetcare_bench_{uuid.uuid4().hex[:8]}"
    with db.connect(url, autocommit=True) as conn:
        conn.execute(_ADMIN.create_database.format(name=sql.Identifier(name)))
    parts = urlsplit(url)
    scratch = urlunsplit(parts._replace(path="/" + name))
    try:
        db.upgrade(scratch, timescaledb=timescaledb)
        yield scratch
    finally:
        with db.connect(url, autocommit=True) as conn:
            conn.execute(_ADMIN.drop_database.format(name=sql.Identifier(name)))


def _seed_machines(url: str, n: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_BENCH.seed_region)
        with conn.cursor().copy(_BENCH.copy_machines) as copy:
            for m in range(n):
                copy.write_row((f"B{m:05d}", "ZY210", "crawler_excavator", "bench",
                                "2023-01-01"))


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_BENCH.truncate_raw)


def _stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(_BENCH.stored).fetchone()[0])  # type: ignore[index]


def _duplicates_stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(_BENCH.duplicates_stored).fetchone()[0])  # type: ignore[index]


# -- consumers -----------------------------------------------------------------------------


def _session(url: str, client_id: str, subscription: str) -> None:
    from ingest.subscriber import prepare_session

    if subscription.startswith("$share/"):
        group = subscription.split("/")[1]
        prepare_session(url, client_id, shared_group=group)
    else:
        prepare_session(url, client_id)


def _consume(host: str, port: int, client_id: str, on_message: Any, done: threading.Event,
             timeout: float) -> None:
    """Bare paho on the persistent session until `done` is set or `timeout` passes."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=False, protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, *_: c.subscribe("fleet/v1/+/+", qos=1)
    client.on_message = on_message
    client.connect(host, port, keepalive=60)
    client.loop_start()
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()


def _receive_only(url: str, client_id: str, expected: int, timeout: float) -> dict[str, Any]:
    """(d) bare paho, QoS 1, persistent session, paho's own ack on receipt."""
    host, port = mqtt_host_port(url)
    state = {"n": 0, "first": 0.0, "last": 0.0}
    done = threading.Event()

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        now = time.monotonic()
        if not state["n"]:
            state["first"] = now
        state["n"] += 1
        state["last"] = now
        if state["n"] >= expected:
            done.set()

    _consume(host, port, client_id, on_message, done, timeout)
    return {"messages": state["n"], "seconds": max(state["last"] - state["first"], 1e-9)}


def _naive(url: str, database_url: str, client_id: str, limit: int,
           timeout: float) -> dict[str, Any]:
    """(a) one INSERT and COMMIT per row, ack (paho's, after the callback) per message."""
    host, port = mqtt_host_port(url)
    conn = psycopg.connect(database_url)
    state = {"n": 0, "rows": 0, "first": 0.0, "last": 0.0}
    done = threading.Event()
    statements = {"telemetry": _BENCH.naive_telemetry, "faults": _BENCH.naive_faults,
                  "service": _BENCH.naive_service}

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        if state["n"] >= limit:
            return
        now = time.monotonic()
        if not state["n"]:
            state["first"] = now
        body = json.loads(msg.payload)
        stream = msg.topic.rsplit("/", 1)[1]
        for rec in body if isinstance(body, list) else [body]:
            rec = {"idle_hours": None, "fuel_used_l": None, "lat": None, "lon": None,
                   "coolant_temp_c": None, "hydraulic_oil_temp_c": None,
                   "engine_load_pct": None, "hydraulic_pressure_bar": None, **rec}
            conn.execute(statements[stream], rec)
            conn.commit()
            state["rows"] += 1
        state["n"] += 1
        state["last"] = time.monotonic()
        if state["n"] >= limit:
            done.set()

    _consume(host, port, client_id, on_message, done, timeout)
    conn.close()
    return {"messages": state["n"], "rows": state["rows"],
            "seconds": max(state["last"] - state["first"], 1e-9)}


def _copy_ceiling(database_url: str, messages: list[tuple[str, bytes]]) -> dict[str, Any]:
    """(c) the same rows (decoded beforehand, not timed) by binary COPY, 10k per commit."""
    from ingest.decode import Batch, Decoder, parse_topic
    from ingest.writer import _FAULT_TYPES, _TELEMETRY_TYPES, Writer

    decoder = Decoder()
    batch = Batch()
    now = datetime.now(UTC)
    for topic, payload in messages:
        machine_id, stream = parse_topic(topic)  # type: ignore[misc]
        decoder.decode(topic, machine_id, stream, payload, now, batch)
    from ingest.decode import FAULT_COLUMNS, TELEMETRY_COLUMNS

    rows = len(batch.telemetry) + len(batch.faults)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        started = time.monotonic()
        for table, cols, types, data in (("telemetry", TELEMETRY_COLUMNS, _TELEMETRY_TYPES,
                                          batch.telemetry),
                                         ("fault_codes", FAULT_COLUMNS, _FAULT_TYPES,
                                          batch.faults)):
            for i in range(0, len(data), 10_000):
                Writer._copy(cur, table, cols, types, data[i:i + 10_000])
                conn.commit()
        seconds = time.monotonic() - started
    return {"rows": rows, "seconds": max(seconds, 1e-9)}


def _ingest_worker(mqtt_url: str, database_url: str, client_id: str, group: str | None,
                   out: Any) -> None:
    from ingest.subscriber import Ingest, IngestConfig

    config = IngestConfig(mqtt_url=mqtt_url, database_url=database_url, client_id=client_id,
                          shared_group=group, once=True, idle_exit_s=2.0, log_every_s=3600)
    service = Ingest(config)
    counts = service.run()
    out.put({"messages": counts.messages, "rows": counts.rows, **_batch_times(service),
             "first": service.first_message_at, "last": service.last_commit_at,
             "wall_first": time.time() - (time.monotonic() - (service.first_message_at or 0)),
             "wall_last": time.time() - (time.monotonic() - (service.last_commit_at or 0))})


def _ingest(mqtt_url: str, database_url: str, client_ids: list[str],
            group: str | None) -> dict[str, Any]:
    """(b) fleetcare ingest --once, in this process or in N processes sharing the load."""
    if len(client_ids) == 1:
        from ingest.subscriber import Ingest, IngestConfig

        service = Ingest(IngestConfig(mqtt_url=mqtt_url, database_url=database_url,
                                      client_id=client_ids[0], once=True, idle_exit_s=2.0,
                                      log_every_s=3600))
        counts = service.run()
        return {"messages": counts.messages, "rows": counts.rows,
                "seconds": max((service.last_commit_at or 0) - (service.first_message_at or 0),
                               1e-9), **_batch_times(service)}
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ingest_worker, args=(mqtt_url, database_url, cid, group, queue))
             for cid in client_ids]
    for p in procs:
        p.start()
    results = [queue.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    first = min(r["wall_first"] for r in results)
    last = max(r["wall_last"] for r in results)
    return {"messages": sum(r["messages"] for r in results),
            "rows": sum(r["rows"] for r in results), "seconds": max(last - first, 1e-9),
            "batches": sum(r["batches"] for r in results),
            "batch_seconds": sum(r["batch_seconds"] for r in results)}


def _batch_times(service: Any) -> dict[str, float]:
    """Batches written and their total decode + write + commit time (ingest's metrics)."""
    registry = service.metrics.registry
    return {"batches": registry.get_sample_value("fleetcare_ingest_batch_seconds_count") or 0,
            "batch_seconds": registry.get_sample_value("fleetcare_ingest_batch_seconds_sum")
            or 0.0}


# -- the command ---------------------------------------------------------------------------


def run_bench(database_url: str, *, messages: int, mix: str, array: int, processes: int,
              naive_messages: int, machines: int, timescaledb: str = "auto") -> dict[str, Any]:
    """Run all four paths on one backlog; returns the figures (see the command's --json)."""
    from bench.loadgen import publish
    from fleetcare.embedded import start_mosquitto

    payloads = list(bench_messages(messages, machines=machines, mix=mix, array=array))
    rows_published = sum(p.count(b'"seq"') for _, p in payloads)
    tag = uuid.uuid4().hex[:6]
    group = f"bench{tag}" if processes > 1 else None
    ingest_ids = [f"bench-ingest-{tag}-{i}" for i in range(processes)]
    with scratch_database(database_url, timescaledb) as scratch, start_mosquitto() as broker:
        _seed_machines(scratch, machines)
        log.info("(c) COPY ceiling: %d rows", rows_published)
        copy = _copy_ceiling(scratch, payloads)
        _truncate(scratch)
        subscription = f"$share/{group}/fleet/v1/+/+" if group else "fleet/v1/+/+"
        for cid in ingest_ids:
            _session(broker.url, cid, subscription)
        _session(broker.url, f"bench-recv-{tag}", "fleet/v1/+/+")
        _session(broker.url, f"bench-naive-{tag}", "fleet/v1/+/+")
        log.info("publishing %d messages (%d rows)", messages, rows_published)
        t0 = time.monotonic()
        publish(broker.url, payloads, window=5000)
        publish_s = time.monotonic() - t0
        del payloads
        log.info("(d) receive-only subscriber")
        recv = _receive_only(broker.url, f"bench-recv-{tag}", messages, timeout=600)
        log.info("(b) fleetcare ingest, %d process(es)", processes)
        ing = _ingest(broker.url, scratch, ingest_ids, group)
        stored = _stored(scratch)
        dups = _duplicates_stored(scratch)
        _truncate(scratch)
        log.info("(a) naive subscriber: %d messages", naive_messages)
        naive = _naive(broker.url, scratch, f"bench-naive-{tag}", naive_messages, timeout=900)
        dropped = broker.dropped_messages()
    naive_rows_s = naive["rows"] / naive["seconds"]
    ingest_rows_s = ing["rows"] / ing["seconds"]
    ingest_msgs_s = ing["messages"] / ing["seconds"]
    recv_msgs_s = recv["messages"] / recv["seconds"]
    copy_rows_s = copy["rows"] / copy["seconds"]
    return {
        "published": messages, "rows_published": rows_published, "stored": stored,
        "duplicates_stored": dups, "broker_dropped": dropped,
        "mix": mix, "array": array, "processes": processes,
        "naive_msgs_per_s": round(naive["messages"] / naive["seconds"], 1),
        "naive_rows_per_s": round(naive_rows_s, 1),
        "ingest_msgs_per_s": round(ingest_msgs_s, 1),
        "ingest_rows_per_s": round(ingest_rows_s, 1),
        "copy_rows_per_s": round(copy_rows_s, 1),
        "receive_only_msgs_per_s": round(recv_msgs_s, 1),
        "ratio_ingest_naive_rows": round(ingest_rows_s / naive_rows_s, 2),
        "ratio_ingest_copy_rows": round(ingest_rows_s / copy_rows_s, 3),
        "ratio_ingest_receive_msgs": round(ingest_msgs_s / recv_msgs_s, 3),
        "receive_only_messages": recv["messages"], "ingest_messages": ing["messages"],
        "naive_messages": naive["messages"], "publish_msgs_per_s": round(messages / publish_s, 1),
    }


# -- history: ingest on top of a fleet's past -------------------------------------------

# Sequence numbers of the bench's readings start here in history mode; the history's stay
# below (see bench/sql/ingest.sql).
HISTORY_SEQ0 = 100_000_000
HISTORY_MACHINES_PER_STATEMENT = 500


def _history_queries() -> Queries:
    return load("bench", "ingest.sql")


def first_hours(machines: int, seed: int = 7) -> list[float]:
    """Each machine's hour meter at its first bench reading (as bench_messages draws it)."""
    rng = random.Random(seed)
    return [rng.uniform(100, 5000) for _ in range(machines)]


def fill_history(url: str, machines: int, d_lo: int, d_hi: int) -> None:
    """Readings and fault codes of days d_lo..d_hi before T0 for every bench machine."""
    q = _history_queries()
    base = {"t0": T0, "seq0": HISTORY_SEQ0, "hours": first_hours(machines),
            "d_lo": d_lo, "d_hi": d_hi}
    with psycopg.connect(url, autocommit=True) as conn:
        for lo in range(0, machines, HISTORY_MACHINES_PER_STATEMENT):
            hi = min(lo + HISTORY_MACHINES_PER_STATEMENT, machines) - 1
            with conn.transaction():
                for name in ("history_telemetry", "history_faults"):
                    conn.execute(q[name], {**base, "lo": lo, "hi": hi})
            log.info("history days %d..%d: machines up to %d of %d", d_lo, d_hi, hi + 1,
                     machines)


def _forget_bench_rows(url: str) -> None:
    q = _history_queries()
    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("forget_telemetry", "forget_faults", "forget_service", "forget_resets"):
            conn.execute(q[name], {"t0": T0})
        # As autovacuum would have by then: dead rows gone, statistics current.
        conn.execute(q.vacuum_raw)


def parse_history_days(text: str) -> list[int]:
    """'365' or '90,365' -> [90, 365] (0, the empty table, is always measured too)."""
    try:
        days = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"--history-days wants days like 365 or 90,365, got {text!r}") from None
    if not days or days[0] < 0 or days[-1] > 3650:
        raise ValueError(f"--history-days wants days between 0 and 3650, got {text!r}")
    return [d for d in days if d > 0]


def run_history_bench(database_url: str, *, messages: int, mix: str, array: int,
                      processes: int, machines: int, history_days: list[int],
                      timescaledb: str = "auto") -> dict[str, Any]:
    """Ingest the same backlog on an empty table, then on top of each history size.

    One broker session per size holds the same N messages; before each measurement the
    previous one's rows are deleted, the history is extended to the size (generated by
    SQL) and the tables vacuumed and analysed.
    """
    from bench.loadgen import publish
    from fleetcare.embedded import start_mosquitto

    payloads = list(bench_messages(messages, machines=machines, mix=mix, array=array,
                                   seq0=HISTORY_SEQ0))
    rows_published = sum(p.count(b'"seq"') for _, p in payloads)
    sizes = [0, *history_days]
    tag = uuid.uuid4().hex[:6]
    q = _history_queries()
    figures: list[dict[str, Any]] = []
    with scratch_database(database_url, timescaledb) as scratch, start_mosquitto() as broker:
        _seed_machines(scratch, machines)
        plan: dict[int, tuple[list[str], str | None]] = {}
        for d in sizes:
            group = f"bench{tag}h{d}" if processes > 1 else None
            ids = [f"bench-hist-{tag}-{d}-{i}" for i in range(processes)]
            subscription = f"$share/{group}/fleet/v1/+/+" if group else "fleet/v1/+/+"
            for cid in ids:
                _session(broker.url, cid, subscription)
            plan[d] = (ids, group)
        log.info("publishing %d messages (%d rows) for %d measurements", messages,
                 rows_published, len(sizes))
        publish(broker.url, payloads, window=5000)
        del payloads
        filled = 0
        for d in sizes:
            if d:
                _forget_bench_rows(scratch)
            fill_s = 0.0
            if d > filled:
                t0 = time.monotonic()
                fill_history(scratch, machines, filled + 1, d)
                filled = d
                _forget_bench_rows(scratch)   # vacuum + analyse the new history
                fill_s = time.monotonic() - t0
            with psycopg.connect(scratch) as conn:
                history = conn.execute(q["history_rows"], {"t0": T0}).fetchone()
            assert history is not None
            log.info("ingest on %d days of history (%d readings)", d, history[0])
            ids, group = plan[d]
            ing = _ingest(broker.url, scratch, ids, group)
            with psycopg.connect(scratch) as conn:
                stored, dups = conn.execute(q["bench_stored"], {"t0": T0}).fetchone()  # type: ignore[misc]
            batches = max(int(ing["batches"]), 1)
            figures.append({
                "history_days": d, "history_readings": int(history[0]),
                "history_fault_codes": int(history[1]), "fill_seconds": round(fill_s, 1),
                "messages": ing["messages"], "rows": ing["rows"],
                "ingest_rows_per_s": round(ing["rows"] / ing["seconds"], 1),
                "ingest_msgs_per_s": round(ing["messages"] / ing["seconds"], 1),
                "batches": batches,
                "ms_per_batch": round(1000 * ing["batch_seconds"] / batches, 2),
                "stored": int(stored), "duplicates_stored": int(dups),
                "lost": rows_published - int(stored),
            })
        dropped = broker.dropped_messages()
    empty = figures[0]
    for f in figures:
        f["ratio_rows_per_s_to_empty"] = round(f["ingest_rows_per_s"]
                                               / empty["ingest_rows_per_s"], 3)
        f["ratio_ms_per_batch_to_empty"] = round(f["ms_per_batch"] / empty["ms_per_batch"], 3)
    last = figures[-1]
    grown = last["history_readings"] - empty["history_readings"]
    return {
        "machines": machines, "published": messages, "rows_published": rows_published,
        "mix": mix, "array": array, "processes": processes, "broker_dropped": dropped,
        "history": figures,
        # How time per batch grows: extra ms per batch per million readings of history.
        "ms_per_batch_per_million_history_readings": (
            round((last["ms_per_batch"] - empty["ms_per_batch"]) / (grown / 1e6), 3)
            if grown else None),
        "ok": all(f["lost"] == 0 and f["duplicates_stored"] == 0 for f in figures),
    }


def _echo_history(r: dict[str, Any]) -> None:
    click.echo(f"fleetcare bench ingest --history-days: {r['published']} messages "
               f"({r['rows_published']} rows), {r['machines']} machines, mix={r['mix']}, "
               f"array={r['array']}, processes={r['processes']}")
    click.echo(f"  {'history':>12} {'readings':>12} {'rows/s':>10} {'x empty':>8} "
               f"{'ms/batch':>9} {'x empty':>8} {'lost':>5} {'dups':>5}")
    for f in r["history"]:
        click.echo(f"  {f['history_days']:>7} days {f['history_readings']:>12,} "
                   f"{f['ingest_rows_per_s']:>10,.0f} {f['ratio_rows_per_s_to_empty']:>8.2f} "
                   f"{f['ms_per_batch']:>9.1f} {f['ratio_ms_per_batch_to_empty']:>8.2f} "
                   f"{f['lost']:>5} {f['duplicates_stored']:>5}")
    growth = r["ms_per_batch_per_million_history_readings"]
    click.echo(f"  time per batch grows {growth} ms per million readings of history; "
               f"broker dropped: {r['broker_dropped']}  {'OK' if r['ok'] else 'MISMATCH'}")


@click.command("ingest")
@click.option("--messages", "-n", type=click.IntRange(1), default=200_000, show_default=True)
@click.option("--mix", type=click.Choice(["telemetry", "mixed"]), default="telemetry",
              show_default=True, help="telemetry only, or with 8% fault codes and 2% work orders")
@click.option("--array", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="readings per telemetry message (store-and-forward batches)")
@click.option("--processes", type=click.IntRange(1, 16), default=1, show_default=True,
              help="ingest processes on a shared subscription")
@click.option("--naive-messages", type=click.IntRange(1), default=10_000, show_default=True,
              help="messages the naive subscriber is timed on (it manages ~3k/s)")
@click.option("--machines", type=click.IntRange(1, 99_999), default=2000, show_default=True)
@click.option("--history-days", "history", metavar="D[,D...]", default=None,
              help="Measure ingest on an empty table and then on top of D days of the "
                   "fleet's readings (generated by SQL), e.g. 90,365; replaces the "
                   "naive/COPY/receive-only comparison.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_ingest(ctx: click.Context, messages: int, mix: str, array: int, processes: int,
                 naive_messages: int, machines: int, history: str | None,
                 as_json: bool) -> None:
    """Ingest vs a naive subscriber, the COPY ceiling and a receive-only subscriber.

    Starts its own Mosquitto (project config, free port) and a scratch database on the
    configured or embedded PostgreSQL; prints msgs/s, rows/s and the ratios b/a, b/c, b/d,
    and stored vs published (must be equal). With --history-days: rows/s and time per
    batch at each history size, and their ratio to the empty table's.
    """
    from fleetcare.runtime import services

    days: list[int] | None = None
    if history is not None:
        try:
            days = parse_history_days(history)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--history-days") from None
    settings = settings_of(ctx)
    if days is not None:
        with services(settings, migrate=False) as svc:
            result = run_history_bench(svc.db, messages=messages, mix=mix, array=array,
                                       processes=processes, machines=machines,
                                       history_days=days, timescaledb=settings.timescaledb)
        if as_json:
            click.echo(json.dumps(result))
        else:
            _echo_history(result)
        return
    with services(settings, migrate=False) as svc:
        result = run_bench(svc.db, messages=messages, mix=mix, array=array,
                           processes=processes, naive_messages=min(naive_messages, messages),
                           machines=machines, timescaledb=settings.timescaledb)
    if as_json:
        click.echo(json.dumps(result))
        return
    r = result
    click.echo(f"fleetcare bench ingest: {r['published']} messages ({r['rows_published']} rows),"
               f" mix={r['mix']}, array={r['array']}, processes={r['processes']}")
    click.echo(f"  (a) naive INSERT+COMMIT  {r['naive_msgs_per_s']:>10,.0f} msgs/s "
               f"{r['naive_rows_per_s']:>10,.0f} rows/s   ({r['naive_messages']} messages)")
    click.echo(f"  (b) fleetcare ingest     {r['ingest_msgs_per_s']:>10,.0f} msgs/s "
               f"{r['ingest_rows_per_s']:>10,.0f} rows/s")
    click.echo(f"  (c) COPY ceiling         {'':>10} msgs/s {r['copy_rows_per_s']:>10,.0f} rows/s")
    click.echo(f"  (d) receive-only paho    {r['receive_only_msgs_per_s']:>10,.0f} msgs/s")
    click.echo(f"  b/a rows {r['ratio_ingest_naive_rows']:.1f}x   b/c rows "
               f"{r['ratio_ingest_copy_rows']:.2f}   b/d msgs {r['ratio_ingest_receive_msgs']:.2f}")
    ok = r["stored"] == r["rows_published"] and not r["duplicates_stored"]
    click.echo(f"  stored {r['stored']} of {r['rows_published']} published rows, "
               f"{r['duplicates_stored']} stored twice, broker dropped: {r['broker_dropped']}"
               f"  {'OK' if ok else 'MISMATCH'}")
