"""`fleetcare import`: historical archives through the same validation and writes as MQTT.

Each telemetry, fault or service row becomes the JSON record a gateway would have sent
on its topic and goes through ``Pipeline`` (schema, plausibility, unknown machines,
dead letters, ON CONFLICT DO NOTHING), so importing a file twice changes nothing.
Machines are master data and are upserted (a changed row is updated, an equal one left
alone). Column layouts per kind: examples/import/README.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from fleetcare import db
from fleetcare.queries import load
from ingest.decode import SCHEMA, Decoder, dead_letter, parse_topic
from ingest.iso15143 import FieldLedger, snapshot_rows
from ingest.master import import_master
from ingest.pipeline import MachineCache, Pipeline
from ingest.tables import LAYOUTS, read_json, read_table

BATCH_ROWS = 2000
_MASTER = load("ingest", "master.sql")
MASTER_KINDS = ("regions", "customers", "stations", "machines")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def import_file(url: str, kind: str, path: Path, *, arrived_at: datetime | None = None,
                encoding: str | None = None) -> dict[str, Any]:
    """Import one file of ``kind``; returns counts (rows, stored, duplicates, dead_letters,
    and per stream the same four, which always add up: rows = stored + duplicates + dead).

    Rows without ``sent_at`` arrive at their event time, or at ``arrived_at`` when given
    (never before the event): an archive's history was known when it happened.
    ``encoding`` is the text encoding of CSV and JSON files; None detects UTF-8 (with or
    without BOM) or GB18030 (GBK). A file that cannot be read raises ImportFileError
    before any of its rows is stored.
    """
    path = Path(path)
    table = None
    if kind == "aemp":
        if path.is_file():
            read_json(path, encoding)   # a truncated first page stops here, nothing stored
    else:
        table = read_table(path, kind, encoding)
    with db.connect(url, autocommit=True) as conn:
        if kind in MASTER_KINDS:
            return import_master(conn, kind, path, table)
        ledger = None
        if kind == "aemp":
            ledger = FieldLedger()
            rows: Iterator[tuple[str, str, dict[str, Any] | None, str | None]] = (
                (r.label, r.stream, r.record, r.error)
                for r in snapshot_rows(path, *_machine_keys(conn), ledger,
                                       lambda page: read_json(page, encoding)))
        else:
            assert table is not None
            rows = ((f"row {n}", kind, _typed(kind, raw), None) for n, raw in table)
        result = _import_records(conn, _with_arrival(rows, arrived_at), f"import:{path.name}")
        if ledger is not None:
            result["fields"] = ledger.as_dict()
        result["unknown"] = unknown_references(conn, result.pop("_seen"))
        return result


def _convert(value: Any, kind: str) -> Any:
    """A CSV string or Parquet value as the JSON type the schema wants; a value that does
    not convert is passed on unchanged, so the schema check names the problem."""
    if isinstance(value, str):
        value = value.strip()
    if kind == "ts":
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
        return value
    if not isinstance(value, str):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value
    try:
        if kind == "int":
            return int(value)
        if kind in ("float", "float?"):
            return float(value)
    except ValueError:
        return value
    if kind == "bool":
        low = value.lower()
        return True if low in _TRUE else False if low in _FALSE else value
    if kind == "list":
        return [p.strip() for p in value.split(";") if p.strip()]
    if kind == "parts":  # "oil_filter:1;fuel_filter:2"
        parts = []
        for item in filter(None, (p.strip() for p in value.split(";"))):
            name, _, qty = item.partition(":")
            try:
                parts.append({"part": name.strip(), "qty": int(qty or 1)})
            except ValueError:
                parts.append({"part": name.strip(), "qty": qty})
        return parts
    return value


def _typed(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    layout = LAYOUTS[kind]
    out: dict[str, Any] = {}
    for column, value in raw.items():
        if value is None or value == "":
            continue  # absent: optional fields stay unset, required ones fail the schema
        out[column] = _convert(value, layout[column]) if column in layout else value
    return out


def derive_seq(record: dict[str, Any]) -> int:
    """Archives without sequence numbers: a key from the row's whole content (everything
    but ``sent_at``), so the same row always gets the same key and a re-import stores
    nothing new, while two different rows at the same second never merge."""
    content = {k: _canonical(k, v) for k, v in record.items() if k not in ("seq", "sent_at")}
    digest = hashlib.blake2b(json.dumps(content, sort_keys=True, default=str).encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # 63 bits: the schema's seq range


def _canonical(key: str, value: Any) -> Any:
    """One value as the same text however the file spelled it (CSV or Parquet, 8 or 8.0,
    +08:00 or UTC), so a re-export keys its rows alike."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return repr(float(value))
    if key == "ts" and isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return ts.astimezone(UTC).isoformat() if ts.tzinfo else value
    if isinstance(value, list):
        return [_canonical("", v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(k, v) for k, v in sorted(value.items())}
    return value


def _with_arrival(rows: Iterator[tuple[str, str, dict[str, Any] | None, str | None]],
                  arrived_at: datetime | None
                  ) -> Iterator[tuple[str, str, dict[str, Any] | None, str | None]]:
    """Rows with a key and an arrival: ``seq`` derived where missing; ``sent_at`` = the
    event time (or ``arrived_at``, never before the event) where missing."""
    for label, stream, record, error in rows:
        if record is not None and error is None:
            if "seq" not in record:
                record["seq"] = derive_seq(record)
            if "sent_at" not in record and isinstance(record.get("ts"), str):
                record["sent_at"] = record["ts"]
                if arrived_at is not None:
                    try:
                        ts = datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
                    except ValueError:
                        pass  # the schema check names the bad ts
                    else:
                        if ts.tzinfo is not None and arrived_at > ts:
                            record["sent_at"] = arrived_at.isoformat()
                record["_arrival"] = "given" if arrived_at is not None else "event_time"
        yield label, stream, record, error


# -- telemetry, faults, service ------------------------------------------------------------


def _empty_counts() -> dict[str, Any]:
    return {"rows": 0, "stored": 0, "duplicates": 0, "dead_letters": 0}


def _import_records(conn: psycopg.Connection,
                    rows: Iterator[tuple[str, str, dict[str, Any] | None, str | None]],
                    source: str) -> dict[str, Any]:
    """Rows (label, stream, record or None, error or None) through the ingest pipeline.

    Every row ends in exactly one of stored, already there (duplicates) or dead letters,
    counted per stream; the totals are checked to add up before returning.
    """
    pipeline = Pipeline(conn, decoder=Decoder(source=source), machines=MachineCache())
    totals: dict[str, Any] = {"rows": 0, "stored": 0, "duplicates": 0,
                              "dead_letters": Counter(), "meter_resets": 0}
    streams: dict[str, dict[str, Any]] = {}
    arrival: Counter[str] = Counter()
    seen: dict[str, Counter[Any]] = {"spn": Counter(), "component": Counter()}
    pending: list[tuple[str, bytes]] = []
    labels: list[str] = []
    early_dead: list[tuple[Any, ...]] = []
    early_streams: list[str] = []

    def flush() -> None:
        batch = pipeline.decode(pending, labels=labels)
        result = pipeline.writer.write(_with_dead(batch, early_dead))
        for stream, n in result.stored.items():
            streams[stream]["stored"] += n
        for stream, n in result.duplicates.items():
            streams[stream]["duplicates"] += n
        for row in batch.dead_letters:
            dead_stream = (parse_topic(row[2]) or (None, "telemetry"))[1] if row[2] else None
            streams[dead_stream or early_streams.pop(0)]["dead_letters"] += 1
        totals["stored"] += sum(result.stored.values())
        totals["duplicates"] += sum(result.duplicates.values())
        totals["dead_letters"].update(row[3] for row in batch.dead_letters)
        totals["meter_resets"] += result.meter_resets
        pending.clear()
        labels.clear()
        early_dead.clear()

    now = datetime.now(UTC)
    for label, stream, record, error in rows:
        totals["rows"] += 1
        counts = streams.setdefault(stream, _empty_counts())
        counts["rows"] += 1
        record = record or {}
        if how := record.pop("_arrival", None):
            arrival[how] += 1
        machine_id = record.get("machine_id")
        payload = msgspec.json.encode(record)
        topic = f"fleet/v1/{machine_id}/{stream}"
        if error is not None:
            early_dead.append(dead_letter(now, source, None, SCHEMA, f"{label}: {error}",
                                          payload))
            early_streams.append(stream)
        elif not isinstance(machine_id, str) or parse_topic(topic) is None:
            early_dead.append(dead_letter(now, source, None, SCHEMA,
                                          f"{label}: machine_id missing or invalid", payload))
            early_streams.append(stream)
        else:
            pending.append((topic, payload))
            labels.append(label)
            if stream == "faults" and isinstance(record.get("spn"), int) \
                    and 0 <= record["spn"] <= 524287:
                seen["spn"][record["spn"]] += 1
            elif stream == "service" and isinstance(record.get("components"), list):
                seen["component"].update(c for c in record["components"] if isinstance(c, str))
        if len(pending) + len(early_dead) >= BATCH_ROWS:
            flush()
    if pending or early_dead:
        flush()
    totals["dead_letters"] = dict(totals["dead_letters"])
    totals["streams"] = streams
    totals["arrival"] = dict(arrival)
    for name, c in streams.items():
        if c["rows"] != c["stored"] + c["duplicates"] + c["dead_letters"]:
            raise AssertionError(f"import accounting broke for {name}: {c}")
    totals["_seen"] = seen
    return totals


def _with_dead(batch: Any, early_dead: list[tuple[Any, ...]]) -> Any:
    """The batch with the rows refused before decoding put first among its dead letters."""
    batch.dead_letters[:0] = early_dead
    return batch


def unknown_references(conn: psycopg.Connection,
                       seen: dict[str, Counter[Any]]) -> dict[str, Any]:
    """Fault codes (SPNs) and component names in the imported rows that the catalogue does
    not know: counted, with examples. The rows are kept; they count once the catalogue
    knows them."""
    from fleetcare import catalogue as cat
    known_spns = set(cat.SPNS) | {r[0] for r in conn.execute(_MASTER.catalogue_spns)}
    known_comps = set(cat.COMPONENT_INDEX) | {
        r[0] for r in conn.execute(_MASTER.catalogue_components)}
    out: dict[str, Any] = {}
    spns = {s: n for s, n in seen["spn"].items() if s not in known_spns}
    comps = {c: n for c, n in seen["component"].items() if c not in known_comps}
    if spns:
        out["spn"] = {"rows": sum(spns.values()), "distinct": len(spns),
                      "examples": [s for s, _ in Counter(spns).most_common(5)]}
    if comps:
        out["component"] = {"rows": sum(comps.values()), "distinct": len(comps),
                            "examples": [c for c, _ in Counter(comps).most_common(5)]}
    return out


def _machine_keys(conn: psycopg.Connection) -> tuple[set[str], dict[str, str]]:
    """Known machine ids, and machine id by serial number."""
    known: set[str] = set()
    serials: dict[str, str] = {}
    for machine, serial in conn.execute(_MASTER.machine_keys):
        known.add(machine)
        if serial:
            serials[serial] = machine
    return known, serials
