"""Read the simulator's truth store (schema ``truth``) for the oracle. Evaluation only.

The truth tables belong to the simulator (gateways/migrations); this is the one module of
the models stage allowed to read them (a test scans every other one), and only the
evaluator calls it. Nothing here is available to training or scoring.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from fleetcare import queries
from fleetcare.db import connect

_Q = queries.load("models", "oracle_store.sql")


def truth_available(conn: Any) -> bool:
    row = conn.execute(_Q.truth_available).fetchone()
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
        cur.execute(_Q.truth, params)
        rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=["machine_id", "day", "component", "risk30", "hazard",
                                        "failed"])
    frame["day"] = pd.to_datetime(frame["day"])
    frame["risk30"] = frame["risk30"].astype(float)
    frame["hazard"] = frame["hazard"].astype(float)
    return frame
