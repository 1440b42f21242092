"""The compose health checks test the real thing: ingest connected and draining, a
scheduler leader alive, the web app answering without reading a table."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer

import psycopg
from test_ingest_helpers import InThread, broker, ingest_config, wait_for  # noqa: F401

from app.web import make_handler
from fleetcare.queries import beside
from ingest import health as ingest_health
from scheduler.config import DEFAULT_SCHEDULES, load_scheduler_settings
from scheduler.health import leader_alive
from scheduler.runtime import SchedulerRuntime

Q = beside(__file__)


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def _health(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest.health", "--port", str(port)],
                          capture_output=True, text=True, timeout=60)


def test_ingest_health_follows_the_broker_connection(broker, db_url: str) -> None:  # noqa: F811
    run = InThread(ingest_config(broker.url, db_url, client_id="h21-health", metrics_port=0))
    run.start()
    try:
        assert wait_for(lambda: run.service.metrics_server is not None, 30)
        port = run.service.metrics_server.server_port
        assert wait_for(lambda: ingest_health.metric(
            _metrics(port), "fleetcare_ingest_broker_connected") == 1.0, 30)
        ok = _health(port)
        assert ok.returncode == 0, ok.stderr
        broker.stop()   # the broker goes away: the same check now fails, saying why
        assert wait_for(lambda: ingest_health.metric(
            _metrics(port), "fleetcare_ingest_broker_connected") == 0.0, 30)
        bad = _health(port)
        assert bad.returncode == 1 and "not connected to the MQTT broker" in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    finally:
        run.stop()


def test_ingest_health_sees_a_stuck_writer() -> None:
    text = ("fleetcare_ingest_broker_connected 1.0\nfleetcare_ingest_pending_messages 40.0\n"
            "fleetcare_ingest_last_commit_timestamp_seconds 1000.0\n")
    assert ingest_health.check(text, stuck_s=120, now=1100) is None
    assert "40 messages pending" in str(ingest_health.check(text, stuck_s=120, now=1200))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _health(port).returncode == 1   # nothing listening: unhealthy, not a traceback


def test_scheduler_health_is_the_leader_lock(db_url: str) -> None:
    env = {**os.environ, "FLEETCARE_DATABASE_URL": db_url}
    check = [sys.executable, "-m", "scheduler.health"]
    assert not leader_alive(db_url)
    down = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "no scheduler holds the leader lock" in down.stderr
    runtime = SchedulerRuntime(db_url, load_scheduler_settings(
        jobs={job: "off" for job in DEFAULT_SCHEDULES}, leader_poll_s=0.2))
    runtime.start()
    try:
        assert wait_for(lambda: runtime.is_leader, 30)
        up = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
        assert up.returncode == 0, up.stderr
    finally:
        runtime.shutdown()
    assert not leader_alive(db_url)


def test_healthz_reads_no_table_and_the_page_estimates_history(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(Q.insert_regions)
        conn.execute(Q.insert_machines)
        conn.execute(Q.insert_telemetry)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.analyze_telemetry)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(db_url))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with psycopg.connect(db_url, autocommit=True) as watch:
            watch.execute(Q.value_pg_stat_reset)
            with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
                assert resp.status == 200 and resp.read() == b"ok\n"
            time.sleep(1.5)  # statistics of other sessions arrive within a second
            watch.execute(Q.value_pg_stat_clear_snapshot)
            touched = watch.execute(
                Q.pg_stat_user_tables_coalesce_sum_seq_scan_coalesce).fetchone()[0]  # type: ignore[index]
            assert touched == 0
        with urllib.request.urlopen(base + "/api/summary", timeout=10) as resp:
            data = json.load(resp)
        assert data["telemetry_rows"] == 500 and data["machines"] == 1
        assert data["newest_reading"] is not None
    finally:
        server.shutdown()
        server.server_close()
