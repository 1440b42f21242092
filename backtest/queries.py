"""The few reads the rule policies make of a branch database (nothing else in backtest/
queries a branch; the predictive policy reads through features, models and scheduler).

Every read is cut at `cutoff`, the end of the last day the policy may know: rows with a
later event time or a later arrival are invisible, whatever else the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from fleetcare import queries

_Q = queries.load("backtest")


@dataclass(frozen=True)
class _MeterRow:
    """One row of the `service_hours` statement."""

    machine_id: str
    hours_now: float | None
    hours_28d_ago: float | None
    service_hours: float | None


@dataclass(frozen=True)
class ServiceHours:
    """What the database says about a machine's hour meter and its last service."""

    hours_now: float | None
    hours_per_day: float
    last_service_hours: float | None

    @property
    def since_service(self) -> float | None:
        """Hours run since the last service on record (None: no reading yet)."""
        from scheduler.store import since_service

        return since_service(self.hours_now, self.last_service_hours)


def service_hours(conn: psycopg.Connection, cutoff: datetime) -> dict[str, ServiceHours]:
    out = {}
    with conn.cursor(row_factory=class_row(_MeterRow)) as cur:
        for r in cur.execute(_Q.service_hours, {"cutoff": cutoff}):
            now_h, back_h = r.hours_now, r.hours_28d_ago
            rate = 0.0
            if now_h is not None and back_h is not None and now_h >= back_h:
                rate = (float(now_h) - float(back_h)) / 28.0
            out[r.machine_id] = ServiceHours(
                None if now_h is None else float(now_h), rate,
                None if r.service_hours is None else float(r.service_hours))
    conn.commit()
    return out
