"""Batched, idempotent writes: COPY into staging tables, merge with ON CONFLICT DO NOTHING.

One transaction per batch holds the rows of every stream, the meter resets they reveal
and the dead letters; the caller acknowledges the batch's messages only after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from fleetcare import queries
from ingest.decode import (
    DEAD_LETTER_COLUMNS,
    FAULT_COLUMNS,
    SERVICE_COLUMNS,
    TELEMETRY_COLUMNS,
    Batch,
)

log = logging.getLogger("ingest.writer")

# Serialises the meter-reset recomputation (and the commit right after it) across ingest
# processes: two consumers of a shared subscription may insert neighbouring readings of
# one machine at once, and the later committer must see the earlier one's rows.
RESET_LOCK = 0x0F1EE7CB
# How far before a batch's first reading the previous reading of each machine is looked
# for first (a chunk and a bit); only machines silent for longer are looked up further.
RESET_LOOKBACK = timedelta(days=35)

_TELEMETRY_TYPES = ["text", "int8", "timestamptz", "timestamptz", "timestamptz", "float8",
                    "float8", "float8", "float8", "float8", "float4", "float4", "float4",
                    "float4"]
_FAULT_TYPES = ["text", "int8", "timestamptz", "timestamptz", "timestamptz", "int4", "int2",
                "int2", "bool"]


QUERIES = queries.load("ingest")


@cache
def _copy_statement(table: str, columns: tuple[str, ...], *, binary: bool) -> sql.Composed:
    """COPY into one staging table (composed once per table: this runs for every batch)."""
    return QUERIES["copy_binary" if binary else "copy_text"].format(
        table=sql.Identifier(table), columns=sql.SQL(", ").join(map(sql.Identifier, columns)))


@dataclass
class WriteResult:
    """What one committed batch did to the database."""

    stored: dict[str, int] = field(default_factory=dict)       # stream -> new rows
    duplicates: dict[str, int] = field(default_factory=dict)   # stream -> rows already there
    dead_letters: int = 0
    meter_resets: int = 0


class Writer:
    """Writes batches on one connection; call ``write`` inside no open transaction."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        with conn.transaction():
            conn.execute(QUERIES["create_staging"])

    def write(self, batch: Batch) -> WriteResult:
        """Store one batch in one transaction; returns counts (idempotent: safe to redo)."""
        result = WriteResult()
        conn = self.conn
        with conn.transaction(), conn.cursor() as cur:
            if batch.telemetry:
                self._copy(cur, "ingest_stage_telemetry", TELEMETRY_COLUMNS, _TELEMETRY_TYPES,
                           batch.telemetry)
                cur.execute(QUERIES["merge_telemetry"])
                result.stored["telemetry"] = cur.rowcount
                result.duplicates["telemetry"] = len(batch.telemetry) - cur.rowcount
                if cur.rowcount:
                    times = [row[2] for row in batch.telemetry]
                    result.meter_resets = self._recompute_resets(cur, min(times), max(times))
            if batch.faults:
                self._copy(cur, "ingest_stage_faults", FAULT_COLUMNS, _FAULT_TYPES, batch.faults)
                cur.execute(QUERIES["merge_faults"])
                result.stored["faults"] = cur.rowcount
                result.duplicates["faults"] = len(batch.faults) - cur.rowcount
            if batch.service:
                rows = [(*r[:8], Jsonb(r[8]), *r[9:]) for r in batch.service]
                self._copy(cur, "ingest_stage_service", SERVICE_COLUMNS, None, rows)
                cur.execute(QUERIES["merge_service"])
                result.stored["service"] = cur.rowcount
                result.duplicates["service"] = len(batch.service) - cur.rowcount
            if batch.dead_letters:
                self._copy(cur, "dead_letters", DEAD_LETTER_COLUMNS, None, batch.dead_letters)
                result.dead_letters = len(batch.dead_letters)
        return result

    @staticmethod
    def _copy(cur: psycopg.Cursor, table: str, columns: tuple[str, ...],
              types: list[str] | None, rows: list[tuple[Any, ...]]) -> None:
        # Binary COPY where every column has a fixed type (the hot tables); text COPY
        # elsewhere so psycopg adapts arrays, jsonb and numeric by value.
        with cur.copy(_copy_statement(table, columns, binary=bool(types))) as copy:
            if types:
                copy.set_types(types)
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    @staticmethod
    def _recompute_resets(cur: psycopg.Cursor, first: datetime, last: datetime) -> int:
        """Re-derive the meter resets around the batch's readings (event times first..last)."""
        cur.execute(QUERIES["reset_lock"], (RESET_LOCK,))
        since = first - RESET_LOOKBACK
        spans = cur.execute(QUERIES["reset_span"],
                            {"first": first, "last": last, "since": since}).fetchall()
        if not spans:
            return 0
        machines = [m for m, *_ in spans]
        prev = {m: p for m, _lo, _hi, p, _n in spans}
        older = [(m, lo) for m, lo, _hi, p, _n in spans if p is None]
        if older:
            ids, los = (list(col) for col in zip(*older, strict=True))
            prev.update(cur.execute(QUERIES["reset_prev_older"],
                                    {"machines": ids, "lo": los, "since": since}).fetchall())
        lo = [prev[m] or b for m, b, _hi, _p, _n in spans]
        hi = [n or b for _m, _lo, b, _p, n in spans]
        # The spans go back as arrays: the planner sees their real size (a temp table
        # would have no statistics) and the overall bounds prune chunks when planning.
        params = {"machines": machines, "lo": lo, "hi": hi, "first": min(lo), "last": max(hi)}
        cur.execute(QUERIES["reset_delete"], params)
        cur.execute(QUERIES["reset_insert"], params)
        return cur.rowcount
