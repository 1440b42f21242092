"""The planners' database reads and writes: master data, scores and stock; plans.

The statements are in scheduler/sql/store.sql (the job store has its own). Inputs come
back as the planner's dataclasses, so the planners never see the database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from fleetcare import queries
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

_Q = queries.load("scheduler", "store.sql")


@dataclass(frozen=True)
class _MachineRow:
    """One row of the `machines` statement."""

    machine_id: str
    station_id: str | None
    product_line: str
    region_id: str
    delivery_date: date
    warranty_end: date | None
    customer_id: str | None
    key_account: bool
    peak_months: list[int] | None
    lat: float | None
    lon: float | None
    engine_hours: float | None
    hours_28d_ago: float | None
    service_hours: float | None
    last_visit: date | None


@dataclass(frozen=True)
class WeeklyPlan:
    """The weekly visit plan a dispatch day builds on."""

    plan_id: int
    window_start: date
    scored_on: date | None


def load_stations(conn: psycopg.Connection, stations: Sequence[str] | None = None
                  ) -> list[Station]:
    with conn.cursor(row_factory=class_row(Station)) as cur:
        return cur.execute(_Q.stations,
                           {"stations": list(stations) if stations else None}).fetchall()


def load_peaks(conn: psycopg.Connection) -> dict[str, list[PeakRange]]:
    """Peak seasons per region: the database's region_peaks, else the catalogue's."""
    peaks: dict[str, list[PeakRange]] = dict(catalogue_peaks())
    from_db: dict[str, list[PeakRange]] = defaultdict(list)
    for region, sm, sd, em, ed in conn.execute(_Q.peaks):
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
    for mid, comp, risk, hz, why in conn.execute(_Q.risks, {"as_of": as_of}):
        risks[mid][comp] = float(risk)
        horizon[mid] = int(hz)
        texts = tuple(str(r.get("text") or r.get("feature")) for r in (why or [])
                      if isinstance(r, dict) and (r.get("text") or r.get("feature")))
        if texts:
            reasons[mid][comp] = texts
    wear: dict[str, list[WearDue]] = defaultdict(list)
    for mid, part, due_h, due_d, p10, used in conn.execute(_Q.wear, {"as_of": as_of}):
        wear[mid].append(WearDue(part, float(due_h), due_d,
                                 None if p10 is None else float(p10),
                                 None if used is None else float(used)))
    by_id = {s.station_id: s for s in stations}
    st_lat = np.array([s.lat for s in stations])
    st_lon = np.array([s.lon for s in stations])
    out: list[Machine] = []
    with conn.cursor(row_factory=class_row(_MachineRow)) as cur:
        cur.execute(_Q.machines, {"as_of": as_of})
        for r in cur:
            sid = r.station_id
            lat, lon = r.lat, r.lon
            if sid not in by_id:
                if sid is not None or not stations or lat is None or lon is None:
                    continue   # a station we were not given (or nowhere to place it)
                # No station on record: the nearest one serves it (pass every station).
                sid = stations[int(np.argmin(haversine_km(lat, lon, st_lat, st_lon)))].station_id
            st = by_id[sid]
            mid = r.machine_id
            out.append(Machine(
                machine_id=mid, station_id=sid, product_line=r.product_line,
                lat=float(st.lat if lat is None else lat),
                lon=float(st.lon if lon is None else lon),
                delivery_date=r.delivery_date, region_id=r.region_id,
                warranty_end=r.warranty_end, customer_id=r.customer_id,
                key_account=bool(r.key_account),
                customer_peak_months=tuple(int(x) for x in r.peak_months or ()),
                risks=risks.get(mid, {}), risk_reasons=reasons.get(mid, {}),
                horizon_d=horizon.get(mid, 30), wear=tuple(wear.get(mid, ())),
                last_visit=r.last_visit,
                engine_hours=None if r.engine_hours is None else float(r.engine_hours),
                hours_since_service=since_service(r.engine_hours, r.service_hours),
                hours_per_day=hours_per_day(r.engine_hours, r.hours_28d_ago)))
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
    row = conn.execute(_Q.latest_score_date).fetchone()
    return row[0] if row else None


def load_stock(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[int, int]]:
    return {(s, p): (int(h), int(o)) for s, p, h, o in conn.execute(_Q.stock)}


def load_parts_used(conn: psycopg.Connection, start: date, end: date
                    ) -> dict[tuple[str, str], int] | None:
    """Parts used per (station, part) in [start, end]; None if no records reach that far."""
    has = conn.execute(_Q.has_history, {"end": end + timedelta(days=1)}).fetchone()
    if not has or not has[0]:
        return None
    rows = conn.execute(_Q.parts_used, {"start": start, "end": end + timedelta(days=1)})
    return {(s, p): int(q) for s, p, q in rows if s is not None and p is not None}


# -- plans ---------------------------------------------------------------------------

def save_visit_plan(conn: psycopg.Connection, plan: VisitPlan, *, created_by: str,
                    params: dict[str, Any]) -> int:
    """Store a visit plan as 'proposed' with one plan_visits row per visit."""
    trip_days = {(t.station_id, t.trip): t.tech_days for t in plan.trips}
    with conn.transaction():
        plan_id = conn.execute(_Q.insert_plan, (
            "visits", created_by, plan.window_start, plan.window_end - timedelta(days=1),
            Jsonb(params), Jsonb(_jsonable(plan.summary())))).fetchone()[0]  # type: ignore[index]
        with conn.cursor().copy(_Q.copy_visits) as copy:
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
        plan_id = conn.execute(_Q.insert_plan, (
            "parts", created_by, plan.today, max(max(ends), min(starts)),
            Jsonb(params), Jsonb(_jsonable(plan.summary())))).fetchone()[0]  # type: ignore[index]
        with conn.cursor().copy(_Q.copy_parts) as copy:
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
        cur.execute(_Q.list_plans, {"kind": kind, "limit": limit})
        return [_jsonable(r) for r in cur.fetchall()]


def plan_history(conn: psycopg.Connection, plan_id: int) -> list[dict[str, Any]]:
    """Every review of a plan, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_Q.plan_history, (plan_id,))
        return [_jsonable(r) for r in cur.fetchall()]


