"""SQL of the planners: read master data, scores and stock; write and read plans.

Every statement of the scheduler's planning tables lives here (the job store has its
own module). Inputs come back as the planner's dataclasses, so the planners never see
the database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from scheduler.geo import haversine_km
from scheduler.parts import PartsPlan
from scheduler.problem import (
    Machine,
    PartToBring,
    PeakRange,
    Station,
    Visit,
    VisitPlan,
    WearDue,
)
from scheduler.value import catalogue_peaks

# -- inputs --------------------------------------------------------------------------

STATIONS = """
SELECT station_id, lat, lon, technicians, region_id
  FROM stations
 WHERE %(stations)s::text[] IS NULL OR station_id = ANY(%(stations)s)
 ORDER BY station_id"""

# Where a machine is: its latest reported position, else its registered site. Time
# bounds are written as `ts < day + 1` so the (machine_id, ts) indexes serve them.
# The last visit is the service network's last inspection (a 保健 visit or the maker's
# routine one): a customer's own booked oil change or a part fitted on condition is
# not a visit that saw the machine's condition.
MACHINES = """
SELECT m.machine_id, m.station_id, m.product_line, m.region_id, m.delivery_date,
       m.warranty_end, m.customer_id,
       coalesce(c.key_account, false) AS key_account,
       coalesce(c.peak_months, '{}') AS peak_months,
       coalesce(t.lat, m.site_lat) AS lat, coalesce(t.lon, m.site_lon) AS lon,
       t.engine_hours, back.engine_hours AS hours_28d_ago, svc.engine_hours AS service_hours,
       (SELECT max(s.ts)::date FROM service_records s
         WHERE s.machine_id = m.machine_id AND s.kind = 'inspection'
           AND s.ts < %(as_of)s::date + 1) AS last_visit
  FROM machines m
  LEFT JOIN customers c USING (customer_id)
  LEFT JOIN LATERAL (
        SELECT lat, lon, engine_hours FROM telemetry
         WHERE machine_id = m.machine_id AND ts < %(as_of)s::date + 1
         ORDER BY ts DESC LIMIT 1) t ON true
  -- The meter four weeks back: recent hours per day date the next hour-interval service.
  LEFT JOIN LATERAL (
        SELECT engine_hours FROM telemetry
         WHERE machine_id = m.machine_id AND ts < %(as_of)s::date + 1 - 28
         ORDER BY ts DESC LIMIT 1) back ON true
  -- The meter at the last engine-oil change: the maker's hour-interval service.
  LEFT JOIN LATERAL (
        SELECT s.engine_hours FROM service_records s
         WHERE s.machine_id = m.machine_id AND s.ts < %(as_of)s::date + 1
           AND s.parts @> '[{"part": "engine_oil"}]'::jsonb
         ORDER BY s.ts DESC LIMIT 1) svc ON true
 ORDER BY m.machine_id"""

# The latest scores on or before the planning date, per machine.
RISKS = """
WITH latest AS (
    SELECT machine_id, max(scored_on) AS scored_on FROM risk_scores
     WHERE scored_on <= %(as_of)s GROUP BY machine_id)
SELECT r.machine_id, r.component, r.risk, r.horizon_d, r.reasons
  FROM risk_scores r JOIN latest l USING (machine_id, scored_on)"""

WEAR = """
WITH latest AS (
    SELECT machine_id, max(scored_on) AS scored_on FROM wear_forecasts
     WHERE scored_on <= %(as_of)s GROUP BY machine_id)
