"""Write the simulator's truth to the `truth` schema (created by gateways/truth.sql).

Only evaluation and backtests read it. Re-running a window replaces that window's rows,
so the same seed gives the same truth however often it runs.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from importlib import resources

import numpy as np
import psycopg

from fleetcare import catalogue as cat
from gateways.simulator import CN_TZ, DayRecords
from gateways.uplink import Uplink


def truth_sql() -> str:
    return resources.files("gateways").joinpath("truth.sql").read_text("utf-8")


def create_truth_schema(conn: psycopg.Connection) -> None:
    """Create the truth schema and tables (idempotent)."""
    conn.execute(truth_sql())  # type: ignore[arg-type]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO truth.components VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        [(i + 1, c) for i, c in enumerate(cat.COMPONENTS)])
        cur.executemany("INSERT INTO truth.wear_parts VALUES (%s, %s) ON CONFLICT DO NOTHING",
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
        self.conn.execute("DELETE FROM truth.machine_days WHERE machine_id = ANY(%s) "
                          "AND day >= %s AND day < %s", (ids, start, end))
        self.conn.execute("DELETE FROM truth.failures WHERE machine_id = ANY(%s) "
                          "AND ts >= %s AND ts < %s", (ids, lo, hi))
        for table in ("visits", "meter_resets"):
            self.conn.execute(f"DELETE FROM truth.{table} WHERE machine_id = ANY(%s) "  # noqa: S608
                              "AND day >= %s AND day < %s", (ids, start, end))
        self.conn.execute("INSERT INTO truth.runs (seed, machines, start_day, days, params) "
                          "VALUES (%s, %s, %s, %s, %s)",
                          (seed, len(ids), start, days, json.dumps(params)))
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
            with cur.copy("COPY truth.machine_days FROM STDIN") as copy:
                lines = [f"{ids[m]}\t{day}\t{hours[k]:.3f}\t{meter[k]:.3f}\t{health[k]}\t"
                         f"{hazard[k]}\t{risk[k]}\t{deg[k]}\t{wear[k]}\n"
                         for k, m in enumerate(t["machine"].tolist())]
                copy.write("".join(lines))
            if rec.failures:
                with cur.copy("COPY truth.failures FROM STDIN") as copy:
                    for f in rec.failures:
                        copy.write_row((
                            ids[f["machine"]], datetime.fromtimestamp(f["ts"], CN_TZ),
                            datetime.fromtimestamp(f["ts"], CN_TZ).date(), f["component"],
                            f["cause"], f["mode"], f["symptomatic"], f["effective_age_h"],
                            f["engine_hours"], f["pf_hours"], f["downtime_h"], f["work_order"]))
            for v in rec.visits:
                cur.execute("INSERT INTO truth.visits VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                            (v.machine_id, v.day, v.kind, list(v.found), list(v.serviced),
                             json.dumps([{"part": p, "qty": q} for p, q in v.parts]),
                             v.cost_cny, v.downtime_h))
        self.conn.commit()

    def write_resets(self, uplink: Uplink) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO truth.meter_resets VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [(self.ids[r["machine"]], r["day"], r["engine_hours_before"])
                 for r in uplink.resets])
        self.conn.commit()
