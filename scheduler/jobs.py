"""The scheduled jobs: what each one does, and the recording of every run in job_runs.

Jobs of other stages are called through "module:function" paths resolved at run time
(see config.DEFAULT_TARGETS): a stage that is not installed yet gives a recorded
'skipped' run saying so, never a scheduler crash.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from fleetcare.db import connect
from fleetcare.queries import load
from scheduler.config import DEFAULT_SCHEDULES, SchedulerSettings
from scheduler.leader import job_lock

log = logging.getLogger("fleetcare.scheduler.jobs")
_Q = load("scheduler", "jobs.sql")

JOB_NAMES: tuple[str, ...] = tuple(DEFAULT_SCHEDULES)


class StageNotAvailable(Exception):
    """The stage function a job calls is not installed (yet)."""


@dataclass
class RunResult:
    """The outcome of one job run, as recorded in job_runs."""

    job: str
    outcome: str                      # ok / failed / skipped
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    run_id: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class JobContext:
    """What a job needs from the process running it."""

    database_url: str
    settings: SchedulerSettings
    today: date | None = None        # None: the real date (tests and backfills pin it)

    def day(self) -> date:
        return self.today or date.today()


def _host() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def resolve(path: str) -> Callable[..., Any]:
    """Import "package.module:function"; StageNotAvailable if the stage is not there."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"stage function must look like 'module:function', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "the stage's own module is missing" counts as not available; a missing
        # dependency *inside* an existing stage module is a real failure.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise StageNotAvailable(f"not available yet: {path} (no module {exc.name})") from exc
        raise
    fn = getattr(module, attr, None)
    if fn is None:
        raise StageNotAvailable(f"not available yet: {path} ({module_name} has no {attr})")
    return fn  # type: ignore[no-any-return]


def _as_counts(value: object) -> dict[str, Any]:
    """Make a stage's return value a small JSON object for job_runs.counts.

    Mappings and `to_dict()` results are kept; other result objects (dataclasses) give
    their scalar fields, and the row counts of frames and lists they carry.
    """
    if value is None:
        return {}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not hasattr(value, "columns"):
        value = to_dict()
    if isinstance(value, Mapping):
        return json.loads(json.dumps(dict(value), default=str))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None or isinstance(item, bool | int | float | str | date):
                out[f.name] = item
            elif hasattr(item, "__len__") and not isinstance(item, Mapping):
                out[f"{f.name}_rows"] = len(item)
        return json.loads(json.dumps(out, default=str))
    return {"result": json.loads(json.dumps(value, default=str))}


# -- the jobs ----------------------------------------------------------------------


def ingest_health(ctx: JobContext) -> dict[str, Any]:
    """Is data arriving? Rows and dead letters of the last hour, and the newest arrival."""
    with connect(ctx.database_url) as conn:
        row = conn.execute(_Q.ingest_health).fetchone()
    assert row is not None
    telemetry_1h, faults_1h, dead_1h, lag_s, machines_24h = row
    counts = {
        "telemetry_1h": int(telemetry_1h), "faults_1h": int(faults_1h),
        "dead_letters_1h": int(dead_1h), "machines_24h": int(machines_24h),
        "newest_lag_s": None if lag_s is None else round(float(lag_s), 1),
    }
    if dead_1h and telemetry_1h and dead_1h > 0.01 * telemetry_1h:
        log.warning("ingest: %d dead letters against %d readings in the last hour",
                    dead_1h, telemetry_1h)
    stale_s = ctx.settings.ingest_stale_s
    if lag_s is not None and float(lag_s) > stale_s:
        # Recorded as a failed run, so `fleetcare jobs` and the status page show it.
        raise IngestStale(f"the newest telemetry arrived {float(lag_s) / 3600:.1f} h ago "
                          f"(more than {stale_s / 3600:g} h): is ingest running and the "
                          "broker reachable?")
    return counts


