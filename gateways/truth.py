"""Write the simulator's truth to the `truth` schema (made by gateways/migrations).

Only evaluation and backtests read it. Re-running a window replaces that window's rows,
so the same seed gives the same truth however often it runs.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import psycopg
from psycopg import sql

from fleetcare import catalogue as cat
from fleetcare import db, queries
from gateways.simulator import CN_TZ, DayRecords
from gateways.uplink import Uplink

_Q = queries.load("gateways", "truth.sql")


def create_truth_schema(conn: psycopg.Connection) -> None:
    """Bring the truth schema up to date by its own migrations (idempotent)."""
    db.apply(conn, db.TRUTH)
    with conn.cursor() as cur:
        cur.executemany(_Q.add_component,
                        [(i + 1, c) for i, c in enumerate(cat.COMPONENTS)])
        cur.executemany(_Q.add_wear_part,
                        [(i + 1, p) for i, p in enumerate(cat.WEAR_PARTS)])


def _array(rows: np.ndarray, fmt: str = "%.5g") -> list[str]:
    # PostgreSQL's real rejects magnitudes below ~1.2e-38 ("out of range"), and a hazard
    # that small is zero for every use of the truth store.
    rows = np.where(np.abs(rows) < 1e-30, 0.0, rows)
    text = np.char.mod(fmt, np.nan_to_num(rows, nan=-1.0))
    text = np.where(np.isnan(rows), "NULL", text)
    return ["{" + ",".join(r) + "}" for r in text.tolist()]


class TruthWriter:
    """Appends each simulated day's truth in one COPY per table."""

    def __init__(self, conn: psycopg.Connection, ids: list[str]) -> None:
        self.conn = conn
        self.ids = ids

    def begin(self, seed: int, start: date, days: int, params: dict) -> None:
        """Create the schema, clear the window being (re)written and record the run."""
        create_truth_schema(self.conn)
        end = start + timedelta(days=days)
        lo = datetime(start.year, start.month, start.day, tzinfo=CN_TZ)
        hi = datetime(end.year, end.month, end.day, tzinfo=CN_TZ)
        ids = self.ids
        self.conn.execute(_Q.clear_machine_days, (ids, start, end))
        self.conn.execute(_Q.clear_failures, (ids, lo, hi))
        for table in ("visits", "meter_resets"):
            self.conn.execute(_Q.clear_by_day.format(table=sql.Identifier("truth", table)),
                              (ids, start, end))
        self.conn.execute(_Q.add_run, (seed, len(ids), start, days, json.dumps(params)))
        self.conn.commit()

    def write_day(self, rec: DayRecords) -> None:
        t = rec.truth
        day = rec.day.isoformat()
        ids = self.ids
        health, hazard, risk = _array(t["health"]), _array(t["hazard"]), _array(t["risk30"])
        wear = _array(t["wear"], "%.4f")
        deg = ["{" + ",".join("t" if x else "f" for x in r) + "}"
               for r in t["degrading"].tolist()]
        hours, meter = t["hours"].tolist(), t["engine_hours"].tolist()
        with self.conn.cursor() as cur:
            with cur.copy(_Q.copy_machine_days) as copy:
                lines = [f"{ids[m]}\t{day}\t{hours[k]:.3f}\t{meter[k]:.3f}\t{health[k]}\t"
                         f"{hazard[k]}\t{risk[k]}\t{deg[k]}\t{wear[k]}\n"
                         for k, m in enumerate(t["machine"].tolist())]
                copy.write("".join(lines))
            if rec.failures:
                with cur.copy(_Q.copy_failures) as copy:
                    for f in rec.failures:
                        copy.write_row((
                            ids[f["machine"]], datetime.fromtimestamp(f["ts"], CN_TZ),
                            datetime.fromtimestamp(f["ts"], CN_TZ).date(), f["component"],
                            f["cause"], f["mode"], f["symptomatic"], f["effective_age_h"],
                            f["engine_hours"], f["pf_hours"], f["downtime_h"], f["work_order"]))
            for v in rec.visits:
                cur.execute(_Q.add_visit,
                            (v.machine_id, v.day, v.kind, list(v.found), list(v.serviced),
                             json.dumps([{"part": p, "qty": q} for p, q in v.parts]),
                             v.cost_cny, v.downtime_h))
        self.conn.commit()

    def write_resets(self, uplink: Uplink) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                _Q.add_meter_reset,
                [(self.ids[r["machine"]], r["day"], r["engine_hours_before"])
                 for r in uplink.resets])
        self.conn.commit()
