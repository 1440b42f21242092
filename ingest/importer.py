"""`fleetcare import`: historical archives through the same validation and writes as MQTT.

Each telemetry, fault or service row becomes the JSON record a gateway would have sent
on its topic and goes through ``Pipeline`` (schema, plausibility, unknown machines,
dead letters, ON CONFLICT DO NOTHING), so importing a file twice changes nothing.
Machines are master data and are upserted (a changed row is updated, an equal one left
alone). Column layouts per kind: examples/import/README.md.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from fleetcare import db
from fleetcare.errors import TerminalError
from ingest.decode import SCHEMA, Decoder, dead_letter, parse_topic
from ingest.pipeline import MachineCache, Pipeline

BATCH_ROWS = 2000
UNKNOWN_REFERENCE = "unknown_reference"

# kind -> {column: type}; "seq" may be missing (derived from ts, see _derive_seq).
LAYOUTS: dict[str, dict[str, str]] = {
    "telemetry": {
        "machine_id": "str", "seq": "int", "ts": "ts", "sent_at": "ts",
        "engine_hours": "float", "idle_hours": "float", "fuel_used_l": "float",
        "lat": "float", "lon": "float", "coolant_temp_c": "float?",
        "hydraulic_oil_temp_c": "float?", "engine_load_pct": "float?",
        "hydraulic_pressure_bar": "float?",
    },
    "faults": {
        "machine_id": "str", "seq": "int", "ts": "ts", "sent_at": "ts", "spn": "int",
        "fmi": "int", "oc": "int", "active": "bool",
    },
    "service": {
        "machine_id": "str", "seq": "int", "ts": "ts", "sent_at": "ts", "kind": "str",
        "work_order": "str", "components": "list", "parts": "parts", "downtime_h": "float",
        "cost_cny": "float", "engine_hours": "float", "station_id": "str",
        "technician": "str",
    },
}
MACHINE_COLUMNS = ("machine_id", "serial", "model", "product_line", "customer_id",
                   "region_id", "station_id", "delivery_date", "warranty_end", "site_lat",
                   "site_lon")
# Columns a file must have (seq may be missing: derived, see _derive_seq).
REQUIRED: dict[str, tuple[str, ...]] = {
    "telemetry": ("machine_id", "ts", "engine_hours"),
    "faults": ("machine_id", "ts", "spn", "fmi", "oc", "active"),
    "service": ("machine_id", "ts", "kind"),
    "machines": ("machine_id", "model", "product_line", "region_id", "delivery_date"),
}
# Tried in order when no --encoding is given: what Excel and dealer systems write.
DETECTED_ENCODINGS = ("utf-8", "gb18030")
_MACHINE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
LITRES_PER_US_GALLON = 3.785411784


class ImportFileError(TerminalError):
    """A file cannot be imported as it is (unreadable, wrong encoding, missing columns)."""


def import_file(url: str, kind: str, path: Path, *, encoding: str | None = None
                ) -> dict[str, Any]:
    """Import one file of ``kind``; returns counts (rows, stored, duplicates, dead_letters).

    ``encoding`` is the CSV's text encoding; None detects UTF-8 (with or without BOM)
    or GB18030 (GBK). A file that cannot be read raises ImportFileError before any row
    is stored.
    """
    path = Path(path)
    if kind == "aemp":
        doc = _read_json(path, encoding)
    else:
        table = _read_table(path, kind, encoding)
    with db.connect(url, autocommit=True) as conn:
        if kind == "machines":
            return _import_machines(conn, path, table)
        if kind == "aemp":
            rows: Iterator[tuple[int, dict[str, Any]]] = _aemp_rows(conn, doc)
            stream = "telemetry"
        else:
            rows = ((n, _typed(kind, raw)) for n, raw in table)
            stream = kind
        return _import_records(conn, stream, rows, f"import:{path.name}")


# -- reading ------------------------------------------------------------------------------


def decode_text(path: Path, encoding: str | None = None) -> str:
    """The text of ``path``: in ``encoding``, or UTF-8 (BOM or not, also UTF-16 with a
    BOM) else GB18030, the superset of GBK that Excel writes on a Chinese Windows."""
    data = path.read_bytes()
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"--encoding {encoding}: unknown encoding "
                                  "(try utf-8, gbk or gb18030)") from None
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ImportFileError(f"{path}: line {line} is not {encoding} text; give the "
                                  "file's encoding with --encoding") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16").removeprefix("\ufeff")
    for candidate in DETECTED_ENCODINGS:
        try:
            return data.decode(candidate).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{path}: neither UTF-8 nor GBK/GB18030 text; give its encoding "
                          "with --encoding")


def _read_table(path: Path, kind: str, encoding: str | None = None
                ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) from CSV (row 2 = first data line) or Parquet.

    The file is opened, decoded and its header checked here, before anything is stored,
    so a corrupt file or a missing column stores nothing and says why in one line.
    """
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImportFileError(f"{path}: not a readable Parquet file ({first}); export it "
                                  "again or check the copy is complete") from None
        _check_columns(path, kind, table.column_names)
        return enumerate(table.to_pylist(), start=1)
    reader = csv.DictReader(io.StringIO(decode_text(path, encoding), newline=""))
    try:
        _check_columns(path, kind, [c.strip() for c in reader.fieldnames or []])
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line 1: not valid CSV ({exc})") from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for n, row in enumerate(reader, start=2):
                yield n, {k.strip(): v for k, v in row.items() if k is not None}
        except csv.Error as exc:
            raise ImportFileError(
                f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None

    return rows()


def _check_columns(path: Path, kind: str, columns: list[str]) -> None:
    """Refuse a file without the columns its kind needs, naming them."""
    missing = [c for c in REQUIRED.get(kind, ()) if c not in columns]
    if missing:
        known = MACHINE_COLUMNS if kind == "machines" else tuple(LAYOUTS[kind])
        unknown = [c for c in columns if c and c not in known]
        extra = f"; unknown column(s): {', '.join(unknown)}" if unknown else ""
        raise ImportFileError(
            f"{path}: missing column(s) {', '.join(missing)} for {kind}{extra} "
            "(layouts: examples/import/README.md)")


def _read_json(path: Path, encoding: str | None) -> Any:
    """An AEMP snapshot document; a truncated or non-JSON file is one line."""
    try:
        return json.loads(decode_text(path, encoding))
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: not valid JSON at line {exc.lineno} column "
                              f"{exc.colno} ({exc.msg}); is the file complete?") from None


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
    if "seq" not in out and isinstance(out.get("ts"), str):
        out["seq"] = _derive_seq(out["ts"])
    return out