class IngestStale(Exception):
    """No telemetry has arrived for longer than FLEETCARE_SCHEDULER_INGEST_STALE_S."""


def features_daily(ctx: JobContext) -> dict[str, Any]:
    """Run the features stage's daily incremental jobs."""
    return _as_counts(resolve(ctx.settings.target("features_daily"))(ctx.database_url))


def score_daily(ctx: JobContext) -> dict[str, Any]:
    """Score every machine with the active models (writes risk_scores, wear_forecasts)."""
    return _as_counts(resolve(ctx.settings.target("score_daily"))(ctx.database_url))


def retrain_weekly(ctx: JobContext) -> dict[str, Any]:
    """Train candidates; promote each only if it beats the active model on the same window.

    The models stage's retrain returns, per model kind, the candidate and the active
    model scored on the latest held-out window (see decide_promotion).
    """
    retrain = resolve(ctx.settings.target("retrain"))
    outcome = retrain(ctx.database_url) or {}
    promoted: list[int] = []
    decisions: dict[str, str] = {}
    for kind, result in dict(outcome).items():
        decision, model_id = decide_promotion(result)
        decisions[kind] = decision
        if model_id is not None:
            resolve(ctx.settings.target("promote"))(ctx.database_url, model_id)
            promoted.append(model_id)
    return {"candidates": len(decisions), "promoted": promoted, "decisions": decisions}


def decide_promotion(result: Mapping[str, Any]) -> tuple[str, int | None]:
    """Promote the candidate only if it is strictly better than the active model.

    `result` keys: candidate_id, candidate_score, active_id (None if no active model),
    active_score, higher_is_better (default True), min_improvement (default 0).
    """
    candidate = result.get("candidate_id")
    if candidate is None:
        return "no candidate", None
    if result.get("active_id") is None:
        return "promoted: no active model", int(candidate)
    cand, active = float(result["candidate_score"]), float(result["active_score"])
    margin = float(result.get("min_improvement", 0.0))
    better = cand > active + margin if result.get("higher_is_better", True) else (
        cand < active - margin)
    if better:
        return f"promoted: {cand:.4f} beats {active:.4f}", int(candidate)
    return f"kept active: candidate {cand:.4f} vs active {active:.4f}", None


def visit_plan_weekly(ctx: JobContext) -> dict[str, Any]:
    """Propose next weeks' 保健 visits for every station from the latest scores."""
    from scheduler.service import propose_visit_plan

    return propose_visit_plan(ctx.database_url, window_start=ctx.day(),
                              weeks=ctx.settings.plan_weeks, created_by="scheduler",
                              workers=ctx.settings.plan_workers)


def alert_dispatch_daily(ctx: JobContext) -> dict[str, Any]:
    """Send technicians this morning to machines whose risk jumped overnight, on the
    technician-days the weekly plan left for alerts."""
    from scheduler.service import propose_dispatch

    return propose_dispatch(ctx.database_url, day=ctx.day(), created_by="scheduler")


def parts_plan_monthly(ctx: JobContext) -> dict[str, Any]:
    """Propose pre-stock orders for stations whose region's peak starts soon."""
    from scheduler.service import propose_parts_plan

    return propose_parts_plan(ctx.database_url, today=ctx.day(),
                              lookahead_days=ctx.settings.parts_lookahead_days,
                              created_by="scheduler")


JOBS: dict[str, Callable[[JobContext], dict[str, Any]]] = {
    "ingest_health": ingest_health,
    "features_daily": features_daily,
    "score_daily": score_daily,
    "retrain_weekly": retrain_weekly,
    "visit_plan_weekly": visit_plan_weekly,
    "alert_dispatch_daily": alert_dispatch_daily,
    "parts_plan_monthly": parts_plan_monthly,
}
assert set(JOBS) == set(JOB_NAMES)


# -- running and recording -----------------------------------------------------------


