"""The scheduler killed mid-job: the next leader reruns the job once, and its output is
the same as one run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg

from fleetcare.queries import beside
from gateways.master import write_master_data
from gateways.run import SimulationRun
from gateways.sinks import pairs
from ingest.direct import ingest_messages
from scheduler.config import DEFAULT_SCHEDULES

Q = beside(__file__)

HERE = Path(__file__).parent
OTHERS_OFF = {job: "off" for job in DEFAULT_SCHEDULES if job != "features_daily"}


def _spawn(url: str, schedule: str, marker: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "FLEETCARE_SCHEDULER_JOBS": json.dumps({**OTHERS_OFF, "features_daily": schedule}),
           "FLEETCARE_SCHEDULER_TARGETS": json.dumps({"features_daily": "slowjob:build"}),
           "FLEETCARE_SCHEDULER_LEADER_POLL_S": "0.2",
           "FLEETCARE_TEST_SLOWJOB_MARKER": str(marker)}
    return subprocess.Popen([sys.executable, str(HERE / "scheduler_child.py"), url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(predicate, timeout: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def _runs(url: str) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute(Q.job_runs_trigger).fetchall()


def _features(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(Q.features_daily_machine_id).fetchall()


def test_scheduler_killed_mid_job_reruns_it_once_without_doubling(db_url: str,
                                                                  tmp_path: Path) -> None:
    run = SimulationRun(12, 30, 5, date(2025, 3, 3))
    with psycopg.connect(db_url) as conn:
        write_master_data(conn, run.fleet)
        conn.commit()
    ingest_messages(db_url, pairs(run.messages()))
    marker = tmp_path / "first-run"
    first = _spawn(db_url, "every 2s", marker)
    try:
        # The job has written its features and is in the rest of its work: kill.
        assert _wait(marker.exists, 180), "the job never started"
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert [r[:2] for r in _runs(db_url)] == [("schedule", "running")]
    after_first = _features(db_url)
    assert after_first and all(n == 1 for *_k, n in after_first)

    # The next leader (its schedule now hourly, so only a rerun can run the job soon).
    second = _spawn(db_url, "every 1h", marker)
    try:
        assert _wait(lambda: len(_runs(db_url)) == 2 and _runs(db_url)[1][1] != "running",
                     180)
        time.sleep(3.0)  # no second rerun comes
        runs = _runs(db_url)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert [r[:2] for r in runs] == [("schedule", "failed"), ("rerun", "ok")], runs
    assert runs[0][2] is not None and runs[0][2].startswith("interrupted")
    assert _features(db_url) == after_first  # the same rows once, not twice
