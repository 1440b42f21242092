"""The greedy visit planner: what a good dispatcher does by hand, and the MIP's fallback.

Day by day, each technician takes the machine most worth a trip (its value less the
visit and the drive), then fills the day with the most valuable machines near it (within
two cluster radii) while the route back to the station still fits in the technician-day
and each extra stop is worth its extra kilometres. A remote machine's trip takes
several consecutive days of one technician (and pays for their lodging). It sees the
same values, capacity and travel rules as the MIP; it just never trades today's best
machine for a better day's work elsewhere.
"""

from __future__ import annotations

import time

import numpy as np

from scheduler import routes
from scheduler.problem import StationResult
from scheduler.station_problem import StationProblem, TripPlan


def solve_greedy(p: StationProblem) -> tuple[TripPlan, StationResult]:
    """Plan one station greedily."""
    started = time.perf_counter()
    policy = p.policy
    net, eligible = p.values.net, p.values.eligible
    n, n_days = net.shape
    techs = p.station.technicians
    remaining = np.ones(n, dtype=bool)
    radius = 2 * policy.cluster_radius_km
    trips: TripPlan = []
    week_used: dict[int, int] = {}
    out_on: np.ndarray = np.zeros(n_days, dtype=np.int64)   # technicians away per day
    travel_cost = 0.0
    site = p.site_h
    # Alone, each machine's trip takes this many days and costs this much to reach.
    alone_days = np.array([p.trip_days([i], 2 * float(p.station_km[i])) for i in range(n)],
                          dtype=np.int64)
    alone_cost = np.array([routes.trip_cost(2 * float(p.station_km[i]), int(alone_days[i]),
                                            policy) for i in range(n)])

    def fits(stops: list[int], days: int) -> tuple[bool, list[int], float]:
        # The shortest order of the stops: the route the plan will carry.
        order, km = routes.best_order(stops, p.road, p.station_km)
        return routes.fits(km, float(site[order].sum()), policy, days), order, km

    def run_ok(d: int, k: int) -> bool:
        # k consecutive working days of the same week, each with a technician free.
        last = d + k - 1
        return (last < n_days and int(p.week_of_day[last]) == int(p.week_of_day[d])
                and bool((out_on[d:last + 1] < techs).all()))

    for d in range(n_days):
        week = int(p.week_of_day[d])
        while out_on[d] < techs:
            left = None if p.week_caps is None else p.week_caps[week] - week_used.get(week, 0)
            if left is not None and left <= 0:
                break
            today = np.where(remaining & eligible[:, d], net[:, d], 0.0)
            # A trip must pay for its driving and lodging, as in the MIP's objective: the
            # seed is the machine most worth a trip of its own, and a stop joins only if
            # it is worth the extra kilometres.
            worth = today - alone_cost
            ok_days = np.array([run_ok(d, int(k)) and (left is None or k <= left)
                                for k in alone_days]) if n else np.zeros(0, bool)
            worth = np.where(ok_days, worth, 0.0)
            if n == 0 or worth.max() <= 0:
                break
            seed = int(np.argmax(worth))
            k = int(alone_days[seed])
            ok, stops, km = fits([seed], k)
            if not ok:   # build_problem drops machines unreachable alone; belt and braces
                remaining[seed] = False
                continue
            near = np.flatnonzero((p.road[seed] <= radius) & (today > 0))
            for c in near[np.argsort(-today[near], kind="stable")]:
                if len(stops) >= policy.max_visits_per_day:
                    break
                if c == seed:
                    continue
                ok, order, new_km = fits([*stops, int(c)], k)
                if ok and today[c] > policy.travel_cost_per_km * (new_km - km):
                    stops, km = order, new_km
            remaining[stops] = False
            trips.append((d, stops))
            out_on[d:d + k] += 1
            week_used[week] = week_used.get(week, 0) + k
            travel_cost += routes.trip_cost(km, k, policy)
    value = float(sum(p.values.value[i, d] for d, stops in trips for i in stops))
    objective = float(sum(net[i, d] for d, stops in trips for i in stops)) - travel_cost
    return trips, StationResult(p.station.station_id, "greedy", "heuristic", n, value,
                                objective, objective, time.perf_counter() - started)
