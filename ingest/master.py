"""`fleetcare import regions|customers|stations|machines`: master data from CSV or Parquet.

Rows are upserted (a changed row is updated, an equal one left alone and counted as
already there). A row that names a region, customer or station the database does not
have becomes an ``unknown_reference`` dead letter that says which file to import first;
one call may name several kinds in any order and they are loaded regions → customers →
stations → machines (``ORDER``). Column layouts: examples/import/README.md.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from fleetcare import queries
from ingest.decode import SCHEMA, dead_letter
from ingest.tables import read_table

ORDER = ("regions", "customers", "stations", "machines")
QUERIES = queries.load("ingest", "master.sql")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PEAK = re.compile(r"^\s*(\w+)\s*:\s*(\d{1,2})-(\d{1,2})\s*\.\.\s*(\d{1,2})-(\d{1,2})\s*$")
UNKNOWN_REFERENCE = "unknown_reference"
_MACHINE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n", ""}
# Foreign-key constraint -> (what is missing, which kind to import first).
_REFERENCES = {"region_id": "regions", "customer_id": "customers", "station_id": "stations"}


class RowError(ValueError):
    """A row that cannot be stored; the message names the field."""


def _text(raw: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = raw.get(key)
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ""):
        if required:
            raise RowError(f"{key} is required")
        return None
    return str(value)


def _number(raw: dict[str, Any], key: str, lo: float, hi: float,
            required: bool = False) -> float | None:
    value = _text(raw, key, required)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowError(f"{key} {value!r} is not a number") from None
    if not lo <= number <= hi:
        raise RowError(f"{key} {number} outside [{lo}, {hi}]")
    return number


def _ident(raw: dict[str, Any], key: str) -> str:
    value = _text(raw, key, required=True)
    assert value is not None
    if not _ID.match(value):
        raise RowError(f"{key} {value!r} is not an id (letters, digits, _ . -; at most 64)")
    return value


def parse_peaks(text: str | None) -> list[tuple[str, int, int, int, int]]:
    """``spring:04-01..05-31;autumn:09-01..11-30`` as (name, m1, d1, m2, d2) tuples."""
    out = []
    for item in filter(None, (p.strip() for p in (text or "").split(";"))):
        match = _PEAK.match(item)
        if not match:
            raise RowError(f"peaks item {item!r} is not name:MM-DD..MM-DD")
        name, *nums = match.groups()
        m1, d1, m2, d2 = (int(x) for x in nums)
        if not (1 <= m1 <= 12 and 1 <= m2 <= 12 and 1 <= d1 <= 31 and 1 <= d2 <= 31):
            raise RowError(f"peaks item {item!r}: month 1-12 and day 1-31")
        out.append((name, m1, d1, m2, d2))
    return out


def _region(raw: dict[str, Any]) -> tuple[tuple[Any, ...], Any]:
    market = _text(raw, "market") or "mature"
    climate = _text(raw, "climate") or "south"
    if climate not in ("north", "south"):
        raise RowError(f"climate {climate!r} is not north or south")
    row = (_ident(raw, "region_id"), _text(raw, "name", True), market, climate,
           _number(raw, "lat", -90, 90, True), _number(raw, "lon", -180, 180, True))
    return row, parse_peaks(_text(raw, "peaks"))


def _customer(raw: dict[str, Any]) -> tuple[tuple[Any, ...], Any]:
    key = (_text(raw, "key_account") or "").lower()
    if key not in _TRUE | _FALSE:
        raise RowError(f"key_account {key!r} is not true/false")
    months = None
    if text := _text(raw, "peak_months"):
        try:
            months = [int(m) for m in text.split(";") if m.strip()]
        except ValueError:
            raise RowError(f"peak_months {text!r} is not months like 4;5;9") from None
        if any(not 1 <= m <= 12 for m in months):
            raise RowError(f"peak_months {text!r}: months are 1-12")
    return (_ident(raw, "customer_id"), _text(raw, "name", True),
            _text(raw, "segment") or "other", key in _TRUE, _text(raw, "region_id"),
            months), None


def _station(raw: dict[str, Any]) -> tuple[tuple[Any, ...], Any]:
    techs = _text(raw, "technicians", True)
    assert techs is not None
    if not techs.isdigit():
        raise RowError(f"technicians {techs!r} is not a whole number >= 0")
    return (_ident(raw, "station_id"), _text(raw, "name", True),
            _text(raw, "region_id", True), _number(raw, "lat", -90, 90, True),
            _number(raw, "lon", -180, 180, True), int(techs)), None


def _machine(raw: dict[str, Any]) -> tuple[tuple[Any, ...], Any]:
    row = _machine_row(raw)
    if isinstance(row, str):
        raise RowError(row)
    return row, None


_ROWS: dict[str, Callable[[dict[str, Any]], tuple[tuple[Any, ...], Any]]] = {
    "regions": _region, "customers": _customer, "stations": _station, "machines": _machine,
}


def _missing_reference(exc: psycopg.errors.ForeignKeyViolation) -> str:
    """'region_id 'x' is not in regions: import regions first' from the violation."""
    detail = exc.diag.message_detail or str(exc)
    match = re.search(r"\((\w+)\)=\((.*)\)", detail)
    if match and match.group(1) in _REFERENCES:
        column, value = match.groups()
        kind = _REFERENCES[column]
        return (f"{column} {value!r} is not in {kind}: import {kind} first "
                f"(fleetcare import {kind} FILE)")
    return detail


def import_master(conn: psycopg.Connection, kind: str, path: Path,
                  table: Iterator[tuple[int, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Upsert one master-data file (or its rows already read and checked, `table`);
    returns rows, stored, duplicates and dead letters."""
    source = f"import:{path.name}"
    now = datetime.now(UTC)
    build = _ROWS[kind]
    totals: dict[str, Any] = {"rows": 0, "stored": 0, "duplicates": 0}
    dead: list[tuple[Any, ...]] = []
    with conn.transaction(), conn.cursor() as cur:
        for n, raw in (table if table is not None else read_table(path, kind)):
            totals["rows"] += 1
            payload = json.dumps(raw, default=str).encode()
            try:
                row, extra = build(raw)
            except RowError as exc:
                dead.append(dead_letter(now, source, None, SCHEMA, f"row {n}: {exc}", payload))
                continue
            try:
                with conn.transaction():  # a savepoint: one bad reference spoils one row
                    cur.execute(QUERIES[f"upsert_{kind}"], row)
                    changed = cur.rowcount > 0
                    if kind == "regions" and extra is not None:
                        changed |= _replace_peaks(cur, row[0], extra)
            except psycopg.errors.ForeignKeyViolation as exc:
                dead.append(dead_letter(now, source, None, UNKNOWN_REFERENCE,
                                        f"row {n}: {_missing_reference(exc)}", payload))
                continue
            totals["stored" if changed else "duplicates"] += 1
        if dead:
            cur.executemany(QUERIES["insert_dead_letters"], dead)
    totals["dead_letters"] = dict(Counter(row[3] for row in dead))
    totals["streams"] = {kind: {"rows": totals["rows"], "stored": totals["stored"],
                                "duplicates": totals["duplicates"], "dead_letters": len(dead)}}
    return totals


