"""Synthetic raw data at bench scale, written by the database itself (generate_series).

Used by ``fleetcare bench features --data synthetic``: fast enough for 10,000 machines x
365 days, shaped like the fleet but with no wear model behind it (see sql/synthetic.sql).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import psycopg
from psycopg import sql

from features.build import sync_catalogue
from features.days import FLEET_TZ_NAME
from fleetcare import catalogue as cat
from fleetcare import queries

MACHINES_PER_STATEMENT = 500


def _q(name: str) -> sql.SQL:
    return queries.load("features", "synthetic.sql")[name]


def write_master(conn: psycopg.Connection, machines: int, start: date) -> None:
    """Regions, peaks, customers and `machines` machines."""
    with conn.transaction():
        for r in cat.REGIONS.values():
            conn.execute(_q("region"), (r.region_id, r.name, r.market, r.climate, r.lat, r.lon))
            for p in r.peaks:
                conn.execute(_q("region_peak"), (r.region_id, p.name, *p.start, *p.end))
        lines = [line for line in cat.PRODUCT_LINES.values() if line.has_engine]
        params = {
            "lo": 1, "hi": machines, "start": start,
            "regions": list(cat.REGIONS), "segments": list(cat.SEGMENTS),
            "lines": [line.line_id for line in lines],
            "models": [line.models[0] for line in lines],
        }
        conn.execute(_q("customers"), params)
        conn.execute(_q("machines_rows"), params)
    sync_catalogue(conn)


def write_days(conn: psycopg.Connection, machines: int, start: date, d_lo: int, d_hi: int, *,
               received: str = "arrival",
               progress: Callable[[int, int], None] | None = None) -> None:
    """Raw rows for days start+d_lo .. start+d_hi of every machine, in batches of machines.

    received="arrival" stamps rows as received when they arrived (history loaded as if
    ingested live); "now" stamps them with the real insert time (a new day coming in).
    """
    first_sunday = (7 - start.isoweekday()) % 7
    base = {"start": start, "d_lo": d_lo, "d_hi": d_hi, "tz": FLEET_TZ_NAME,
            "received_now": received == "now",
            "first_sunday": first_sunday, "spns": sorted(cat.SPNS),
            "components": list(cat.COMPONENTS)}
    for lo in range(1, machines + 1, MACHINES_PER_STATEMENT):
        hi = min(lo + MACHINES_PER_STATEMENT - 1, machines)
        with conn.transaction():
            for name in ("telemetry", "faults", "service"):
                conn.execute(_q(name), {**base, "lo": lo, "hi": hi})
        if progress:
            progress(hi, machines)
