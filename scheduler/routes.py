"""Technician trips: the best stop order, and the candidate trips the MIP chooses from.

A trip is at most `max_visits_per_day` stops (4 by default), so the best order is found
exactly by trying every permutation (24 for 4 stops, vectorised). Any subset of a
feasible trip is feasible too (dropping a stop never lengthens a route, by the triangle
inequality, nor adds on-site hours), so the MIP may use a chosen trip partly.

A trip takes as many consecutive technician-days as its driving and on-site hours need
(`trip_days`): one for the machines within a day's round trip, more, with a night's
lodging between them, for remote sites, up to the policy's `max_trip_days`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import permutations

import numpy as np
from numpy.typing import NDArray

from scheduler.policy import PlanningPolicy

FloatArray = NDArray[np.float64]

# Exact ordering up to this many stops (720 permutations); nearest neighbour beyond.
_EXACT_MAX = 6


@lru_cache(maxsize=16)
def _perms(k: int) -> NDArray[np.int64]:
    return np.array(list(permutations(range(k))), dtype=np.int64)


def best_order(stops: Sequence[int], road: FloatArray, station_km: FloatArray
               ) -> tuple[list[int], float]:
    """Shortest station -> stops -> station order and its road km."""
    k = len(stops)
    if k == 0:
        return [], 0.0
    idx = np.asarray(stops, dtype=np.int64)
    if k == 1:
        return [int(idx[0])], float(2 * station_km[idx[0]])
    if k <= _EXACT_MAX:
        orders = idx[_perms(k)]                                  # [P, k]
        km = station_km[orders[:, 0]] + station_km[orders[:, -1]] \
            + road[orders[:, :-1], orders[:, 1:]].sum(axis=1)
        best = int(np.argmin(km))
        return [int(i) for i in orders[best]], float(km[best])
    left = list(idx)
    first = min(left, key=lambda i: station_km[i])
    order, km_total = [int(first)], float(station_km[first])
    left.remove(first)
    while left:
        nxt = min(left, key=lambda i: road[order[-1], i])
        km_total += float(road[order[-1], nxt])
        order.append(int(nxt))
        left.remove(nxt)
    return order, km_total + float(station_km[order[-1]])


def route_km(order: Sequence[int], road: FloatArray, station_km: FloatArray) -> float:
    """Road km of station -> order -> station."""
    if not order:
        return 0.0
    legs = sum(float(road[a, b]) for a, b in zip(order, order[1:], strict=False))
    return float(station_km[order[0]]) + legs + float(station_km[order[-1]])


def site_hours(work: Iterable[str], policy: PlanningPolicy) -> float:
    """Hours on site for a visit's work: an inspection or a service alone takes a
    visit's hours; both take the service's hours on top."""
    acts = set(work)
    return policy.visit_hours + (policy.service_hours if {"inspect", "service"} <= acts
                                 else 0.0)


def trip_hours(km: float, site_hours: float, policy: PlanningPolicy) -> float:
    """Driving plus on-site hours of a trip (`site_hours`: all its stops together)."""
    return km / policy.speed_kmh + site_hours


def trip_days(km: float, site_hours: float, policy: PlanningPolicy) -> int:
    """Consecutive technician-days a trip takes (at least one)."""
    return max(1, math.ceil(trip_hours(km, site_hours, policy) / policy.day_hours - 1e-9))


def fits(km: float, site_hours: float, policy: PlanningPolicy, days: int | None = None) -> bool:
    """Whether a trip fits in `days` technician-days (default: the longest trip allowed)."""
    limit = policy.max_trip_days if days is None else days
    return trip_hours(km, site_hours, policy) <= limit * policy.day_hours + 1e-9


def trip_cost(km: float, days: int, policy: PlanningPolicy) -> float:
    """Travel and lodging of a trip, CNY."""
    return policy.travel_cost_per_km * km + policy.lodging_cost_per_night * (days - 1)


def candidate_trips(road: FloatArray, station_km: FloatArray, worth: FloatArray,
                    policy: PlanningPolicy, extra: Iterable[Sequence[int]] = (),
                    site_h: FloatArray | None = None) -> list[tuple[list[int], float]]:
    """Feasible trips (best order, km) for the MIP to choose from.

    From every machine as the first pick: the machine alone, the trip grown by its nearest
    neighbours, and the trip grown by its most valuable neighbours within the grouping
    radius, never taking more technician-days than the first pick alone. `worth` is each
    machine's best net value; `extra` adds trips from elsewhere (the greedy plan's);
    `site_h` the on-site hours of each machine's visit (default: `visit_hours`).
    """
    n = len(station_km)
    site = np.full(n, policy.visit_hours) if site_h is None else np.asarray(site_h)
    radius = 2 * policy.cluster_radius_km
    cap = policy.max_visits_per_day
    seen: set[frozenset[int]] = set()
    out: list[tuple[list[int], float]] = []

    def keep(stops: Sequence[int]) -> bool:
        key = frozenset(stops)
        if key in seen:
            return True
        order, km = best_order(list(key), road, station_km)
        if not fits(km, float(site[order].sum()), policy):
            return False
        seen.add(key)
        out.append((order, km))
        return True

    def grow(stops: list[int], ranking: NDArray[np.int64]) -> list[int]:
        # Add neighbours in ranking order while the trip keeps its days; only the full
        # trip is a column (a chosen trip may be used partly, so its subsets need none).
        _, km0 = best_order(stops, road, station_km)
        days = trip_days(km0, float(site[stops].sum()), policy)
        for c in ranking:
            if len(stops) >= cap:
                break
            order, km = best_order([*stops, int(c)], road, station_km)
            if fits(km, float(site[order].sum()), policy, days):
                stops = order
        return stops

    for seed in range(n):
        if not keep([seed]):
            continue
        near = np.flatnonzero(road[seed] <= radius)
        near = near[near != seed]
        if len(near) == 0:
            continue
        by_dist = near[np.argsort(road[seed, near], kind="stable")]
        by_value = near[np.argsort(-worth[near], kind="stable")]
        for ranking in (by_dist, by_value):
            keep(grow([seed], ranking))
    for trip in extra:
        if trip:
            keep(list(trip))
    return out
