"""Keep the daily rollups (feat_telemetry_daily, feat_fault_daily) up to date with raw data.

Incremental by insert time: rows received since the last run (less a margin for
transactions that were still open) mark their machine-days as changed, and those cells
are recomputed whole from raw rows. The first run, or ``full=True``, rebuilds everything.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from features.days import FLEET_TZ_NAME
from features.watermarks import Watermark, get_watermark, set_watermark
from fleetcare import queries

log = logging.getLogger("features.rollup")

JOB = "features.rollup"
# Re-read this much before the watermark: an ingest transaction that began before the
# last run and committed after it has received_at values below the watermark.
MARGIN = timedelta(minutes=10)
# Temperature thresholds for the "share of readings above" features. Typical excavator
# alarms sit at 105 °C coolant and 95 °C hydraulic oil; these flag the run-up to them.
COOLANT_HOT_C = 100.0
HYD_OIL_HOT_C = 85.0

_TEL_ALL = {"telemetry_t": sql.SQL("telemetry t"), "telemetry_r": sql.SQL("telemetry_hours r")}
# LATERAL: one index range probe per changed machine-day, never a scan of all readings.
# OFFSET 0 keeps the view's subquery from being flattened into a join: flattened, the
# planner underestimates the reset machines' readings and loops over all of them once
# per changed day (16 s instead of well under one on a 1,000-machine week).
_TEL_CHANGED = {
    "telemetry_t": sql.SQL(
        "feat_changed_days c CROSS JOIN LATERAL (SELECT x.* FROM telemetry x "
        "WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi "
        "AND x.ts >= %(lo_min)s AND x.ts < %(hi_max)s) t"),
    "telemetry_r": sql.SQL(
        "(SELECT * FROM feat_changed_days WHERE machine_id = ANY(%(reset_machines)s::text[])) c "
        "CROSS JOIN LATERAL (SELECT x.* FROM telemetry_hours x "
        "WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi "
        "AND x.ts >= %(lo_min)s AND x.ts < %(hi_max)s OFFSET 0) r"),
}
_FAULT_ALL = sql.SQL("fault_codes r")
_FAULT_CHANGED = sql.SQL(
    "feat_changed_fault_days c CROSS JOIN LATERAL (SELECT x.* FROM fault_codes x "
    "WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi "
    "AND x.ts >= %(f_lo_min)s AND x.ts < %(f_hi_max)s) r"
)
_FIRST_CHANGED = sql.SQL(
    "JOIN feat_changed_fault_days c ON c.machine_id = f.machine_id AND c.day = f.day"
)


@dataclass
class RollupResult:
    """What one refresh did."""

    full: bool
    changed_days: int
    changed_fault_days: int
    seconds: float


def _q(name: str) -> sql.SQL:
    return queries.load("features", "rollup.sql")[name]


def refresh(conn: psycopg.Connection, *, full: bool = False, workers: int = 2) -> RollupResult:
    """Bring the rollups up to date; return what changed.

    Incremental refreshes run in one transaction. A full rebuild (first run, or `full`)
    truncates, then aggregates machine shares on `workers` parallel connections (one big
    parallel aggregate serialises on merging millions of groups), and sets the watermark
    last: if it stops half way, the next refresh is a full one again. Refreshes are
    serialised by an advisory lock.
    """
    started = time.monotonic()
    if not conn.autocommit:
        # Our transactions are our own: the shares on other connections must see them.
        conn.commit()
        conn.autocommit = True
        try:
            return refresh(conn, full=full, workers=workers)
        finally:
            conn.autocommit = False
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (JOB,))
    try:
        mark = get_watermark(conn, JOB)
        full = full or mark is None
        if full:
            changed = changed_faults = -1
            _full_rebuild(conn, workers)
        else:
            assert mark is not None
            changed, changed_faults = _incremental(conn, mark)
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (JOB,))
    seconds = time.monotonic() - started
    log.info("rollups refreshed (%s): %s machine-days of telemetry, %s of faults, %.1f s",
             "full" if full else "incremental", "all" if full else changed,
             "all" if full else changed_faults, seconds)
    return RollupResult(full, changed, changed_faults, seconds)


def _base_params(conn: psycopg.Connection) -> dict[str, object]:
    return {
        "tz": FLEET_TZ_NAME, "coolant_hot": COOLANT_HOT_C, "hyd_hot": HYD_OIL_HOT_C,
        "nparts": 1, "part": 0,
        "reset_machines": [r[0] for r in conn.execute(
            "SELECT DISTINCT machine_id FROM meter_resets")],
    }


def _full_rebuild(conn: psycopg.Connection, workers: int) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    with conn.transaction():
        # Marks first: rows arriving during the rebuild are picked up by the next refresh.
        marks = conn.execute(_q("marks"), {"since": epoch, "fault_since": epoch,
                                            "reset_since": epoch}).fetchone()
        conn.execute("DELETE FROM job_watermarks WHERE job = %s", (JOB,))
        conn.execute(_q("truncate_all"))
        conn.execute("TRUNCATE feat_service_hours")
    params = _base_params(conn)
    nparts = max(1, workers)
    dsn, password = conn.info.dsn, conn.info.password

    def share(part: int) -> None:
        kwargs = {"password": password} if password else {}
        with psycopg.connect(dsn, **kwargs) as own:  # type: ignore[arg-type]
            own.execute("SET work_mem = '1GB'")
            own.execute("SET max_parallel_workers_per_gather = 0")
            cells = _q("telemetry_cells").format(**_TEL_ALL)
            own.execute(sql.SQL("INSERT INTO feat_telemetry_daily {}").format(cells),
                        {**params, "nparts": nparts, "part": part})
            if part == 0:
                own.execute(_q("insert_fault_cells").format(source=_FAULT_ALL), params)
            own.commit()

    with ThreadPoolExecutor(max_workers=nparts) as pool:
        list(pool.map(share, range(nparts)))
    with conn.transaction():
        conn.execute(_q("upsert_first_seen").format(changed=sql.SQL("")), params)
        assert marks is not None
        detail = {key: (value or epoch).isoformat()
                  for key, value in zip(("telemetry", "faults", "resets"), marks, strict=True)}
        set_watermark(conn, JOB, datetime.fromisoformat(detail["telemetry"]), detail)


def _incremental(conn: psycopg.Connection, mark: Watermark) -> tuple[int, int]:
    with conn.transaction():
        conn.execute("SET LOCAL work_mem = '256MB'")
        # On any connection (fleetcare.db.connect sets it too): a generic plan of the
        # cells insert, chosen after repeated runs, probes every chunk for minutes.
        conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        params = _base_params(conn)
        params.update(
            since=mark.detail_time("telemetry") - MARGIN,
            fault_since=mark.detail_time("faults") - MARGIN,
            reset_since=mark.detail_time("resets") - MARGIN,
        )
        conn.execute(_q("changed_days"), params)
        conn.execute(_q("changed_fault_days"), params)
        changed = _count(conn, "feat_changed_days")
        changed_faults = _count(conn, "feat_changed_fault_days")
        conn.execute("ANALYZE feat_changed_days")
        conn.execute("ANALYZE feat_changed_fault_days")
        # Constant time bounds let TimescaleDB skip chunks the changed days are not in.
        bounds = conn.execute("SELECT min(lo), max(hi) FROM feat_changed_days").fetchone()
        fbounds = conn.execute("SELECT min(lo), max(hi) FROM feat_changed_fault_days").fetchone()
        params.update(lo_min=bounds[0] if bounds else None,
                      hi_max=bounds[1] if bounds else None,
                      f_lo_min=fbounds[0] if fbounds else None,
                      f_hi_max=fbounds[1] if fbounds else None)
        # Few changed days against large tables: key lookups, not scans of everything.
        conn.execute("SET LOCAL enable_hashjoin = off")
        conn.execute("SET LOCAL enable_mergejoin = off")
        conn.execute(_q("delete_changed_telemetry"))
        cells = _q("telemetry_cells").format(**_TEL_CHANGED)
        conn.execute(sql.SQL("INSERT INTO feat_telemetry_daily {}").format(cells), params)
        conn.execute(_q("delete_changed_faults"))
        conn.execute(_q("insert_fault_cells").format(source=_FAULT_CHANGED), params)
        conn.execute(_q("upsert_first_seen").format(changed=_FIRST_CHANGED), params)
        # Cached meter readings at work orders shift with a machine's reset offsets.
        conn.execute("DELETE FROM feat_service_hours WHERE machine_id IN (SELECT machine_id "
                     "FROM meter_resets WHERE detected_at >= %(reset_since)s)", params)
        marks = conn.execute(_q("marks"), params).fetchone()
        assert marks is not None
        detail: dict[str, str] = {}
        for key, value in zip(("telemetry", "faults", "resets"), marks, strict=True):
            detail[key] = value.isoformat() if value is not None else mark.detail[key]
        set_watermark(conn, JOB, datetime.fromisoformat(detail["telemetry"]), detail)
    return changed, changed_faults


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0
