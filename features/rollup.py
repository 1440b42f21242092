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

_TEL_ALL = {"telemetry_t": "all_telemetry", "telemetry_r": "all_telemetry_hours"}
_TEL_CHANGED = {"telemetry_t": "changed_telemetry", "telemetry_r": "changed_telemetry_hours"}


@dataclass
class RollupResult:
    """What one refresh did."""

    full: bool
    changed_days: int
    changed_fault_days: int
    seconds: float


def _q(name: str) -> sql.SQL:
    return queries.load("features", "rollup.sql")[name]


def _cells(sources: dict[str, str]) -> sql.Composed:
    """insert_telemetry_cells over the given source fragments."""
    return _q("insert_telemetry_cells").format(**{k: _q(v) for k, v in sources.items()})


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
    conn.execute(_q("lock"), (JOB,))
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
        conn.execute(_q("unlock"), (JOB,))
    seconds = time.monotonic() - started
    log.info("rollups refreshed (%s): %s machine-days of telemetry, %s of faults, %.1f s",
             "full" if full else "incremental", "all" if full else changed,
             "all" if full else changed_faults, seconds)
    return RollupResult(full, changed, changed_faults, seconds)


def _base_params(conn: psycopg.Connection) -> dict[str, object]:
    return {
        "tz": FLEET_TZ_NAME, "coolant_hot": COOLANT_HOT_C, "hyd_hot": HYD_OIL_HOT_C,
        "nparts": 1, "part": 0,
        "reset_machines": [r[0] for r in conn.execute(_q("reset_machines"))],
    }


def _full_rebuild(conn: psycopg.Connection, workers: int) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    with conn.transaction():
        # Marks first: rows arriving during the rebuild are picked up by the next refresh.
        marks = conn.execute(_q("marks"), {"since": epoch, "fault_since": epoch,
                                            "reset_since": epoch}).fetchone()
        conn.execute(_q("forget_watermark"), (JOB,))
        conn.execute(_q("truncate_all"))
        conn.execute(_q("truncate_service_hours"))
    params = _base_params(conn)
    nparts = max(1, workers)
    dsn, password = conn.info.dsn, conn.info.password

    def share(part: int) -> None:
        kwargs = {"password": password} if password else {}
        with psycopg.connect(dsn, **kwargs) as own:  # type: ignore[arg-type]
            own.execute(_q("share_settings"))
            own.execute(_cells(_TEL_ALL), {**params, "nparts": nparts, "part": part})
            if part == 0:
                own.execute(_q("insert_fault_cells").format(source=_q("all_faults")), params)
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
        conn.execute(_q("incremental_settings"))
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
        conn.execute(_q("analyze_changed"))
        # Constant time bounds let TimescaleDB skip chunks the changed days are not in.
        bounds = conn.execute(_q("changed_bounds")).fetchone()
        fbounds = conn.execute(_q("changed_fault_bounds")).fetchone()
        params.update(lo_min=bounds[0] if bounds else None,
                      hi_max=bounds[1] if bounds else None,
                      f_lo_min=fbounds[0] if fbounds else None,
                      f_hi_max=fbounds[1] if fbounds else None)
        conn.execute(_q("lookup_settings"))
        conn.execute(_q("delete_changed_telemetry"))
        conn.execute(_cells(_TEL_CHANGED), params)
        conn.execute(_q("delete_changed_faults"))
        conn.execute(_q("insert_fault_cells").format(source=_q("changed_faults")), params)
        conn.execute(_q("upsert_first_seen").format(changed=_q("changed_first_seen")), params)
        conn.execute(_q("forget_service_hours"), params)
        marks = conn.execute(_q("marks"), params).fetchone()
        assert marks is not None
        detail: dict[str, str] = {}
        for key, value in zip(("telemetry", "faults", "resets"), marks, strict=True):
            detail[key] = value.isoformat() if value is not None else mark.detail[key]
        set_watermark(conn, JOB, datetime.fromisoformat(detail["telemetry"]), detail)
    return changed, changed_faults


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(_q("count_rows").format(table=sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0