SELECT w.machine_id, w.part, w.due_hours, w.due_date, w.due_hours_p10, w.used_hours
  FROM wear_forecasts w JOIN latest l USING (machine_id, scored_on)"""

PEAKS = """
SELECT region_id, start_month, start_day, end_month, end_day FROM region_peaks
 ORDER BY region_id, start_month, start_day"""

STOCK = "SELECT station_id, part, on_hand, on_order FROM station_stock"

# Parts used per station in a past period ("same as last season").
PARTS_USED = """
SELECT coalesce(s.station_id, m.station_id) AS station_id, p.elem->>'part' AS part,
       sum((p.elem->>'qty')::numeric)::int AS qty
  FROM service_records s
  JOIN machines m USING (machine_id)
  CROSS JOIN LATERAL jsonb_array_elements(s.parts) AS p(elem)
 WHERE s.ts >= %(start)s AND s.ts < %(end)s
 GROUP BY 1, 2"""

HAS_HISTORY = "SELECT EXISTS (SELECT 1 FROM service_records WHERE ts < %(end)s)"


def load_stations(conn: psycopg.Connection, stations: Sequence[str] | None = None
                  ) -> list[Station]:
    rows = conn.execute(STATIONS, {"stations": list(stations) if stations else None}).fetchall()
    return [Station(r[0], float(r[1]), float(r[2]), int(r[3]), r[4]) for r in rows]


def load_peaks(conn: psycopg.Connection) -> dict[str, list[PeakRange]]:
    """Peak seasons per region: the database's region_peaks, else the catalogue's."""
    peaks: dict[str, list[PeakRange]] = dict(catalogue_peaks())
    from_db: dict[str, list[PeakRange]] = defaultdict(list)
    for region, sm, sd, em, ed in conn.execute(PEAKS):
        from_db[region].append(((int(sm), int(sd)), (int(em), int(ed))))
    peaks.update(from_db)
    return peaks


def load_machines(conn: psycopg.Connection, as_of: date, stations: Sequence[Station]
                  ) -> list[Machine]:
    """Machines of the given stations with their latest scores as of `as_of`.

    A machine without a station goes to the nearest station; one without any position
    is placed at its station (travel unknown: counted as none, and logged by the caller).
    """
    risks: dict[str, dict[str, float]] = defaultdict(dict)
    reasons: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    horizon: dict[str, int] = {}
    for mid, comp, risk, hz, why in conn.execute(RISKS, {"as_of": as_of}):
        risks[mid][comp] = float(risk)
        horizon[mid] = int(hz)
        texts = tuple(str(r.get("text") or r.get("feature")) for r in (why or [])
                      if isinstance(r, dict) and (r.get("text") or r.get("feature")))
        if texts:
            reasons[mid][comp] = texts
    wear: dict[str, list[WearDue]] = defaultdict(list)
    for mid, part, due_h, due_d, p10, used in conn.execute(WEAR, {"as_of": as_of}):
        wear[mid].append(WearDue(part, float(due_h), due_d,
                                 None if p10 is None else float(p10),
                                 None if used is None else float(used)))
    by_id = {s.station_id: s for s in stations}
    st_lat = np.array([s.lat for s in stations])
    st_lon = np.array([s.lon for s in stations])
    out: list[Machine] = []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(MACHINES, {"as_of": as_of})
        for r in cur:
            sid = r["station_id"]
            lat, lon = r["lat"], r["lon"]
            if sid not in by_id:
                if sid is not None or not stations or lat is None:
                    continue   # a station we were not given (or nowhere to place it)
                # No station on record: the nearest one serves it (pass every station).
                sid = stations[int(np.argmin(haversine_km(lat, lon, st_lat, st_lon)))].station_id
            st = by_id[sid]
            mid = r["machine_id"]
            out.append(Machine(
                machine_id=mid, station_id=sid, product_line=r["product_line"],
                lat=float(st.lat if lat is None else lat),
                lon=float(st.lon if lon is None else lon),
                delivery_date=r["delivery_date"], region_id=r["region_id"],
                warranty_end=r["warranty_end"], customer_id=r["customer_id"],
                key_account=bool(r["key_account"]),
                customer_peak_months=tuple(int(x) for x in r["peak_months"] or ()),
                risks=risks.get(mid, {}), risk_reasons=reasons.get(mid, {}),
                horizon_d=horizon.get(mid, 30), wear=tuple(wear.get(mid, ())),
                last_visit=r["last_visit"],
                engine_hours=None if r["engine_hours"] is None else float(r["engine_hours"]),
                hours_since_service=since_service(r["engine_hours"], r["service_hours"]),
                hours_per_day=hours_per_day(r["engine_hours"], r["hours_28d_ago"])))
    return out


def hours_per_day(now: float | None, back: float | None, days: int = 28) -> float | None:
    """Operating hours per day over the last `days` (None: no reading that far back or a
    meter replaced in between)."""
    if now is None or back is None or now < back:
        return None
    return (float(now) - float(back)) / days


def since_service(now: float | None, at_service: float | None) -> float | None:
    """Hours since the last service (since new if none on record); a meter replaced
    since the service reads below it, so count from the new meter's zero."""
    if now is None:
        return None
    last = float(at_service or 0.0)
    return float(now) - last if now >= last else float(now)


