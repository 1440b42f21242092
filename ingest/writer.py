"""Batched, idempotent writes: COPY into staging tables, merge with ON CONFLICT DO NOTHING.

One transaction per batch holds the rows of every stream, the meter resets they reveal
and the dead letters; the caller acknowledges the batch's messages only after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

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

_TELEMETRY_TYPES = ["text", "int8", "timestamptz", "timestamptz", "timestamptz", "float8",
                    "float8", "float8", "float8", "float8", "float4", "float4", "float4",
                    "float4"]
_FAULT_TYPES = ["text", "int8", "timestamptz", "timestamptz", "timestamptz", "int4", "int2",
                "int2", "bool"]


def _queries(file: str = "queries.sql") -> dict[str, str]:
    """Named statements from ingest/sql/<file> (`-- name: x` headers)."""
    text = resources.files("ingest").joinpath(f"sql/{file}").read_text("utf-8")
    out: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name: "):
            if name:
                out[name] = "\n".join(lines).strip()
            name, lines = line.removeprefix("-- name: ").strip(), []
        elif name is not None:
            lines.append(line)
    if name:
        out[name] = "\n".join(lines).strip()
    return out


QUERIES = _queries()


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
            conn.execute(QUERIES["create_staging"])  # type: ignore[arg-type]

    def write(self, batch: Batch) -> WriteResult:
        """Store one batch in one transaction; returns counts (idempotent: safe to redo)."""
        result = WriteResult()
        conn = self.conn
        with conn.transaction(), conn.cursor() as cur:
            if batch.telemetry:
                self._copy(cur, "ingest_stage_telemetry", TELEMETRY_COLUMNS, _TELEMETRY_TYPES,
                           batch.telemetry)
                cur.execute(QUERIES["merge_telemetry"])  # type: ignore[arg-type]
                result.stored["telemetry"] = cur.rowcount
                result.duplicates["telemetry"] = len(batch.telemetry) - cur.rowcount
                if cur.rowcount:
                    result.meter_resets = self._recompute_resets(cur)
            if batch.faults:
                self._copy(cur, "ingest_stage_faults", FAULT_COLUMNS, _FAULT_TYPES, batch.faults)
                cur.execute(QUERIES["merge_faults"])  # type: ignore[arg-type]
                result.stored["faults"] = cur.rowcount
                result.duplicates["faults"] = len(batch.faults) - cur.rowcount
            if batch.service:
                rows = [(*r[:8], Jsonb(r[8]), *r[9:]) for r in batch.service]
                self._copy(cur, "ingest_stage_service", SERVICE_COLUMNS, None, rows)
                cur.execute(QUERIES["merge_service"])  # type: ignore[arg-type]
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
        cols = ", ".join(columns)
        fmt = " (FORMAT BINARY)" if types else ""
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN{fmt}") as copy:  # type: ignore[arg-type]
            if types:
                copy.set_types(types)
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    @staticmethod
    def _recompute_resets(cur: psycopg.Cursor) -> int:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (RESET_LOCK,))
        cur.execute(QUERIES["reset_span"])  # type: ignore[arg-type]
        cur.execute(QUERIES["reset_delete"])  # type: ignore[arg-type]
        cur.execute(QUERIES["reset_insert"])  # type: ignore[arg-type]
        return cur.rowcount
