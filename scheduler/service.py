"""Planning against the database: load inputs, run a planner, store the proposed plan.

What the scheduled jobs and `fleetcare plan` call; the planners themselves
(visits.plan_visits, parts.plan_parts) never touch the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from fleetcare.db import connect
from scheduler import store
from scheduler.alerts import (
    alert_machines,
    dispatch_candidates,
    dispatch_plan,
    weekly_share,
)
from scheduler.parts import PartsPlan, plan_parts
from scheduler.policy import PlanningPolicy, load_policy
from scheduler.problem import Machine, PeakRange, Station, VisitPlan
from scheduler.value import next_peak
from scheduler.visits import plan_visits

log = logging.getLogger("fleetcare.scheduler.service")


@dataclass
class Inputs:
    stations: list[Station]
    machines: list[Machine]
    peaks: dict[str, list[PeakRange]]
    scored_on: date | None


def load_inputs(url: str, as_of: date, station: str | None = None) -> Inputs:
    """Stations, machines with their latest scores as of `as_of`, and peak seasons."""
    with connect(url) as conn:
        every = store.load_stations(conn)
        machines = store.load_machines(conn, as_of, every)
        peaks = store.load_peaks(conn)
        scored = store.latest_score_date(conn)
    stations = [s for s in every if station is None or s.station_id == station]
    if station is not None and not stations:
        raise KeyError(f"no station {station!r}")
    if station is not None:
        machines = [m for m in machines if m.station_id == station]
    return Inputs(stations, machines, peaks, scored)


def propose_visit_plan(url: str, *, window_start: date, weeks: int = 4,
                       created_by: str = "scheduler", station: str | None = None,
                       method: str = "mip", workers: int = 1,
                       policy: PlanningPolicy | None = None) -> dict[str, Any]:
    """Plan visits from the latest scores and store the plan as 'proposed'."""
    policy = policy or load_policy()
    inputs = load_inputs(url, window_start, station)
    # The week's alert share stays free for the daily dispatch (scheduler.alerts).
    stations = [replace(s, tech_days_per_week=weekly_share(s, policy)[0])
                if policy.alert_share > 0 else s for s in inputs.stations]
    plan = plan_visits(stations, inputs.machines, window_start, weeks, policy=policy,
                       method=method, peaks=inputs.peaks, workers=workers)
    scored = sum(1 for m in inputs.machines if m.risks)
    if not scored:
        log.warning("no risk scores on or before %s: visits rest on policy value only",
                    window_start)
    params = {"weeks": weeks, "method": method, "station": station,
              "scored_on": inputs.scored_on.isoformat() if inputs.scored_on else None,
              "machines": len(inputs.machines), "machines_scored": scored}
    with connect(url) as conn:
        plan_id = store.save_visit_plan(conn, plan, created_by=created_by, params=params)
    return {"plan_id": plan_id, **_counts(plan)}


def propose_dispatch(url: str, *, day: date, created_by: str = "scheduler",
                     method: str = "mip", policy: PlanningPolicy | None = None
                     ) -> dict[str, Any]:
    """Plan `day`'s alert visits from the night's scores and store them as a 'proposed'
    dispatch plan (a one-day visit plan with params.dispatch = true).

    The jump is measured against the scores the newest weekly plan covering `day` was
    made from; machines that plan or an earlier dispatch of the week visits are left
    out; each station may use what its alert share has left this week.
    """
    policy = policy or load_policy()
    if policy.alert_share <= 0:
        return {"plan_id": None, "alerts": 0, "why": "alert_share is 0: no dispatch"}
    if day.weekday() not in policy.alert_days or day.weekday() not in policy.workdays:
        return {"plan_id": None, "alerts": 0, "why": f"{day:%A} is not an alert day"}
    inputs = load_inputs(url, day - timedelta(days=1))
    with connect(url) as conn:
        weekly = store.latest_weekly_visit_plan(conn, day)
        if weekly is None:
            return {"plan_id": None, "alerts": 0, "why": f"no weekly visit plan covers {day}"}
        seen = store.top_risks_on(conn, weekly.scored_on) if weekly.scored_on else {}
        week_start = day - timedelta(days=(day - weekly.window_start).days % 7)
        covered, used = store.week_visits(conn, weekly.plan_id, week_start, day)
    left = {s.station_id: max(0, weekly_share(s, policy)[1] - used.get(s.station_id, 0))
            for s in inputs.stations}
    alerts = alert_machines(inputs.machines, seen, covered, policy)
    wanted = dispatch_candidates(inputs.machines, alerts, covered, day, policy)
    if not wanted or not any(left.values()):
        return {"plan_id": None, "alerts": len(alerts),
                "why": "no alerts" if not wanted else "no alert capacity left this week"}
    plan = dispatch_plan(inputs.stations, wanted, day, left, policy, method=method,
                         peaks=inputs.peaks)
    if not plan.visits:
        return {"plan_id": None, "alerts": len(alerts), "why": "no visit worth its cost"}
    params = {"dispatch": True, "weekly_plan": weekly.plan_id, "alerts": len(alerts),
              "scored_on": inputs.scored_on.isoformat() if inputs.scored_on else None}
    with connect(url) as conn:
        plan_id = store.save_visit_plan(conn, plan, created_by=created_by, params=params)
    return {"plan_id": plan_id, "alerts": len(alerts), **_counts(plan)}


def _counts(plan: VisitPlan) -> dict[str, Any]:
    s = plan.summary()
    s.pop("visits_by_station", None)
    return s


def propose_parts_plan(url: str, *, today: date, lookahead_days: int | None = None,
                       created_by: str = "scheduler", station: str | None = None,
                       policy: PlanningPolicy | None = None) -> dict[str, Any]:
    """Plan pre-stock orders for stations' coming peak seasons; store as 'proposed'.

    Planned visits of the newest visit plan covering today count as certain demand;
    last year's usage over the same dates is the naive comparison.
    """
    policy = policy or load_policy()
    inputs = load_inputs(url, today, station)
    with connect(url) as conn:
        stock = store.load_stock(conn)
        visits = []
        visit_plans: dict[str, int] = {}
        for st in inputs.stations:
            plan_id = store.latest_plan_id(conn, "visits", covering=today, station=st.station_id)
            if plan_id is not None:
                visit_plans[st.station_id] = plan_id
                visits += store.visits_from_rows(store.read_visits(conn, plan_id, st.station_id))
        history: dict[tuple[str, str], int] = {}
        for st in inputs.stations:
            season = next_peak(inputs.peaks.get(st.region_id, ()), today)
            if season is None:
                continue
            used = store.load_parts_used(conn, _year_before(today), _year_before(season[1]))
            if used is not None:
                for part in {p for s, p in used if s == st.station_id} | _wear_parts():
                    history[(st.station_id, part)] = used.get((st.station_id, part), 0)
    plan = plan_parts(inputs.stations, inputs.machines, today, policy=policy, peaks=inputs.peaks,
                      stock=stock, visits=visits, history=history,
                      lookahead_days=lookahead_days)
    plans_used = sorted(set(visit_plans.values()))
    params = {"lookahead_days": lookahead_days, "station": station,
              "visit_plan": plans_used[0] if len(plans_used) == 1 else plans_used or None,
              "scored_on": inputs.scored_on.isoformat() if inputs.scored_on else None}
    if not plan.lines:
        return {"plan_id": None, "lines": 0, "stations_skipped": len(plan.stations_skipped)}
    with connect(url) as conn:
        plan_id = store.save_parts_plan(conn, plan, created_by=created_by, params=params)
    return {"plan_id": plan_id, **_parts_counts(plan)}


def _parts_counts(plan: PartsPlan) -> dict[str, Any]:
    s = plan.summary()
    s.pop("order_value_by_station", None)
    s["stations_skipped"] = len(plan.stations_skipped)
    return s


def _wear_parts() -> set[str]:
    from fleetcare import catalogue

    return set(catalogue.WEAR_PARTS)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:   # 29 February
        return day.replace(year=day.year - 1, day=28)


__all__ = ["Inputs", "load_inputs", "propose_dispatch", "propose_parts_plan",
           "propose_visit_plan"]