def latest_score_date(conn: psycopg.Connection) -> date | None:
    row = conn.execute("SELECT max(scored_on) FROM risk_scores").fetchone()
    return row[0] if row else None


def load_stock(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[int, int]]:
    return {(s, p): (int(h), int(o)) for s, p, h, o in conn.execute(STOCK)}


def load_parts_used(conn: psycopg.Connection, start: date, end: date
                    ) -> dict[tuple[str, str], int] | None:
    """Parts used per (station, part) in [start, end]; None if no records reach that far."""
    has = conn.execute(HAS_HISTORY, {"end": end + timedelta(days=1)}).fetchone()
    if not has or not has[0]:
        return None
    rows = conn.execute(PARTS_USED, {"start": start, "end": end + timedelta(days=1)})
    return {(s, p): int(q) for s, p, q in rows if s is not None and p is not None}


# -- plans ---------------------------------------------------------------------------

INSERT_PLAN = """
INSERT INTO plans (kind, created_by, window_start, window_end, status, params, summary)
VALUES (%s, %s, %s, %s, 'proposed', %s, %s) RETURNING plan_id"""

COPY_VISITS = """
COPY plan_visits (plan_id, machine_id, station_id, visit_date, technician, trip, stop,
                  value_cny, avoided_cny, travel_km, reasons, parts, work, trip_days)
FROM STDIN"""

COPY_PARTS = """
COPY plan_parts (plan_id, station_id, part, tier, season, season_start, season_end,
                 demand_mean, demand_sd, service_level, target_stock, on_hand, on_order,
                 order_qty, needed_by, lead_time_days, order_by, late, unit_price_cny,
                 order_value_cny, naive_qty) FROM STDIN"""


def save_visit_plan(conn: psycopg.Connection, plan: VisitPlan, *, created_by: str,
                    params: dict[str, Any]) -> int:
    """Store a visit plan as 'proposed' with one plan_visits row per visit."""
    trip_days = {(t.station_id, t.trip): t.tech_days for t in plan.trips}
    with conn.transaction():
        plan_id = conn.execute(INSERT_PLAN, (
            "visits", created_by, plan.window_start, plan.window_end - timedelta(days=1),
            Jsonb(params), Jsonb(_jsonable(plan.summary())))).fetchone()[0]  # type: ignore[index]
        with conn.cursor().copy(COPY_VISITS) as copy:
            for v in plan.visits:
                copy.write_row((plan_id, v.machine_id, v.station_id, v.day, v.technician,
                                v.trip, v.stop, v.value, v.avoided, v.travel_km,
                                json.dumps(list(v.reasons), ensure_ascii=False),
                                json.dumps([{"part": p.part, "qty": p.qty, "why": p.why}
                                            for p in v.parts], ensure_ascii=False),
                                list(v.work), trip_days.get((v.station_id, v.trip), 1)))
    return int(plan_id)


def save_parts_plan(conn: psycopg.Connection, plan: PartsPlan, *, created_by: str,
                    params: dict[str, Any]) -> int:
    """Store a parts plan as 'proposed' with one plan_parts row per station and part."""
    starts = [ln.season_start for ln in plan.lines] or [plan.today]
    ends = [ln.season_end for ln in plan.lines] or [plan.today]
    with conn.transaction():
        plan_id = conn.execute(INSERT_PLAN, (
            "parts", created_by, plan.today, max(max(ends), min(starts)),
            Jsonb(params), Jsonb(_jsonable(plan.summary())))).fetchone()[0]  # type: ignore[index]
        with conn.cursor().copy(COPY_PARTS) as copy:
            for ln in plan.lines:
                copy.write_row((plan_id, ln.station_id, ln.part, ln.tier, ln.season,
                                ln.season_start, ln.season_end, ln.demand_mean, ln.demand_sd,
                                ln.service_level, ln.target_stock, ln.on_hand, ln.on_order,
                                ln.order_qty, ln.needed_by, ln.lead_time_days, ln.order_by,
                                ln.late, ln.unit_price, ln.order_value, ln.naive_qty))
    return int(plan_id)