def run_job(ctx: JobContext, name: str, *, trigger: str = "schedule") -> RunResult:
    """Run one job now, recorded in job_runs (start, end, outcome, counts, error)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(JOBS)}")
    started = time.monotonic()
    with connect(ctx.database_url, autocommit=True) as conn:
        run_id = conn.execute(_Q.start_run, (name, _host(), trigger)).fetchone()[0]  # type: ignore[index]
        with job_lock(conn, name) as mine:
            if not mine:
                result = RunResult(name, "skipped", error="already running in another process")
            else:
                result = _call(ctx, name)
        result.run_id = run_id
        result.seconds = time.monotonic() - started
        conn.execute(
            _Q.finish_run,
            (result.outcome, Jsonb(result.counts), result.error, run_id),
        )
    level = logging.WARNING if result.outcome == "failed" else logging.INFO
    log.log(level, "job %s: %s in %.2f s %s%s", name, result.outcome, result.seconds,
            json.dumps(result.counts, default=str)[:300],
            f" ({result.error.splitlines()[0][:300]})" if result.error else "",
            extra={"job": name, "run_id": run_id})
    return result


def _call(ctx: JobContext, name: str) -> RunResult:
    try:
        counts = JOBS[name](ctx)
    except StageNotAvailable as exc:
        return RunResult(name, "skipped", error=str(exc))
    except Exception as exc:
        # Recorded, not raised: one failing job must not stop the scheduler or the others.
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.debug("job %s failed", name, exc_info=True)
        return RunResult(name, "failed", error=detail[:4000])
    return RunResult(name, "ok", counts=_as_counts(counts))


# The context of the scheduler running in this process. APScheduler stores jobs as a
# function reference plus arguments in the shared job store; the database URL (and its
# password) stays out of the store and comes from whichever process is leader.
_current: JobContext | None = None


def bind_context(ctx: JobContext | None) -> None:
    """Set (or clear) the context scheduled runs in this process use."""
    global _current
    _current = ctx


def run_scheduled(name: str) -> None:
    """The function every stored APScheduler job points at."""
    if _current is None:
        raise RuntimeError("no scheduler context bound in this process")
    run_job(_current, name, trigger="schedule")


def run_rerun(name: str) -> None:
    """The function a rerun of an interrupted job points at (see close_interrupted_runs)."""
    if _current is None:
        raise RuntimeError("no scheduler context bound in this process")
    run_job(_current, name, trigger="rerun")


INTERRUPTED = "interrupted: the process running it ended mid-job; rerun once"


def close_interrupted_runs(url: str) -> list[str]:
    """Close the runs left 'running' by a process that died mid-job; return their jobs.

    A run is interrupted when its row still says running and nobody holds the job's lock
    (run_job holds it for the whole run on its own connection, so a killed process
    released it). Each such row is closed as failed with a note; the caller reruns each
    job once. Jobs must therefore be safe to redo (upserts, watermarks).
    """
    with connect(url, autocommit=True) as conn:
        jobs = [r[0] for r in conn.execute(_Q.running_jobs)]
        interrupted = []
        for job in jobs:
            with job_lock(conn, job) as free:
                if not free:
                    continue  # really running, in another process
                cur = conn.execute(_Q.close_interrupted, (INTERRUPTED, job))
                if cur.rowcount:
                    interrupted.append(job)
    for job in interrupted:
        log.warning("job %s was interrupted (its process ended mid-job): rerunning it once",
                    job)
    return interrupted


def list_runs(url: str, *, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest job runs, newest first (what `fleetcare jobs` prints)."""
    with connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(_Q.list_runs, {"job": job, "limit": limit})
        rows = cur.fetchall()
    for row in rows:
        for key in ("started_at", "finished_at"):
            value = row[key]
            row[key] = value.isoformat() if isinstance(value, datetime) else value
        row["seconds"] = None if row["seconds"] is None else round(float(row["seconds"]), 3)
    return rows
