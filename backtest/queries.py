"""The few reads the rule policies make of a branch database (nothing else in backtest/
queries a branch; the predictive policy reads through features, models and scheduler).

Every read is cut at `cutoff`, the end of the last day the policy may know: rows with a
later event time or a later arrival are invisible, whatever else the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

# Per machine: the hour meter now and 28 days ago, and at the last engine-oil change
# on record (the maker's 250/500 h service; on-condition part changes are not services).
SERVICE_HOURS = """
SELECT m.machine_id, now_t.engine_hours, back.engine_hours, svc.engine_hours
  FROM machines m
  LEFT JOIN LATERAL (
        SELECT engine_hours FROM telemetry t
         WHERE t.machine_id = m.machine_id AND t.ts < %(cutoff)s AND t.arrived_at < %(cutoff)s
         ORDER BY t.ts DESC LIMIT 1) now_t ON true
  LEFT JOIN LATERAL (
        SELECT engine_hours FROM telemetry t
         WHERE t.machine_id = m.machine_id AND t.ts < %(cutoff)s - interval '28 days'
           AND t.arrived_at < %(cutoff)s
         ORDER BY t.ts DESC LIMIT 1) back ON true
  LEFT JOIN LATERAL (
        SELECT s.engine_hours FROM service_records s
         WHERE s.machine_id = m.machine_id AND s.ts < %(cutoff)s AND s.arrived_at < %(cutoff)s
           AND s.parts @> '[{"part": "engine_oil"}]'::jsonb
         ORDER BY s.ts DESC LIMIT 1) svc ON true
 ORDER BY m.machine_id"""


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
    for mid, now_h, back_h, svc_h in conn.execute(SERVICE_HOURS, {"cutoff": cutoff}):
        rate = 0.0
        if now_h is not None and back_h is not None and now_h >= back_h:
            rate = (float(now_h) - float(back_h)) / 28.0
        out[mid] = ServiceHours(None if now_h is None else float(now_h), rate,
                                None if svc_h is None else float(svc_h))
    conn.commit()
    return out