def list_plans(conn: psycopg.Connection, limit: int = 30, kind: str | None = None
               ) -> list[dict[str, Any]]:
    """The newest plans with their size and latest review, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT p.plan_id, p.kind, p.status, p.created_at, p.created_by,
                      p.window_start, p.window_end,
                      coalesce((p.summary->>'visits')::int,
                               (p.summary->>'order_lines')::int) AS size,
                      r.actor AS reviewed_by, r.at AS reviewed_at
                 FROM plans p
                 LEFT JOIN LATERAL (SELECT actor, at FROM plan_reviews
                                     WHERE plan_id = p.plan_id
                                     ORDER BY at DESC LIMIT 1) r ON true
                WHERE %(kind)s::text IS NULL OR p.kind = %(kind)s
                ORDER BY p.plan_id DESC LIMIT %(limit)s""", {"kind": kind, "limit": limit})
        return [_jsonable(r) for r in cur.fetchall()]


def plan_history(conn: psycopg.Connection, plan_id: int) -> list[dict[str, Any]]:
    """Every review of a plan, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT at, actor, action, comment FROM plan_reviews WHERE plan_id = %s "
                    "ORDER BY at", (plan_id,))
        return [_jsonable(r) for r in cur.fetchall()]


def read_plan(conn: psycopg.Connection, plan_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM plans WHERE plan_id = %s", (plan_id,)).fetchone()
    return _jsonable(row) if row else None


def latest_plan_id(conn: psycopg.Connection, kind: str, covering: date | None = None,
                   station: str | None = None) -> int | None:
    """The newest non-rejected plan of a kind (whose window contains `covering`).

    With `station`: the newest plan made for all stations or for that one station, so a
    plan proposed for one station does not hide the others' plans.
    """
    row = conn.execute(
        """SELECT plan_id FROM plans
            WHERE kind = %(kind)s AND status <> 'rejected'
              AND (%(day)s::date IS NULL OR %(day)s BETWEEN window_start AND window_end)
              AND (%(station)s::text IS NULL OR params->>'station' IS NULL
                   OR params->>'station' = %(station)s)
            ORDER BY created_at DESC, plan_id DESC LIMIT 1""",
        {"kind": kind, "day": covering, "station": station}).fetchone()
    return int(row[0]) if row else None


def read_visits(conn: psycopg.Connection, plan_id: int, station: str | None = None
                ) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT station_id, visit_date, technician, trip, stop, machine_id, value_cny,
                      avoided_cny, travel_km, reasons, parts, work, trip_days
                 FROM plan_visits
                WHERE plan_id = %s AND (%s::text IS NULL OR station_id = %s)
                ORDER BY station_id, visit_date, technician, stop""",
            (plan_id, station, station))
        return [_jsonable(r) for r in cur.fetchall()]


def read_parts(conn: psycopg.Connection, plan_id: int, station: str | None = None
               ) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT * FROM plan_parts
                WHERE plan_id = %s AND (%s::text IS NULL OR station_id = %s)
                ORDER BY station_id, order_by, part""",
            (plan_id, station, station))
        rows = [_jsonable(r) for r in cur.fetchall()]
    for r in rows:
        r.pop("plan_id", None)
    return rows


def visits_from_rows(rows: Sequence[dict[str, Any]]) -> list[Visit]:
    """Planned visits back as Visit objects (for the parts planner)."""
    return [Visit(r["machine_id"], r["station_id"], date.fromisoformat(r["visit_date"]),
                  r["technician"], r["trip"], r["stop"], r["value_cny"], r["avoided_cny"],
                  r["travel_km"], tuple(r["reasons"]),
                  tuple(PartToBring(p["part"], int(p["qty"]), p.get("why", ""))
                        for p in r["parts"]), tuple(r.get("work") or ("inspect",)))
            for r in rows]


REVIEW_ACTIONS = {"approve": "approved", "change": "changed", "reject": "rejected",
                  "done": "done"}
# status -> the actions allowed from it: proposed -> approved | changed | rejected -> done.
# A changed plan may still be approved; rejected and done are final.
REVIEW_FROM: dict[str, tuple[str, ...]] = {
    "proposed": ("approve", "change", "reject"),
    "approved": ("done",),
    "changed": ("approve", "done"),
    "rejected": (),
    "done": (),
}


class ReviewRefused(ValueError):
    """A review action that contradicts the plan's state (e.g. reject an approved plan)."""


