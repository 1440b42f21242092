"""Invariants every visit plan must hold, checked on every plan the planner returns.

Recomputed from the plan and the raw coordinates, independently of how the solver
modelled them: one visit per machine, technicians per day (a multi-day trip keeps its
technician on every one of its days), technician-days per week, stops per trip, and each
trip's driving plus on-site hours within its technician-days.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date

from fleetcare.errors import TerminalError
from scheduler.geo import haversine_km
from scheduler.policy import PlanningPolicy
from scheduler.problem import Machine, Station, VisitPlan
from scheduler.routes import site_hours


class PlanInvariantError(TerminalError):
    """A plan broke a hard rule (capacity, travel, or a machine visited twice)."""


def trip_km(station: Station, stops: Sequence[Machine], road_factor: float) -> float:
    """Road km of station -> stops in order -> station."""
    points = [(station.lat, station.lon)] + [(m.lat, m.lon) for m in stops] + \
        [(station.lat, station.lon)]
    return sum(float(haversine_km(a[0], a[1], b[0], b[1])) for a, b in zip(points, points[1:],
                                                                             strict=False)
               ) * road_factor


def check_plan(plan: VisitPlan, stations: Sequence[Station], machines: Sequence[Machine],
               policy: PlanningPolicy) -> list[str]:
    """Every broken rule, in words (empty when the plan is sound)."""
    bad: list[str] = []
    st = {s.station_id: s for s in stations}
    mc = {m.machine_id: m for m in machines}
    days = set(plan.days)

    twice = [m for m, n in Counter(v.machine_id for v in plan.visits).items() if n > 1]
    bad += [f"machine {m} visited more than once" for m in twice]
    for v in plan.visits:
        m = mc.get(v.machine_id)
        if m is None:
            bad.append(f"visit to unknown machine {v.machine_id}")
        elif m.station_id != v.station_id:
            bad.append(f"{v.machine_id} visited by {v.station_id}, belongs to {m.station_id}")
        if v.day not in days:
            bad.append(f"{v.machine_id} visited on {v.day}, not a working day of the window")

    techs_by_day: dict[tuple[str, date], list[int]] = defaultdict(list)
    per_week: Counter[tuple[str, int]] = Counter()
    visits_per_trip = Counter((v.station_id, v.trip) for v in plan.visits)
    work_of = {(v.station_id, v.trip, v.machine_id): v.work for v in plan.visits}
    day_list = list(plan.days)
    for t in plan.trips:
        s = st.get(t.station_id)
        if s is None:
            bad.append(f"trip of unknown station {t.station_id}")
            continue
        if t.tech_days > policy.max_trip_days:
            bad.append(f"{t.station_id} {t.day} trip {t.trip}: {t.tech_days} days > "
                       f"{policy.max_trip_days}")
        first = day_list.index(t.day) if t.day in days else None
        span = day_list[first:first + t.tech_days] if first is not None else []
        if len(span) < t.tech_days or any((b - a).days > 1 for a, b in
                                          zip(span, span[1:], strict=False)):
            bad.append(f"{t.station_id} {t.day} trip {t.trip}: {t.tech_days} consecutive "
                       "working days not in the window")
        for day in span:
            techs_by_day[(t.station_id, day)].append(t.technician)
        per_week[(t.station_id, (t.day - plan.window_start).days // 7)] += t.tech_days
        if not 0 <= t.technician < s.technicians:
            bad.append(f"{t.station_id} {t.day}: technician {t.technician} of {s.technicians}")
        if len(t.machine_ids) > policy.max_visits_per_day:
            bad.append(f"{t.station_id} {t.day} trip {t.trip}: {len(t.machine_ids)} stops > "
                       f"{policy.max_visits_per_day}")
        if visits_per_trip[(t.station_id, t.trip)] != len(t.machine_ids):
            bad.append(f"{t.station_id} trip {t.trip}: visits and stops disagree")
        stops = [mc[i] for i in t.machine_ids if i in mc]
        km = trip_km(s, stops, policy.road_factor)
        on_site = sum(site_hours(work_of.get((t.station_id, t.trip, m.machine_id), ()), policy)
                      for m in stops)
        hours = km / policy.speed_kmh + on_site
        if hours > t.tech_days * policy.day_hours + 1e-6:
            bad.append(f"{t.station_id} {t.day} trip {t.trip}: {hours:.2f} h > "
                       f"{t.tech_days} x {policy.day_hours} h ({km:.0f} km, {len(stops)} stops)")
    for (sid, day), techs in techs_by_day.items():
        if len(techs) != len(set(techs)):
            bad.append(f"{sid} {day}: a technician has two trips on one day")
        if len(techs) > st[sid].technicians:
            bad.append(f"{sid} {day}: {len(techs)} trips > {st[sid].technicians} technicians")
    for (sid, week), n in per_week.items():
        cap = st[sid].tech_days_per_week
        if cap is not None and n > cap:
            bad.append(f"{sid} week {week}: {n} technician-days > {cap}")
    return bad


def capacity_violations(plan: VisitPlan, stations: Sequence[Station],
                        machines: Sequence[Machine], policy: PlanningPolicy) -> int:
    """How many rules the plan breaks (0 for every plan the planner returns)."""
    return len(check_plan(plan, stations, machines, policy))
