"""The daily features job: point-in-time feature rows per machine and day, in chunks.

A run refreshes the rollups, then builds each chunk of days in its own transaction from
the rollups alone (features/sql/build.sql), upserting rows whose values changed. The
watermark (job ``features.daily``) is the last day built without gaps from the origin;
a plain run builds the days after it up to the last settled day. Rebuilding stored days
with data that arrived late is explicit (``as_of_now=True``) and marks those rows.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import psycopg
from psycopg import sql

from features import rollup
from features.catalog import DAILY_COLUMNS
from features.days import FLEET_TZ_NAME, end_of, last_settled_day, local_day
from features.watermarks import get_watermark, set_watermark
from fleetcare import catalogue as cat
from fleetcare import db, queries

log = logging.getLogger("features.build")

JOB = "features.daily"
# The longest look-back of a window summed on the day grid (30-day windows; hours_90d has
# its own narrow step, so the daily run's grid is 31 days, not 91).
GRID_LOOKBACK_D = 30
# Active codes reported with at least this occurrence count are "high OC" codes: J1939
# counts up to 126; ten repeats is a code that keeps coming back, not a one-off.
HIGH_OC = 10
# A chunk is a range of days for a share of the machines (by hash), sized so its day grid
# (machines x (days + look-back)) stays in memory: the window sorts then never spill.
DEFAULT_CHUNK_DAYS = 366
MAX_GRID_ROWS = 1_000_000

_STEPS = ("machines", "cells_k", "tel_k", "tel_x", "fault_k", "fault_x", "codes", "new_codes",
          "service_hours", "service", "service_k", "breakdowns_365d", "analyze", "grid",
          "hours_90",
          "analyze_grid")
_KEY_COLUMNS = ("day", "machine_id", "as_of_now")

ProgressFn = Callable[[int, int, date, date], None]

_Q = queries.load("features", "build.sql")


@dataclass
class BuildResult:
    """What a build did: the days it covered and how many rows it wrote or changed."""

    first: date | None
    last: date | None
    as_of_now: bool
    chunks: int = 0
    rows_written: int = 0
    rollup: rollup.RollupResult | None = None
    seconds: float = 0.0
    chunk_seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"first": self.first and self.first.isoformat(),
                "last": self.last and self.last.isoformat(), "as_of_now": self.as_of_now,
                "chunks": self.chunks, "rows_written": self.rows_written,
                "seconds": round(self.seconds, 2)}


def sync_catalogue(conn: psycopg.Connection) -> None:
    """Copy the active catalogue's SPN families (built-in, and imported with `fleetcare
    catalogue import`) and product-line items into their tables."""
    imported: dict[int, str] = dict(conn.execute(_Q.catalogue_spns).fetchall())
    spns = [(s.spn, s.component) for s in cat.SPNS.values() if s.spn not in imported]
    spns += sorted(imported.items())
    items = [(line.line_id, c, "component") for line in cat.PRODUCT_LINES.values()
             for c in line.components]
    items += [(line_id, p, "part") for line_id in cat.PRODUCT_LINES
              for p in cat.wear_parts_of(line_id)]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_Q.sync_catalogue_start)
        cur.executemany(_Q.stage_spn, spns)
        cur.executemany(_Q.stage_item, items)
        # Only touch rows that differ, so an unchanged catalogue writes nothing.
        cur.execute(_Q.sync_catalogue_apply)


def _insert_statement() -> sql.Composed:
    """For days with no stored rows yet: no conflicts to look for."""
    cols = [*_KEY_COLUMNS, *DAILY_COLUMNS]
    return _Q.insert_features.format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        select=_Q.feature_rows,
    )


def _upsert_statement() -> sql.Composed:
    cols = [*_KEY_COLUMNS, *DAILY_COLUMNS]
    updated = [c for c in cols if c not in ("day", "machine_id")]
    ident = [sql.Identifier(c) for c in cols]
    upd = [sql.Identifier(c) for c in updated]
    return _Q.upsert_features.format(
        cols=sql.SQL(", ").join(ident),
        select=_Q.feature_rows,
        upd=sql.SQL(", ").join(upd),
        excl=sql.SQL(", ").join(sql.Identifier("excluded", c) for c in updated),
        cur=sql.SQL(", ").join(sql.Identifier("features_daily", c) for c in updated),
    )


def build_chunk(conn: psycopg.Connection, first: date, last: date, *, as_of_now: bool = False,
                machines: Sequence[str] | None = None, nparts: int = 1, part: int = 0) -> int:
    """Compute and upsert the rows of days first..last in one transaction; rows changed."""
    params = {
        "d0": first, "d1": last, "g0": first - timedelta(days=GRID_LOOKBACK_D),
        "now": as_of_now, "tz": FLEET_TZ_NAME, "machines": list(machines) if machines else None,
        "nparts": nparts, "part": part, "high_oc": HIGH_OC,
    }
    with conn.transaction():
        conn.execute(_Q.chunk_settings)
        for step in _STEPS:
            if step == "service_hours" and as_of_now:
                continue
            conn.execute(_Q[step], params)
        stored = conn.execute(_Q.has_rows, (first, last)).fetchone()
        statement = _upsert_statement() if stored and stored[0] else _insert_statement()
        cur = conn.execute(statement, params)
        return max(cur.rowcount, 0)


def data_span(conn: psycopg.Connection) -> tuple[date | None, date | None]:
    """The first event day and the last known day in the rollups and work orders."""
    row = conn.execute(_Q.data_span, {"tz": FLEET_TZ_NAME}).fetchone()
    return (row[0], row[1]) if row else (None, None)


def watermark_day(conn: psycopg.Connection) -> date | None:
    """The last day built without gaps (None: never built)."""
    mark = get_watermark(conn, JOB)
    return date.fromisoformat(mark.detail["day"]) if mark and "day" in mark.detail else None


def plan(conn: psycopg.Connection, first: date | None, last: date | None, *,
         now: datetime | None = None) -> tuple[date | None, date | None]:
    """The days a run should build: after the watermark (or from the data's first day) to
    the last settled day that has data, unless given."""
    start, known = data_span(conn)
    # A day is built only once it is over (and settled): its row is "as known at its end".
    settled = last_settled_day(now or datetime.now().astimezone())
    wanted = last if last is not None else known
    last = min(wanted, settled) if wanted else None
    if first is None:
        mark = watermark_day(conn)
        first = mark + timedelta(days=1) if mark else start
    if first is None or last is None or first > last:
        return None, None
    return first, last


def _chunks(first: date, last: date, size: int) -> list[tuple[date, date]]:
    out = []
    day = first
    while day <= last:
        end = min(day + timedelta(days=size - 1), last)
        out.append((day, end))
        day = end + timedelta(days=1)
    return out


def _parts(conn: psycopg.Connection, first: date, last: date,
           machines: Sequence[str] | None, workers: int = 1) -> int:
    """How many machine shares a chunk of these days needs to keep its grid bounded (a
    multiple of the workers when there are several). A daily run stays one share: shares
    each scan the rollups' history, and two of them at once only contend."""
    if machines is not None:
        count = len(machines)
    else:
        row = conn.execute(_Q.delivered_machines, (last,)).fetchone()
        count = int(row[0]) if row else 0
    grid = count * ((last - first).days + 1 + GRID_LOOKBACK_D)
    parts = max(1, -(-grid // MAX_GRID_ROWS))
    return parts if parts == 1 else -(-parts // max(1, workers)) * max(1, workers)


def _advance_watermark(conn: psycopg.Connection, first: date, last: date) -> None:
    """Move the watermark to `last` if the built range joins on to it."""
    with conn.transaction():
        conn.execute(_Q.job_lock, (JOB,))
        mark = watermark_day(conn)
        if mark is not None and (first > mark + timedelta(days=1) or last <= mark):
            return
        if mark is None:
            start, _ = data_span(conn)
            if start is not None and first > start:
                return
        set_watermark(conn, JOB, end_of(last), {"day": last.isoformat()})


def build(conn_or_url: psycopg.Connection | str, first: date | None = None,
          last: date | None = None, *, as_of_now: bool = False,
          chunk_days: int = DEFAULT_CHUNK_DAYS, machines: Sequence[str] | None = None,
          refresh_rollups: bool = True, full_rollups: bool = False, workers: int = 1,
          progress: ProgressFn | None = None, now: datetime | None = None) -> BuildResult:
    """Build (or rebuild) feature rows for days first..last; defaults: the next unbuilt days.

    Point in time unless `as_of_now`. Idempotent: a day built twice from the same data
    writes nothing the second time. `workers` > 1 builds chunks on parallel connections.
    """
    if isinstance(conn_or_url, str):
        with db.connect(conn_or_url) as conn:
            return build(conn, first, last, as_of_now=as_of_now, chunk_days=chunk_days,
                         machines=machines, refresh_rollups=refresh_rollups,
                         full_rollups=full_rollups, workers=workers, progress=progress, now=now)
    conn = conn_or_url
    if not conn.autocommit:
        # Each chunk is its own transaction, and parallel connections must see the
        # rollups this one refreshed: run with autocommit, as a top-level job.
        conn.commit()
        conn.autocommit = True
        try:
            return build(conn, first, last, as_of_now=as_of_now, chunk_days=chunk_days,
                         machines=machines, refresh_rollups=refresh_rollups,
                         full_rollups=full_rollups, workers=workers, progress=progress, now=now)
        finally:
            conn.autocommit = False
    started = time.monotonic()
    result = BuildResult(None, None, as_of_now)
    if refresh_rollups:
        result.rollup = rollup.refresh(conn, full=full_rollups, workers=workers)
    sync_catalogue(conn)
    first, last = plan(conn, first, last, now=now)
    result.first, result.last = first, last
    if first is None or last is None:
        log.info("features are up to date (nothing to build)")
        result.seconds = time.monotonic() - started
        return result
    # Days are chunked to at most a year (the grid's day offsets must stay small).
    day_chunks = _chunks(first, last, min(max(1, chunk_days), DEFAULT_CHUNK_DAYS))
    tasks = [(a, b, part, nparts) for a, b in day_chunks
             for nparts in [_parts(conn, a, b, machines, workers)] for part in range(nparts)]
    done = 0

    def report(a: date, b: date, part: int, nparts: int, seconds: float, rows: int) -> None:
        nonlocal done
        done += 1
        result.chunk_seconds.append(seconds)
        result.rows_written += rows
        if progress:
            progress(done, len(tasks), a, b)
        log.info("built %s..%s part %d/%d (%d/%d): %d rows written, %.1f s", a, b, part + 1,
                 nparts, done, len(tasks), rows, seconds)

    advance = not as_of_now and machines is None
    if workers <= 1 or len(tasks) == 1:
        for a, b, part, nparts in tasks:
            t0 = time.monotonic()
            rows = build_chunk(conn, a, b, as_of_now=as_of_now, machines=machines,
                               nparts=nparts, part=part)
            report(a, b, part, nparts, time.monotonic() - t0, rows)
            if advance and part == nparts - 1:
                _advance_watermark(conn, first, b)
    else:
        dsn = conn.info.dsn
        password = conn.info.password

        def run(task: tuple[date, date, int, int]) -> tuple[date, date, int, int, float, int]:
            a, b, part, nparts = task
            t0 = time.monotonic()
            kwargs = {"password": password} if password else {}
            with psycopg.connect(dsn, **kwargs) as own:  # type: ignore[arg-type]
                rows = build_chunk(own, a, b, as_of_now=as_of_now, machines=machines,
                                   nparts=nparts, part=part)
            return a, b, part, nparts, time.monotonic() - t0, rows

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for outcome in pool.map(run, tasks):
                report(*outcome)
        if advance:
            _advance_watermark(conn, first, last)
    result.chunks = len(tasks)
    result.seconds = time.monotonic() - started
    return result


@contextmanager
def progress_reporter(label: str, *, enabled: bool | None = None) -> Iterator[ProgressFn | None]:
    """A rich progress bar on a terminal; None elsewhere (the log lines report progress)."""
    if not (sys.stderr.isatty() if enabled is None else enabled):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, a: date, b: date) -> None:
            bar.update(task, completed=done, total=total, description=f"{label} {a}..{b}")

        yield update


def today_local() -> date:
    """Today in the fleet's zone."""
    return local_day(datetime.now().astimezone())
