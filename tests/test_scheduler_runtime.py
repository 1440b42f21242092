"""The scheduler runtime on the real database with APScheduler really running.

Short intervals (1-2 s) and a fast leader poll keep these tests to a few seconds each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from fleetcare.queries import beside
from scheduler.config import DEFAULT_SCHEDULES, SchedulerSettings, parse_schedule
from scheduler.jobs import JobContext, decide_promotion, run_job
from scheduler.runtime import SchedulerRuntime, stored_schedules

Q = beside(__file__)

# Every job but the health check off (a job added later is off here too).
ONLY_HEALTH = {job: "off" for job in DEFAULT_SCHEDULES if job != "ingest_health"}


def _settings(**jobs: str) -> SchedulerSettings:
    return SchedulerSettings(jobs={**ONLY_HEALTH, **jobs}, leader_poll_s=0.2)


def _runs(url: str, job: str = "ingest_health") -> list[tuple[datetime, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            Q.job_runs_started_at,
            (job,)).fetchall()


def _wait_until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _spawn(url: str, jobs: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLEETCARE_DATABASE_URL": url,
           "FLEETCARE_SCHEDULER_JOBS": json.dumps(jobs),
           "FLEETCARE_SCHEDULER_LEADER_POLL_S": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "fleetcare", "scheduler"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_scheduler_processes_run_each_job_once_and_fail_over(db_url: str) -> None:
    jobs = {**ONLY_HEALTH, "ingest_health": "every 1s"}
    procs = [_spawn(db_url, jobs), _spawn(db_url, jobs)]
    try:
        # Generous: two `fleetcare` processes import every stage before they start, which
        # takes a while on a busy machine; the assertions below do not depend on timing.
        _wait_until(lambda: len(_runs(db_url)) >= 4, timeout=120)
        runs = _runs(db_url)
        hosts = {h for _, h, _ in runs}
        assert len(hosts) == 1, f"two processes ran the job: {hosts}"
        leader_pid = int(next(iter(hosts)).rsplit(":", 1)[1])
        leader = next(p for p in procs if p.pid == leader_pid)
        follower = next(p for p in procs if p is not leader)

        # The leader goes away; the follower takes over and the job keeps running once.
        leader.send_signal(signal.SIGTERM)
        leader.wait(timeout=15)
        before = len(runs)
        _wait_until(lambda: sum(1 for _, h, _ in _runs(db_url)
                                if h.endswith(f":{follower.pid}")) >= 3, timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=15)
    runs = _runs(db_url)
    assert len(runs) > before
    assert all(outcome == "ok" for _, _, outcome in runs)
    # One run per 1-second slot: two processes running it would give pairs ~0 s apart.
    starts = [s for s, _, _ in runs]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) > 0.5, gaps


def test_two_schedulers_in_one_process_share_the_store(db_url: str) -> None:
    a, b = SchedulerRuntime(db_url, _settings(ingest_health="every 1s")), \
        SchedulerRuntime(db_url, _settings(ingest_health="every 1s"))
    a.start()
    b.start()
    try:
        _wait_until(lambda: len(_runs(db_url)) >= 3)
        assert [a.is_leader, b.is_leader].count(True) == 1
    finally:
        a.shutdown()
        b.shutdown()


def _stored_next_run(url: str, job: str) -> str | None:
    return next(r["next_run"] for r in stored_schedules(url) if r["job"] == job)


def test_restart_keeps_schedules(db_url: str) -> None:
    settings = _settings(ingest_health="every 1h")
    first = SchedulerRuntime(db_url, settings)
    first.start()
    _wait_until(lambda: first.is_leader)
    planned = _stored_next_run(db_url, "ingest_health")
    first.shutdown()
    time.sleep(1.1)  # a naive re-add would now compute a later next run time

    second = SchedulerRuntime(db_url, settings)
    second.start()
    try:
        _wait_until(lambda: second.is_leader)
        assert _stored_next_run(db_url, "ingest_health") == planned
        assert {r["job"] for r in stored_schedules(db_url)} == {"ingest_health"}
    finally:
        second.shutdown()

    # A changed schedule in the settings is applied on the next start.
    third = SchedulerRuntime(db_url, _settings(ingest_health="cron 30 4 * * *"))
    third.start()
    try:
        _wait_until(lambda: third.is_leader)
        row = next(r for r in stored_schedules(db_url) if r["job"] == "ingest_health")
        assert "hour='4'" in row["schedule"] and row["next_run"] != planned
    finally:
        third.shutdown()


def test_job_missed_many_times_while_down_runs_once_on_start(db_url: str) -> None:
    settings = _settings(ingest_health="every 10s")
    runtime = SchedulerRuntime(db_url, settings)
    runtime.start()
    _wait_until(lambda: runtime.is_leader)
    runtime.shutdown()
    assert _runs(db_url) == []
    # Pretend every scheduler was down for an hour: 360 runs of a 10-second job missed.
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    with psycopg.connect(db_url) as conn:
        conn.execute(Q.update_scheduler_jobs,
                     (an_hour_ago,))

    runtime = SchedulerRuntime(db_url, settings)
    runtime.start()
    try:
        _wait_until(lambda: len(_runs(db_url)) >= 1)
        time.sleep(2.0)
        assert len(_runs(db_url)) == 1
        next_run = datetime.fromisoformat(_stored_next_run(db_url, "ingest_health") or "")
        assert next_run > datetime.now(UTC)
    finally:
        runtime.shutdown()


def test_grace_time_limits_how_late_a_catch_up_run_may_be(db_url: str) -> None:
    settings = SchedulerSettings(jobs={**ONLY_HEALTH, "ingest_health": "every 1h"},
                                 leader_poll_s=0.2, misfire_grace_s=60)
    runtime = SchedulerRuntime(db_url, settings)
    runtime.start()
    _wait_until(lambda: runtime.is_leader)
    runtime.shutdown()
    with psycopg.connect(db_url) as conn:
        conn.execute(Q.update_scheduler_jobs,
                     ((datetime.now(UTC) - timedelta(minutes=30)).timestamp(),))
    runtime = SchedulerRuntime(db_url, settings)
    runtime.start()
    try:
        _wait_until(lambda: runtime.is_leader)
        time.sleep(1.5)
        assert _runs(db_url) == []  # 30 minutes late > 60 s grace: skipped, not run
    finally:
        runtime.shutdown()


def test_missing_stage_is_a_recorded_skip_and_errors_are_recorded(db_url: str) -> None:
    ctx = JobContext(db_url, SchedulerSettings(targets={"features_daily": "no_such_stage.jobs:run",
                                                        "score_daily": "math:sqrt"}))
    skipped = run_job(ctx, "features_daily")
    assert skipped.outcome == "skipped" and "not available yet" in (skipped.error or "")
    failed = run_job(ctx, "score_daily")  # math.sqrt(url) raises TypeError
    assert failed.outcome == "failed" and "TypeError" in (failed.error or "")
    ok = run_job(JobContext(db_url, SchedulerSettings(targets={"score_daily": "os.path:basename"})),
                 "score_daily", trigger="manual")
    assert ok.outcome == "ok" and ok.counts == {"result": db_url.rsplit("/", 1)[1]}
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(Q.job_runs_job).fetchall()
    assert rows == [("features_daily", "skipped", "schedule", True),
                    ("score_daily", "failed", "schedule", True),
                    ("score_daily", "ok", "manual", True)]


def test_jobs_command_lists_runs_as_json(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import cli

    monkeypatch.setenv("FLEETCARE_DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["jobs", "run", "ingest_health", "--json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["jobs", "--json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.output)
    assert [(r["job"], r["outcome"], r["trigger"]) for r in runs] == [
        ("ingest_health", "ok", "manual")]
    assert runs[0]["counts"]["telemetry_1h"] == 0 and runs[0]["finished_at"]


def test_promotion_only_when_better() -> None:
    assert decide_promotion({"candidate_id": 7, "active_id": None})[1] == 7
    assert decide_promotion({"candidate_id": 7, "candidate_score": 0.41, "active_id": 3,
                             "active_score": 0.40})[1] == 7
    assert decide_promotion({"candidate_id": 7, "candidate_score": 0.40, "active_id": 3,
                             "active_score": 0.40})[1] is None
    assert decide_promotion({"candidate_id": 7, "candidate_score": 0.12, "active_id": 3,
                             "active_score": 0.10, "higher_is_better": False})[1] is None


def test_schedule_texts() -> None:
    assert str(parse_schedule("every 90s")) == "interval[0:01:30]"
    assert "day_of_week='mon'" in str(parse_schedule("cron 0 5 * * mon"))
    with pytest.raises(ValueError):
        parse_schedule("hourly")
    with pytest.raises(ValueError):
        SchedulerSettings(jobs={"no_such_job": "every 1s"})


def test_stage_results_become_small_counts() -> None:
    from dataclasses import dataclass
    from datetime import date

    from scheduler.jobs import _as_counts

    @dataclass
    class Result:
        day: date
        rows: int
        frame: list[int]
        nested: object = None

    assert _as_counts(Result(date(2025, 3, 2), 7, [1, 2, 3])) == {
        "day": "2025-03-02", "rows": 7, "frame_rows": 3, "nested": None}
    assert _as_counts({"written": 5}) == {"written": 5}
    assert _as_counts(None) == {}
    assert _as_counts(12) == {"result": 12}