def latest_weekly_visit_plan(conn: psycopg.Connection, day: date) -> dict[str, Any] | None:
    """The newest non-rejected weekly (not dispatch) visit plan whose window holds `day`:
    its id, window start and the score date it was made from."""
    row = conn.execute(
        """SELECT plan_id, window_start, (params->>'scored_on')::date FROM plans
            WHERE kind = 'visits' AND status <> 'rejected'
              AND coalesce((params->>'dispatch')::boolean, false) = false
              AND %(day)s BETWEEN window_start AND window_end
            ORDER BY created_at DESC, plan_id DESC LIMIT 1""", {"day": day}).fetchone()
    if row is None:
        return None
    return {"plan_id": int(row[0]), "window_start": row[1], "scored_on": row[2]}


def top_risks_on(conn: psycopg.Connection, scored_on: date) -> dict[str, float]:
    """Each machine's highest component risk scored on `scored_on`."""
    return {mid: float(r) for mid, r in conn.execute(
        "SELECT machine_id, max(risk) FROM risk_scores WHERE scored_on = %s "
        "GROUP BY machine_id", (scored_on,))}


def week_visits(conn: psycopg.Connection, weekly_plan: int, week_start: date, day: date
                ) -> tuple[set[str], dict[str, int]]:
    """Machines the weekly plan visits in [week_start, week_start + 7) or a dispatch
    plan of that week already sent, and the technician-days those dispatches used per
    station (a dispatch plan's trips each take their station's technician-days)."""
    covered = {r[0] for r in conn.execute(
        """SELECT machine_id FROM plan_visits
            WHERE plan_id = %s AND visit_date >= %s AND visit_date < %s + 7""",
        (weekly_plan, week_start, week_start))}
    used: dict[str, int] = {}
    for plan_id, summary in conn.execute(
            """SELECT plan_id, summary FROM plans
                WHERE kind = 'visits' AND status <> 'rejected'
                  AND coalesce((params->>'dispatch')::boolean, false)
                  AND window_start >= %s AND window_start < %s""", (week_start, day)):
        covered |= {r[0] for r in conn.execute(
            "SELECT machine_id FROM plan_visits WHERE plan_id = %s", (plan_id,))}
        for sid, days in (summary or {}).get("tech_days_by_station", {}).items():
            used[sid] = used.get(sid, 0) + int(days)
    return covered, used


def review_plan(conn: psycopg.Connection, plan_id: int, *, action: str, actor: str,
                comment: str | None = None) -> str:
    """Record a planner's decision on a plan and set its status; returns the new status.

    Raises KeyError for an unknown plan and ReviewRefused for a transition REVIEW_FROM
    does not allow; either way nothing is written.
    """
    status = REVIEW_ACTIONS[action]
    with conn.transaction():
        row = conn.execute("SELECT status FROM plans WHERE plan_id = %s FOR UPDATE",
                           (plan_id,)).fetchone()
        if row is None:
            raise KeyError(f"no plan {plan_id}")
        if action not in REVIEW_FROM[row[0]]:
            allowed = ", ".join(REVIEW_FROM[row[0]]) or "nothing (final)"
            raise ReviewRefused(f"plan {plan_id} is {row[0]}: cannot {action} it "
                                f"(allowed: {allowed})")
        conn.execute("UPDATE plans SET status = %s WHERE plan_id = %s", (status, plan_id))
        conn.execute("INSERT INTO plan_reviews (plan_id, actor, action, comment) "
                     "VALUES (%s, %s, %s, %s)", (plan_id, actor, action, comment))
    return status


def _jsonable(obj: Any) -> Any:
    """Dates as ISO strings, numpy and Decimal numbers as floats (JSON-ready)."""
    from decimal import Decimal

    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal | np.floating):
        return float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