def read_plan(conn: psycopg.Connection, plan_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_Q.read_plan, (plan_id,)).fetchone()
    return _jsonable(row) if row else None


def latest_plan_id(conn: psycopg.Connection, kind: str, covering: date | None = None,
                   station: str | None = None) -> int | None:
    """The newest non-rejected plan of a kind (whose window contains `covering`).

    With `station`: the newest plan made for all stations or for that one station, so a
    plan proposed for one station does not hide the others' plans.
    """
    row = conn.execute(_Q.latest_plan_id,
                       {"kind": kind, "day": covering, "station": station}).fetchone()
    return int(row[0]) if row else None


def read_visits(conn: psycopg.Connection, plan_id: int, station: str | None = None
                ) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_Q.read_visits, (plan_id, station, station))
        return [_jsonable(r) for r in cur.fetchall()]


def read_parts(conn: psycopg.Connection, plan_id: int, station: str | None = None
               ) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_Q.read_parts, (plan_id, station, station))
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


def latest_weekly_visit_plan(conn: psycopg.Connection, day: date) -> WeeklyPlan | None:
    """The newest non-rejected weekly (not dispatch) visit plan whose window holds `day`:
    its id, window start and the score date it was made from."""
    with conn.cursor(row_factory=class_row(WeeklyPlan)) as cur:
        return cur.execute(_Q.latest_weekly_visit_plan, {"day": day}).fetchone()


def top_risks_on(conn: psycopg.Connection, scored_on: date) -> dict[str, float]:
    """Each machine's highest component risk scored on `scored_on`."""
    return {mid: float(r) for mid, r in conn.execute(
        _Q.top_risks_on, (scored_on,))}


def week_visits(conn: psycopg.Connection, weekly_plan: int, week_start: date, day: date
                ) -> tuple[set[str], dict[str, int]]:
    """Machines the weekly plan visits in [week_start, week_start + 7) or a dispatch
    plan of that week already sent, and the technician-days those dispatches used per
    station (a dispatch plan's trips each take their station's technician-days)."""
    covered = {r[0] for r in conn.execute(_Q.week_plan_machines,
                                          (weekly_plan, week_start, week_start))}
    used: dict[str, int] = {}
    for plan_id, summary in conn.execute(_Q.week_dispatch_plans, (week_start, day)):
        covered |= {r[0] for r in conn.execute(_Q.plan_machines, (plan_id,))}
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
        row = conn.execute(_Q.lock_plan_status, (plan_id,)).fetchone()
        if row is None:
            raise KeyError(f"no plan {plan_id}")
        if action not in REVIEW_FROM[row[0]]:
            allowed = ", ".join(REVIEW_FROM[row[0]]) or "nothing (final)"
            raise ReviewRefused(f"plan {plan_id} is {row[0]}: cannot {action} it "
                                f"(allowed: {allowed})")
        conn.execute(_Q.set_plan_status, (status, plan_id))
        conn.execute(_Q.add_review, (plan_id, actor, action, comment))
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
