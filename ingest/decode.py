"""Decode, validate and route MQTT payloads into table rows and dead letters.

Checks run cheapest first, and the first failing one names the dead letter's reason:
bad_topic → oversized → unknown_machine (by the caller, with the machine cache) →
bad_json → schema → machine_mismatch → future_ts → impossible_value.
In a store-and-forward array each record is judged on its own: the good records are
stored and each bad one becomes its own dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import fastjsonschema
import msgspec
from msgspec import UNSET

from fleetcare import contracts
from ingest.records import (
    MAX_RECORDS,
    RECORD_TYPES,
    FaultRecord,
    ServiceRecord,
    TelemetryRecord,
    payload_decoder,
)

# Stable reason codes stored in dead_letters.reason (scripts and dashboards group by them).
BAD_TOPIC = "bad_topic"
OVERSIZED = "oversized"
UNKNOWN_MACHINE = "unknown_machine"
BAD_JSON = "bad_json"
SCHEMA = "schema"
MACHINE_MISMATCH = "machine_mismatch"
FUTURE_TS = "future_ts"
IMPOSSIBLE_VALUE = "impossible_value"
# Last line of defence: the database refused a row every check above let through.
DB_REJECTED = "db_rejected"
REASONS = (BAD_TOPIC, OVERSIZED, UNKNOWN_MACHINE, BAD_JSON, SCHEMA, MACHINE_MISMATCH,
           FUTURE_TS, IMPOSSIBLE_VALUE, DB_REJECTED)

# A full store-and-forward array (10,000 readings of ~350 bytes) is ~3.5 MB; anything
# bigger is not a gateway upload we know and would cost memory to parse.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
# Only this much of a rejected payload is kept: enough to diagnose, bounded per row.
DEAD_LETTER_KEEP_BYTES = 4096
# Gateway clocks drift; a reading more than this ahead of our clock cannot have happened.
FUTURE_TOLERANCE = timedelta(minutes=10)
# Physical plausibility beyond the schema's types and ranges: values outside these are
# sensor or gateway faults, not machine states, and would poison features.
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)          # before the telematics era
ENGINE_HOURS_MAX = 200_000.0                            # ~23 years running day and night
FUEL_USED_MAX_L = 100_000_000.0
COOLANT_C = (-50.0, 150.0)                              # coolant boils over well before 150
HYD_OIL_C = (-50.0, 150.0)
LOAD_PCT = (0.0, 125.0)                                 # J1939 SPN 92 tops out at 125 %
PRESSURE_BAR = (0.0, 700.0)                             # main pumps run at ~350 bar
DOWNTIME_H_MAX = 24.0 * 366
COST_CNY_MAX = 100_000_000.0

TOPIC_PREFIX = contracts.TOPIC_PREFIX + "/"

TELEMETRY_COLUMNS = (
    "machine_id", "seq", "ts", "arrived_at", "received_at", "engine_hours", "idle_hours",
    "fuel_used_l", "lat", "lon", "coolant_temp_c", "hydraulic_oil_temp_c", "engine_load_pct",
    "hydraulic_pressure_bar",
)
FAULT_COLUMNS = ("machine_id", "seq", "ts", "arrived_at", "received_at", "spn", "fmi", "oc",
                 "active")
SERVICE_COLUMNS = (
    "machine_id", "seq", "ts", "arrived_at", "received_at", "work_order", "kind", "components",
    "parts", "downtime_h", "cost_cny", "engine_hours", "station_id", "technician", "source",
)
DEAD_LETTER_COLUMNS = ("received_at", "source", "topic", "reason", "detail", "payload",
                       "payload_bytes")

_MACHINE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass
class Batch:
    """Rows ready for the writer, in the column order above, plus the dead letters."""

    telemetry: list[tuple[Any, ...]] = field(default_factory=list)
    faults: list[tuple[Any, ...]] = field(default_factory=list)
    service: list[tuple[Any, ...]] = field(default_factory=list)
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)
    messages: int = 0

    @property
    def rows(self) -> int:
        return len(self.telemetry) + len(self.faults) + len(self.service)


def parse_topic(topic: str) -> tuple[str, str] | None:
    """(machine_id, stream) of a fleet/v1/{machine_id}/{stream} topic, or None."""
    if not topic.startswith(TOPIC_PREFIX):
        return None
    parts = topic[len(TOPIC_PREFIX):].split("/")
    if len(parts) != 2:
        return None
    machine_id, stream = parts
    if stream not in RECORD_TYPES or not 0 < len(machine_id) <= 64:
        return None
    if not _MACHINE_ID_CHARS.issuperset(machine_id):
        return None
    return machine_id, stream


@cache
def _schema_validators(stream: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """fastjsonschema validators of the whole payload and of one record (slow path only)."""
    full = contracts.schema(stream)
    record = {"$schema": full["$schema"], "definitions": full["definitions"],
              "$ref": "#/definitions/record"}
    return fastjsonschema.compile(full), fastjsonschema.compile(record)


def dead_letter(received_at: datetime, source: str, topic: str | None, reason: str, detail: str,
                payload: bytes) -> tuple[Any, ...]:
    """A dead_letters row. The detail may quote the payload and a bad topic may hold
    anything: PostgreSQL text refuses NUL (and a refused dead letter would stop ingest)."""
    if topic is not None and "\x00" in topic:
        topic = topic.replace("\x00", "\\x00")
    return (received_at, source, topic, reason, detail[:1000].replace("\x00", "\\x00"),
            payload[:DEAD_LETTER_KEEP_BYTES], len(payload))


class Decoder:
    """Turns (topic, payload) into rows and dead letters; holds no connection or state."""

    def __init__(self, *, source: str = "mqtt", max_payload_bytes: int = MAX_PAYLOAD_BYTES,
                 future_tolerance: timedelta = FUTURE_TOLERANCE) -> None:
        self.source = source
        self.max_payload_bytes = max_payload_bytes
        self.future_tolerance = future_tolerance
        self._decoders = {stream: payload_decoder(stream) for stream in RECORD_TYPES}

    # -- message level -------------------------------------------------------------------

    def check_envelope(self, topic: str, payload: bytes, received_at: datetime,
                       batch: Batch) -> tuple[str, str] | None:
        """Topic and size checks; returns (machine_id, stream) or records a dead letter."""
        parsed = parse_topic(topic)
        if parsed is None:
            batch.dead_letters.append(dead_letter(
                received_at, self.source, topic, BAD_TOPIC,
                f"expected {TOPIC_PREFIX}{{machine_id}}/{{telemetry|faults|service}}", payload))
            return None
        if len(payload) > self.max_payload_bytes:
            batch.dead_letters.append(dead_letter(
                received_at, self.source, topic, OVERSIZED,
                f"{len(payload)} bytes > limit {self.max_payload_bytes}", payload))
            return None
        return parsed

    def decode(self, topic: str, machine_id: str, stream: str, payload: bytes,
               received_at: datetime, batch: Batch) -> None:
        """Decode one payload whose envelope passed; append its rows or dead letters."""
        try:
            try:
                decoded = self._decoders[stream].decode(payload)
            except msgspec.DecodeError:  # ValidationError is a DecodeError too
                records = self._slow_path(topic, stream, payload, received_at, batch)
                if not records:
                    return
            else:
                records = decoded if isinstance(decoded, list) else [decoded]
        except RecursionError:
            # A few KB of "[[[[..." nest deeper than any decoder recurses; raised, it would
            # stop ingest and, redelivered, stop it again after every restart.
            batch.dead_letters.append(dead_letter(received_at, self.source, topic, BAD_JSON,
                                                  "JSON nested too deeply", payload))
            return
        single = len(records) == 1
        self.route(topic, machine_id, stream, records, received_at, batch,
                   payload if single else None)

    def _slow_path(self, topic: str, stream: str, payload: bytes, received_at: datetime,
                   batch: Batch) -> list[Any]:
        """The fast decoder refused the payload: ask the JSON Schema why, record by record."""
        try:
            obj = msgspec.json.decode(payload)
        except msgspec.DecodeError as exc:
            batch.dead_letters.append(dead_letter(received_at, self.source, topic, BAD_JSON,
                                            str(exc), payload))
            return []
        validate_all, validate_one = _schema_validators(stream)
        record_type = RECORD_TYPES[stream]
        if isinstance(obj, list) and 0 < len(obj) <= MAX_RECORDS:
            items, whole = obj, False
        else:
            items, whole = [obj], True
        good: list[Any] = []
        for item in items:
            try:
                validate_one(item)
            except fastjsonschema.JsonSchemaException as err:
                message = getattr(err, "message", str(err))
                if whole and not isinstance(obj, dict):
                    # Not a record at all (an empty or too long array, a number...):
                    # the whole-payload schema explains it better.
                    try:
                        validate_all(obj)
                    except fastjsonschema.JsonSchemaException as err_all:
                        message = getattr(err_all, "message", str(err_all))
                raw = payload if whole else msgspec.json.encode(item)
                batch.dead_letters.append(dead_letter(received_at, self.source, topic, SCHEMA,
                                                      message, raw))
                continue
            try:
                # The schema accepts it but the strict decoder did not (e.g. seq 7.0):
                # a lenient conversion keeps the contract's promise.
                good.append(msgspec.convert(item, record_type, strict=False))
            except msgspec.ValidationError as exc:
                raw = payload if whole else msgspec.json.encode(item)
                batch.dead_letters.append(dead_letter(received_at, self.source, topic, SCHEMA,
                                                f"valid JSON Schema but not storable: {exc}",
                                                raw))
        return good

    # -- record level --------------------------------------------------------------------

    def route(self, topic: str | None, machine_id: str | None, stream: str, records: list[Any],
              received_at: datetime, batch: Batch, raw: bytes | None = None) -> None:
        """Append each record as a row of its stream's table, or as a dead letter.

        ``machine_id`` is the topic's machine (None for imports, where each row names its
        own); ``raw`` is the original payload when it holds exactly one record.
        """
        latest = received_at + self.future_tolerance
        build: Callable[[Any, datetime, datetime], tuple[Any, ...] | str]
        if stream == "telemetry":
            out, build = batch.telemetry, self._telemetry_row
        elif stream == "faults":
            out, build = batch.faults, self._fault_row
        else:
            out, build = batch.service, self._service_row
        for record in records:
            reason = None
            if machine_id is not None and record.machine_id != machine_id:
                reason, detail = MACHINE_MISMATCH, (
                    f"payload machine_id {record.machine_id!r} != topic machine {machine_id!r}")
            elif record.ts > latest:
                reason, detail = FUTURE_TS, (
                    f"ts {record.ts.isoformat()} is after {latest.isoformat()}")
            elif record.ts < EARLIEST_TS:
                reason, detail = IMPOSSIBLE_VALUE, f"ts {record.ts.isoformat()} before 2000"
            else:
                sent_at = record.sent_at
                # Arrival: when the data became available to us, never before the event.
                arrived = received_at if sent_at is UNSET or sent_at > received_at else sent_at
                if arrived < record.ts:
                    arrived = record.ts
                row = build(record, arrived, received_at)
                if isinstance(row, str):
                    reason, detail = IMPOSSIBLE_VALUE, row
                else:
                    out.append(row)
                    continue
            batch.dead_letters.append(dead_letter(
                received_at, self.source, topic, reason, detail,
                raw if raw is not None else msgspec.json.encode(record)))

    @staticmethod
    def _telemetry_row(r: TelemetryRecord, arrived: datetime,
                       received: datetime) -> tuple[Any, ...] | str:
        u = UNSET
        hours = r.engine_hours
        if hours > ENGINE_HOURS_MAX:
            return f"engine_hours {hours} > {ENGINE_HOURS_MAX}"
        idle: Any = r.idle_hours
        if idle is u:
            idle = None
        elif idle > ENGINE_HOURS_MAX:
            return f"idle_hours {idle} > {ENGINE_HOURS_MAX}"
        fuel: Any = r.fuel_used_l
        if fuel is u:
            fuel = None
        elif fuel > FUEL_USED_MAX_L:
            return f"fuel_used_l {fuel} > {FUEL_USED_MAX_L}"
        lat = r.lat
        lon = r.lon
        coolant: Any = r.coolant_temp_c
        if coolant is u:
            coolant = None
        elif coolant is not None and not COOLANT_C[0] <= coolant <= COOLANT_C[1]:
            return f"coolant_temp_c {coolant} outside {COOLANT_C}"
        oil: Any = r.hydraulic_oil_temp_c
        if oil is u:
            oil = None
        elif oil is not None and not HYD_OIL_C[0] <= oil <= HYD_OIL_C[1]:
            return f"hydraulic_oil_temp_c {oil} outside {HYD_OIL_C}"
        load: Any = r.engine_load_pct
        if load is u:
            load = None
        elif load is not None and not LOAD_PCT[0] <= load <= LOAD_PCT[1]:
            return f"engine_load_pct {load} outside {LOAD_PCT}"
        bar: Any = r.hydraulic_pressure_bar
        if bar is u:
            bar = None
        elif bar is not None and not PRESSURE_BAR[0] <= bar <= PRESSURE_BAR[1]:
            return f"hydraulic_pressure_bar {bar} outside {PRESSURE_BAR}"
        return (r.machine_id, r.seq, r.ts, arrived, received, hours, idle, fuel,
                None if lat is u else lat, None if lon is u else lon, coolant, oil, load, bar)

    @staticmethod
    def _fault_row(r: FaultRecord, arrived: datetime, received: datetime) -> tuple[Any, ...]:
        # The schema's bit-width ranges are the whole physical check for J1939 codes.
        return (r.machine_id, r.seq, r.ts, arrived, received, r.spn, r.fmi, r.oc, r.active)

    def _service_row(self, r: ServiceRecord, arrived: datetime,
                     received: datetime) -> tuple[Any, ...] | str:
        u = UNSET
        downtime = 0.0 if r.downtime_h is u else r.downtime_h
        if downtime > DOWNTIME_H_MAX:
            return f"downtime_h {downtime} > {DOWNTIME_H_MAX}"
        cost = 0.0 if r.cost_cny is u else r.cost_cny
        if cost > COST_CNY_MAX:
            return f"cost_cny {cost} > {COST_CNY_MAX}"
        hours = None if r.engine_hours is u else r.engine_hours
        if hours is not None and hours > ENGINE_HOURS_MAX:
            return f"engine_hours {hours} > {ENGINE_HOURS_MAX}"
        texts = [r.work_order, r.station_id, r.technician,
                 *([] if r.components is u else r.components),
                 *([] if r.parts is u else [p.part for p in r.parts])]
        if any(type(t) is str and "\x00" in t for t in texts):
            return "a text field contains U+0000, which PostgreSQL cannot store"
        parts = [] if r.parts is u else [{"part": p.part, "qty": p.qty} for p in r.parts]
        return (r.machine_id, r.seq, r.ts, arrived, received,
                None if r.work_order is u else r.work_order, r.kind,
                [] if r.components is u else r.components, parts, downtime,
                round(cost, 2), hours, None if r.station_id is u else r.station_id,
                None if r.technician is u else r.technician,
                "mqtt" if self.source == "mqtt" else "import")