def _derive_seq(ts: str) -> Any:
    """Archives without sequence numbers: the event time in Unix seconds, so the same
    reading always gets the same key and a re-import stores nothing new."""
    try:
        return int(datetime.fromisoformat(ts).timestamp())
    except ValueError:
        return ts  # the schema check will reject the ts


# -- telemetry, faults, service ------------------------------------------------------------


def _import_records(conn: psycopg.Connection, stream: str,
                    rows: Iterator[tuple[int, dict[str, Any]]], source: str) -> dict[str, Any]:
    pipeline = Pipeline(conn, decoder=Decoder(source=source), machines=MachineCache())
    totals: dict[str, Any] = {"rows": 0, "stored": 0, "duplicates": 0,
                              "dead_letters": Counter(), "meter_resets": 0}
    pending: list[tuple[str, bytes]] = []
    labels: list[str] = []
    early_dead: list[tuple[Any, ...]] = []

    def flush() -> None:
        batch = pipeline.decode(pending, labels=labels)
        batch.dead_letters[:0] = early_dead
        result = pipeline.writer.write(batch)
        totals["stored"] += sum(result.stored.values())
        totals["duplicates"] += sum(result.duplicates.values())
        totals["dead_letters"].update(row[3] for row in batch.dead_letters)
        totals["meter_resets"] += result.meter_resets
        pending.clear()
        labels.clear()
        early_dead.clear()

    now = datetime.now(UTC)
    for n, record in rows:
        totals["rows"] += 1
        machine_id = record.get("machine_id")
        payload = msgspec.json.encode(record)
        topic = f"fleet/v1/{machine_id}/{stream}"
        if not isinstance(machine_id, str) or parse_topic(topic) is None:
            early_dead.append(dead_letter(now, source, None, SCHEMA,
                                          f"row {n}: machine_id missing or invalid", payload))
        else:
            pending.append((topic, payload))
            labels.append(f"row {n}")
        if len(pending) + len(early_dead) >= BATCH_ROWS:
            flush()
    if pending or early_dead:
        flush()
    totals["dead_letters"] = dict(totals["dead_letters"])
    return totals


# -- AEMP 2.0 fleet snapshots --------------------------------------------------------------


