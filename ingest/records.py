"""Typed payload records: the fast decoder's view of the JSON Schemas in fleetcare/contracts.

The JSON Schema files are the contract. These msgspec structs are a stricter-or-equal
copy used on the hot path (one C call decodes and checks a whole payload); anything they
refuse goes to the slow path in ``decode.py``, which asks the JSON Schema itself, so a
payload is never rejected that the contract accepts. ``tests/test_ingest_decode.py``
checks that the structs accept nothing the schema refuses.

Optional fields use ``UNSET`` rather than ``None`` because the schema forbids an explicit
``null`` for them (only the sensor values are nullable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

MachineId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Seq = Annotated[int, Meta(ge=0, le=9223372036854775807)]
# The schema says RFC 3339 date-time, which always carries an offset.
Timestamp = Annotated[datetime, Meta(tz=True)]
NonNegative = Annotated[float, Meta(ge=0)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
Short = Annotated[str, Meta(max_length=64)]

# A store-and-forward array holds at most this many records (schema maxItems).
MAX_RECORDS = 10_000


class TelemetryRecord(msgspec.Struct, forbid_unknown_fields=True):
    """One reading: ISO 15143-3 cumulative counters, location and J1939 sensor values."""

    machine_id: MachineId
    seq: Seq
    ts: Timestamp
    engine_hours: NonNegative
    sent_at: Timestamp | UnsetType = UNSET
    idle_hours: NonNegative | UnsetType = UNSET
    fuel_used_l: NonNegative | UnsetType = UNSET
    lat: Latitude | UnsetType = UNSET
    lon: Longitude | UnsetType = UNSET
    coolant_temp_c: float | None | UnsetType = UNSET
    hydraulic_oil_temp_c: float | None | UnsetType = UNSET
    engine_load_pct: float | None | UnsetType = UNSET
    hydraulic_pressure_bar: float | None | UnsetType = UNSET


class FaultRecord(msgspec.Struct, forbid_unknown_fields=True):
    """One SAE J1939 diagnostic trouble code (DM1 active / DM2 previously active)."""

    machine_id: MachineId
    seq: Seq
    ts: Timestamp
    spn: Annotated[int, Meta(ge=0, le=524287)]
    fmi: Annotated[int, Meta(ge=0, le=31)]
    oc: Annotated[int, Meta(ge=0, le=127)]
    active: bool
    sent_at: Timestamp | UnsetType = UNSET


class PartUsed(msgspec.Struct, forbid_unknown_fields=True):
    part: Short
    qty: Annotated[int, Meta(ge=1, le=1000)]


class ServiceRecord(msgspec.Struct, forbid_unknown_fields=True):
    """One work order from the service app."""

    machine_id: MachineId
    seq: Seq
    ts: Timestamp
    kind: Literal["breakdown", "preventive", "inspection"]
    sent_at: Timestamp | UnsetType = UNSET
    work_order: Short | UnsetType = UNSET
    components: Annotated[list[Short], Meta(max_length=32)] | UnsetType = UNSET
    parts: Annotated[list[PartUsed], Meta(max_length=64)] | UnsetType = UNSET
    downtime_h: NonNegative | UnsetType = UNSET
    cost_cny: NonNegative | UnsetType = UNSET
    engine_hours: NonNegative | UnsetType = UNSET
    station_id: Short | UnsetType = UNSET
    technician: Short | UnsetType = UNSET


Record = TelemetryRecord | FaultRecord | ServiceRecord

RECORD_TYPES: dict[str, type[Record]] = {
    "telemetry": TelemetryRecord,
    "faults": FaultRecord,
    "service": ServiceRecord,
}


def payload_decoder(stream: str) -> msgspec.json.Decoder:
    """A decoder for one stream's payload: one record or a non-empty array of records."""
    record = RECORD_TYPES[stream]
    many = Annotated[list[record], Meta(min_length=1, max_length=MAX_RECORDS)]  # type: ignore[valid-type]
    return msgspec.json.Decoder(record | many)  # type: ignore[arg-type]
