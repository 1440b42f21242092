"""`fleetcare import`: historical archives through the same validation and writes as MQTT.

Each telemetry, fault or service row becomes the JSON record a gateway would have sent
on its topic and goes through ``Pipeline`` (schema, plausibility, unknown machines,
dead letters, ON CONFLICT DO NOTHING), so importing a file twice changes nothing.
Machines are master data and are upserted (a changed row is updated, an equal one left
alone). Column layouts per kind: examples/import/README.md.
"""

from __future__ import annotations

import csv
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
_MACHINE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
LITRES_PER_US_GALLON = 3.785411784


def import_file(url: str, kind: str, path: Path) -> dict[str, Any]:
    """Import one file of ``kind``; returns counts (rows, stored, duplicates, dead_letters)."""
    path = Path(path)
    with db.connect(url, autocommit=True) as conn:
        if kind == "machines":
            return _import_machines(conn, path)
        if kind == "aemp":
            rows: Iterator[tuple[int, dict[str, Any]]] = _aemp_rows(conn, path)
            stream = "telemetry"
        else:
            rows = ((n, _typed(kind, raw)) for n, raw in _read_table(path))
            stream = kind
        return _import_records(conn, stream, rows, f"import:{path.name}")


# -- reading ------------------------------------------------------------------------------


def _read_table(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) from CSV (row 2 = first data line) or Parquet."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        table = pq.read_table(path)
        for n, row in enumerate(table.to_pylist(), start=1):
            yield n, row
        return
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            yield n, {k.strip(): v for k, v in row.items() if k is not None}


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


def _aemp_rows(conn: psycopg.Connection, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """One telemetry record per equipment entry of an ISO 15143-3 fleet snapshot.

    The machine is the header's EquipmentID, or the machine whose serial equals its
    SerialNumber/PIN; the reading's time is the hour meter's datetime. Idle hours, fuel
    and location are taken when present (fuel in US gallons is converted to litres).
    """
    doc = _lower_keys(json.loads(path.read_text("utf-8")))
    fleet = doc.get("fleet", doc)
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


def _import_machines(conn: psycopg.Connection, path: Path) -> dict[str, Any]:
    source = f"import:{path.name}"
    now = datetime.now(UTC)
    totals: dict[str, Any] = {"rows": 0, "stored": 0, "duplicates": 0,
                              "dead_letters": Counter(), "meter_resets": 0}
    dead: list[tuple[Any, ...]] = []
    with conn.transaction(), conn.cursor() as cur:
        for n, raw in _read_table(path):
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
