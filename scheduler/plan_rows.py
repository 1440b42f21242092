"""A station's solved trips as the plan's rows: visits (work, reasons, parts) and trips."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta

import numpy as np

from scheduler import routes
from scheduler.problem import PeakRange, Trip, Visit
from scheduler.station_problem import StationProblem, TripPlan
from scheduler.value import avoided_by_component, parts_to_bring, visit_reasons


def materialise(p: StationProblem, station_trips: TripPlan,
                 peaks: Mapping[str, Sequence[PeakRange]]) -> tuple[list[Visit], list[Trip]]:
    """Turn a station's trips into Visit rows (work, reasons, parts) and Trip rows.

    Technicians are numbered per station: each trip, in order of its first day, takes
    the lowest-numbered technician free on all of its days (optimal for intervals; the
    solvers never put more trips on a day than there are technicians).
    """
    policy = p.policy
    busy: dict[int, set[int]] = defaultdict(set)    # day index -> technicians out
    visits: list[Visit] = []
    trips: list[Trip] = []
    sid = p.station.station_id
    window_end = p.days[-1] + timedelta(days=1) if p.days else None
    for trip_no, (d, stops) in enumerate(sorted(station_trips, key=lambda t: t[0])):
        # Solvers hand over stops in their best order; keep it (check.py re-measures it).
        order = list(stops)
        km = routes.route_km(order, p.road, p.station_km)
        k = p.trip_days(order, km)
        span = range(d, min(d + k, len(p.days)))
        tech = next(t for t in range(p.station.technicians + len(station_trips))
                    if all(t not in busy[j] for j in span))
        for j in span:
            busy[j].add(tech)
        along = np.cumsum([p.station_km[order[0]]] + [p.road[a, b] for a, b in
                                                      zip(order, order[1:], strict=False)])
        day = p.days[d]
        trips.append(Trip(sid, day, tech, trip_no, tuple(p.machines[i].machine_id for i in order),
                          km, routes.trip_hours(km, float(p.site_h[order].sum()), policy), k))
        on_site = 0.0
        for stop, (i, travel) in enumerate(zip(order, along, strict=True)):
            m = p.machines[i]
            # On a multi-day trip a stop is reached on the day its hours say.
            arrive_h = travel / policy.speed_kmh + on_site
            on_site += float(p.site_h[i])
            vd = min(d + int(arrive_h // policy.day_hours), d + k - 1, len(p.days) - 1)
            vday = p.days[vd]
            offset = (vday - p.days[0]).days
            work = p.values.work[i]
            region_peaks = peaks.get(m.region_id, ())
            reasons = visit_reasons(m, vday, avoided_by_component(m, offset, policy)
                                    if "inspect" in work else {}, policy, region_peaks,
                                    work, window_end)
            if k > 1:
                reasons = (*reasons, f"remote site: a {k}-day trip "
                                     f"({k - 1} night{'s' if k > 2 else ''} away)")
            if p.values.net[i, d] < 0.5 * policy.visit_cost_cny and len(order) > 1:
                reasons = (*reasons, "on the way: shares the trip with more urgent visits")
            visits.append(Visit(m.machine_id, sid, vday, tech, trip_no, stop,
                                float(p.values.value[i, d]), float(p.values.avoided[i, d]),
                                float(travel), reasons,
                                parts_to_bring(m, vday, policy, work, region_peaks), work))
    return visits, trips
