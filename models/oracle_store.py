"""Read the simulator's truth store (schema ``truth``) for the oracle. Evaluation only.

The truth tables belong to the simulator (gateways/migrations); this is the one module of
the models stage allowed to read them (a test scans every other one), and only the
evaluator calls it. Nothing here is available to training or scoring.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from fleetcare.db import connect

# Per machine, day and component: the simulator's own 30-day risk, and the hazard per
# operating hour times that day's operating hours (the daily hazard); the failures table
# marks the days a component failed.
_TRUTH_SQL = """
SELECT md.machine_id, md.day, c.component,
       md.risk30[c.ord]            AS risk30,
       md.hazard[c.ord] * md.hours AS hazard,
       (f.machine_id IS NOT NULL)  AS failed
FROM truth.machine_days md
CROSS JOIN truth.components c
LEFT JOIN (SELECT DISTINCT machine_id, day, component FROM truth.failures) f
       ON f.machine_id = md.machine_id AND f.day = md.day AND f.component = c.component
WHERE md.day BETWEEN %(first)s AND %(last)s
  AND md.risk30[c.ord] IS NOT NULL
"""


def truth_available(conn: Any) -> bool:
    row = conn.execute("SELECT to_regclass('truth.machine_days') IS NOT NULL").fetchone()
    return bool(row and row[0])


def load_truth(conn_or_url: Any, first: date, last: date, *,
               horizon_d: int = 30) -> pd.DataFrame | None:
    """The long truth frame for days first..last (+ the horizon, for integrating hazards);
    None when this database has no truth store (real fleets)."""
    if isinstance(conn_or_url, str):
        with connect(conn_or_url) as conn:
            return load_truth(conn, first, last, horizon_d=horizon_d)
    conn = conn_or_url
    if not truth_available(conn):
        return None
    params = {"first": first, "last": last + timedelta(days=horizon_d)}
    with conn.cursor() as cur:
        cur.execute(_TRUTH_SQL, params)
        rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=["machine_id", "day", "component", "risk30", "hazard",
                                        "failed"])
    frame["day"] = pd.to_datetime(frame["day"])
    frame["risk30"] = frame["risk30"].astype(float)
    frame["hazard"] = frame["hazard"].astype(float)
    return frame