def _replace_peaks(cur: psycopg.Cursor, region_id: str,
                   peaks: list[tuple[str, int, int, int, int]]) -> bool:
    """Store the region's peaks from the file when they differ; True if they did."""
    have = sorted(tuple(r) for r in cur.execute(
        QUERIES["region_peaks"], (region_id,)).fetchall())
    if have == sorted(peaks) or not peaks:
        return False
    cur.execute(QUERIES["delete_region_peaks"], (region_id,))
    cur.executemany(QUERIES["insert_region_peak"],
                    [(region_id, *p) for p in peaks])
    return True


def in_load_order(pairs: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """(kind, file) pairs with master data first, in reference order, history after."""
    rank = {k: i for i, k in enumerate(ORDER)}
    return sorted(pairs, key=lambda kp: rank.get(kp[0], len(ORDER)))


# -- machines -------------------------------------------------------------------------------


def _machine_row(raw: dict[str, Any]) -> tuple[Any, ...] | str:
    """A machines row, or why it cannot be one."""
    def text(key: str) -> str | None:
        value = raw.get(key)
        value = value.strip() if isinstance(value, str) else value
        return None if value in (None, "") else str(value)

    def day(key: str) -> date | None:
        value = raw.get(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        value = text(key)
        return date.fromisoformat(value) if value else None

    def number(key: str) -> float | None:
        value = text(key)
        return float(value) if value is not None else None

    machine_id = text("machine_id")
    if not machine_id or not _MACHINE_ID.match(machine_id):
        return "machine_id missing or invalid"
    for key in ("model", "product_line", "region_id", "delivery_date"):
        if not text(key):
            return f"{key} is required"
    try:
        delivery, warranty = day("delivery_date"), day("warranty_end")
        lat, lon = number("site_lat"), number("site_lon")
    except ValueError as exc:
        return f"bad value: {exc}"
    if lat is not None and not -90 <= lat <= 90 or lon is not None and not -180 <= lon <= 180:
        return "site_lat/site_lon out of range"
    return (machine_id, text("serial"), text("model"), text("product_line"),
            text("customer_id"), text("region_id"), text("station_id"), delivery, warranty,
            lat, lon)