def _lower_keys(obj: Any) -> Any:
    """AEMP 2.0 JSON is written with varying key case (Equipment / equipment)."""
    if isinstance(obj, dict):
        return {str(k).lower().lstrip("@"): _lower_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower_keys(v) for v in obj]
    return obj


def _aemp_rows(conn: psycopg.Connection, document: Any
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """One telemetry record per equipment entry of an ISO 15143-3 fleet snapshot.

    The machine is the header's EquipmentID, or the machine whose serial equals its
    SerialNumber/PIN; the reading's time is the hour meter's datetime. Idle hours, fuel
    and location are taken when present (fuel in US gallons is converted to litres).
    """
    doc = _lower_keys(document)
    fleet = doc.get("fleet", doc) if isinstance(doc, dict) else {}
    known: set[str] = set()
    serials: dict[str, str] = {}
    for machine, serial in conn.execute("SELECT machine_id, serial FROM machines"):
        known.add(machine)
        if serial:
            serials[serial] = machine
    for n, eq in enumerate(fleet.get("equipment") or [], start=1):
        header = eq.get("equipmentheader") or {}
        machine_id = header.get("equipmentid")
        if machine_id not in known:
            for key in ("serialnumber", "pin"):
                if header.get(key) in serials:
                    machine_id = serials[header[key]]
                    break
        hours = eq.get("cumulativeoperatinghours") or {}
        record: dict[str, Any] = {"machine_id": machine_id, "ts": hours.get("datetime"),
                                  "engine_hours": hours.get("hour")}
        idle = eq.get("cumulativeidlehours") or {}
        if idle.get("hour") is not None:
            record["idle_hours"] = idle["hour"]
        fuel = eq.get("fuelused") or {}
        if fuel.get("fuelconsumed") is not None:
            litres = fuel["fuelconsumed"]
            units = str(fuel.get("fuelunits", "litre")).lower()
            if units.startswith("gal") and isinstance(litres, (int, float)):
                litres = round(litres * LITRES_PER_US_GALLON, 3)
            record["fuel_used_l"] = litres
        loc = eq.get("location") or {}
        if loc.get("latitude") is not None and loc.get("longitude") is not None:
            record["lat"], record["lon"] = loc["latitude"], loc["longitude"]
        if snapshot := fleet.get("snapshottime"):
            record["sent_at"] = snapshot
        if isinstance(record["ts"], str):
            record["seq"] = _derive_seq(record["ts"])
        yield n, {k: v for k, v in record.items() if v is not None}


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


_UPSERT_MACHINE = (
    f"INSERT INTO machines ({', '.join(MACHINE_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(MACHINE_COLUMNS))}) "
    "ON CONFLICT (machine_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in MACHINE_COLUMNS[1:])
    + " WHERE (" + ", ".join(f"machines.{c}" for c in MACHINE_COLUMNS[1:])
    + ") IS DISTINCT FROM (" + ", ".join(f"excluded.{c}" for c in MACHINE_COLUMNS[1:]) + ")"
)


def _import_machines(conn: psycopg.Connection, path: Path,
                     table: Iterator[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    source = f"import:{path.name}"
    now = datetime.now(UTC)
    totals: dict[str, Any] = {"rows": 0, "stored": 0, "duplicates": 0,
                              "dead_letters": Counter(), "meter_resets": 0}
    dead: list[tuple[Any, ...]] = []
    with conn.transaction(), conn.cursor() as cur:
        for n, raw in table:
            totals["rows"] += 1
            payload = json.dumps(raw, default=str).encode()
            row = _machine_row(raw)
            if isinstance(row, str):
                dead.append(dead_letter(now, source, None, SCHEMA, f"row {n}: {row}", payload))
                continue
            try:
                with conn.transaction():  # a savepoint: one bad reference spoils one row
                    cur.execute(_UPSERT_MACHINE, row)  # type: ignore[arg-type]
            except psycopg.errors.ForeignKeyViolation as exc:
                detail = exc.diag.message_detail or str(exc)
                dead.append(dead_letter(now, source, None, UNKNOWN_REFERENCE,
                                        f"row {n}: {detail}", payload))
                continue
            if cur.rowcount:
                totals["stored"] += 1
            else:
                totals["duplicates"] += 1
        if dead:
            cur.executemany(
                "INSERT INTO dead_letters (received_at, source, topic, reason, detail, payload, "
                "payload_bytes) VALUES (%s, %s, %s, %s, %s, %s, %s)", dead)
    totals["dead_letters"] = dict(Counter(row[3] for row in dead))
    return totals
