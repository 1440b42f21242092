"""Write small hand-made fleets straight into the raw tables, for tests and examples.

Times are given as fleet-local naive datetimes (features.days.FLEET_TZ); `arrived`
defaults to the event time, as for a gateway in coverage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg

from features.days import FLEET_TZ
from fleetcare.queries import load

_Q = load("features", "testing.sql")


def local(value: datetime) -> datetime:
    """A naive fleet-local datetime as an aware one."""
    return value.replace(tzinfo=FLEET_TZ) if value.tzinfo is None else value


@dataclass
class Reading:
    """One telemetry reading (local times)."""

    machine_id: str
    ts: datetime
    engine_hours: float
    idle_hours: float | None = None
    fuel_used_l: float | None = None
    coolant_temp_c: float | None = 85.0
    hydraulic_oil_temp_c: float | None = 60.0
    engine_load_pct: float | None = 50.0
    hydraulic_pressure_bar: float | None = 200.0
    arrived: datetime | None = None


def add_master(conn: psycopg.Connection, machines: Iterable[tuple[str, str, str, date]], *,
               region: str = "east", segment: str = "city", key_account: bool = False,
               warranty_days: int = 365) -> None:
    """Region `region` (with its catalogue peaks), one customer, and machines given as
    (machine_id, product_line, model, delivery_date)."""
    from fleetcare import catalogue as cat

    info = cat.REGIONS[region]
    conn.execute(
        _Q.region,
        (region, info.name, info.market, info.climate, info.lat, info.lon),
    )
    for peak in info.peaks:
        conn.execute(
            _Q.region_peak,
            (region, peak.name, *peak.start, *peak.end),
        )
    conn.execute(
        _Q.customer,
        (segment, key_account, region),
    )
    for machine_id, line, model, delivered in machines:
        conn.execute(
            _Q.machine,
            (machine_id, model, line, region, delivered, delivered + timedelta(days=warranty_days)),
        )


_seq: dict[tuple[str, str], int] = {}


def _next_seq(machine_id: str, stream: str) -> int:
    key = (machine_id, stream)
    _seq[key] = _seq.get(key, 0) + 1
    return _seq[key]


def add_readings(conn: psycopg.Connection, readings: Iterable[Reading]) -> int:
    """Insert telemetry rows; returns how many."""
    rows = [
        (r.machine_id, _next_seq(r.machine_id, "t"), local(r.ts), local(r.arrived or r.ts),
         r.engine_hours, r.idle_hours, r.fuel_used_l, r.coolant_temp_c, r.hydraulic_oil_temp_c,
         r.engine_load_pct, r.hydraulic_pressure_bar)
        for r in readings
    ]
    with conn.cursor() as cur:
        cur.executemany(
            _Q.reading,
            rows,
        )
    return len(rows)


def add_fault(conn: psycopg.Connection, machine_id: str, ts: datetime, spn: int, fmi: int, *,
              oc: int = 1, active: bool = True, arrived: datetime | None = None) -> None:
    """Insert one J1939 fault code report."""
    conn.execute(
        _Q.fault,
        (machine_id, _next_seq(machine_id, "f"), local(ts), local(arrived or ts), spn, fmi, oc,
         active),
    )


def add_service(conn: psycopg.Connection, machine_id: str, ts: datetime, kind: str, *,
                components: Iterable[str] = (), parts: Iterable[str] = (),
                engine_hours: float | None = None, arrived: datetime | None = None) -> None:
    """Insert one work order."""
    conn.execute(
        _Q.service,
        (machine_id, _next_seq(machine_id, "s"), local(ts), local(arrived or ts), kind,
         list(components), json.dumps([{"part": p, "qty": 1} for p in parts]), engine_hours),
    )


def add_meter_reset(conn: psycopg.Connection, machine_id: str, ts: datetime,
                    hours_before: float, hours_after: float) -> None:
    """Record a meter reset as ingest does (the first reading after it is at `ts`)."""
    conn.execute(
        _Q.meter_reset,
        (machine_id, local(ts), hours_before, hours_after),
    )


def working_day(machine_id: str, day: date, start_hours: float, *, n: int = 8,
                first_hour: int = 9, idle_per_h: float = 0.25, fuel_per_h: float = 10.0,
                arrived: datetime | None = None, **sensors: float | None) -> list[Reading]:
    """`n` hourly readings from first_hour:00 on `day`, one engine hour apart, starting at
    `start_hours` + 1 (so the day adds n hours); idle and fuel counters grow alongside."""
    out = []
    for i in range(n):
        h = start_hours + i + 1
        out.append(Reading(machine_id, datetime.combine(day, datetime.min.time())
                           + timedelta(hours=first_hour + i), h, h * idle_per_h, h * fuel_per_h,
                           arrived=arrived, **sensors))  # type: ignore[arg-type]
    return out
