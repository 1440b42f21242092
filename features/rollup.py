"""Keep the daily rollups (feat_telemetry_daily, feat_fault_daily) up to date with raw data.

Incremental by insert time: rows received since the last run (less a margin for
transactions that were still open) mark their machine-days as changed, and those cells
are recomputed whole from raw rows. The first run, or ``full=True``, rebuilds everything.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from features import queries
from features.days import FLEET_TZ_NAME
from features.watermarks import get_watermark, set_watermark

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
_TEL_CHANGED = {
    "telemetry_t": sql.SQL(
        "feat_changed_days c CROSS JOIN LATERAL (SELECT x.* FROM telemetry x "
        "WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi "
        "AND x.ts >= %(lo_min)s AND x.ts < %(hi_max)s) t"),
    "telemetry_r": sql.SQL(
        "(SELECT * FROM feat_changed_days WHERE machine_id = ANY(%(reset_machines)s::text[])) c "
        "CROSS JOIN LATERAL (SELECT x.* FROM telemetry_hours x "
        "WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi "
        "AND x.ts >= %(lo_min)s AND x.ts < %(hi_max)s) r"),
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


def _q(name: str) -> str:
    return queries.get("rollup.sql", name)


def _params(since: datetime | None) -> dict[str, object]:
    return {"tz": FLEET_TZ_NAME, "since": since, "coolant_hot": COOLANT_HOT_C,
            "hyd_hot": HYD_OIL_HOT_C}


def refresh(conn: psycopg.Connection, *, full: bool = False) -> RollupResult:
    """Bring the rollups up to date in one transaction; return what changed.

    Concurrent refreshes are serialised by a transaction-level advisory lock.
    """
    started = time.monotonic()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (JOB,))
        # The full rebuild hashes every machine-day at once: keep it in memory.
        conn.execute("SET LOCAL work_mem = '1GB'")
        mark = get_watermark(conn, JOB)
        full = full or mark is None
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        since = epoch if full else mark.detail_time("telemetry") - MARGIN  # type: ignore[union-attr]
        params: dict[str, object] = {
            "tz": FLEET_TZ_NAME, "coolant_hot": COOLANT_HOT_C, "hyd_hot": HYD_OIL_HOT_C,
            "since": since,
            "fault_since": epoch if full else mark.detail_time("faults") - MARGIN,  # type: ignore[union-attr]
            "reset_since": epoch if full else mark.detail_time("resets") - MARGIN,  # type: ignore[union-attr]
        }
        params["reset_machines"] = [r[0] for r in conn.execute(
            "SELECT DISTINCT machine_id FROM meter_resets")]
        if full:
            conn.execute(_q("truncate_all"))  # type: ignore[arg-type]
            # CREATE TABLE AS may run in parallel workers, INSERT ... SELECT may not.
            cells = sql.SQL(_q("telemetry_cells")).format(**_TEL_ALL)
            conn.execute(sql.SQL("CREATE TEMP TABLE feat_new_cells ON COMMIT DROP AS {}")
                         .format(cells), params)
            conn.execute("INSERT INTO feat_telemetry_daily SELECT * FROM feat_new_cells")
            conn.execute(sql.SQL(_q("insert_fault_cells")).format(source=_FAULT_ALL), params)
            conn.execute(sql.SQL(_q("upsert_first_seen")).format(changed=sql.SQL("")), params)
            changed = changed_faults = -1
        else:
            conn.execute(_q("changed_days"), params)  # type: ignore[arg-type]
            conn.execute(_q("changed_fault_days"), params)  # type: ignore[arg-type]
            changed = _count(conn, "feat_changed_days")
            changed_faults = _count(conn, "feat_changed_fault_days")
            conn.execute("ANALYZE feat_changed_days")
            conn.execute("ANALYZE feat_changed_fault_days")
            # Constant time bounds let TimescaleDB skip chunks the changed days are not in.
            bounds = conn.execute(
                "SELECT min(lo), max(hi) FROM feat_changed_days").fetchone()
            fbounds = conn.execute(
                "SELECT min(lo), max(hi) FROM feat_changed_fault_days").fetchone()
            params.update(lo_min=bounds[0] if bounds else None,
                          hi_max=bounds[1] if bounds else None,
                          f_lo_min=fbounds[0] if fbounds else None,
                          f_hi_max=fbounds[1] if fbounds else None)
            # Few changed days against large tables: key lookups, not scans of everything.
            conn.execute("SET LOCAL enable_hashjoin = off")
            conn.execute("SET LOCAL enable_mergejoin = off")
            conn.execute(_q("delete_changed_telemetry"))  # type: ignore[arg-type]
            cells = sql.SQL(_q("telemetry_cells")).format(**_TEL_CHANGED)
            conn.execute(sql.SQL("INSERT INTO feat_telemetry_daily {}").format(cells), params)
            conn.execute(_q("delete_changed_faults"))  # type: ignore[arg-type]
            conn.execute(sql.SQL(_q("insert_fault_cells")).format(source=_FAULT_CHANGED), params)
            conn.execute(sql.SQL(_q("upsert_first_seen")).format(changed=_FIRST_CHANGED), params)
        # Cached meter readings at work orders shift with a machine's reset offsets.
        conn.execute("DELETE FROM feat_service_hours WHERE machine_id IN (SELECT machine_id "
                     "FROM meter_resets WHERE detected_at >= %(reset_since)s)", params)
        marks = conn.execute(_q("marks"), params).fetchone()  # type: ignore[arg-type]
        assert marks is not None
        old = {} if full or mark is None else mark.detail
        detail: dict[str, str] = {}
        for key, value in zip(("telemetry", "faults", "resets"), marks, strict=True):
            kept = old.get(key, epoch.isoformat())
            detail[key] = value.isoformat() if value is not None else kept
        set_watermark(conn, JOB, datetime.fromisoformat(detail["telemetry"]), detail)
    seconds = time.monotonic() - started
    log.info("rollups refreshed (%s): %s machine-days of telemetry, %s of faults, %.1f s",
             "full" if full else "incremental", "all" if full else changed,
             "all" if full else changed_faults, seconds)
    return RollupResult(full, changed, changed_faults, seconds)


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0
