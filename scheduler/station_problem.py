"""One station's planning problem: candidates, values, distances, weeks and capacity.

Stations are independent (a station's technicians only visit its machines), so the
fleet problem splits into one `StationProblem` per station; the MIP (`mip.py`) and the
greedy dispatcher (`greedy.py`) both solve it, and `plan_rows.py` turns their trips into
the plan's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from scheduler import geo, routes
from scheduler.policy import PlanningPolicy
from scheduler.problem import Machine, PeakRange, Station
from scheduler.value import StationValues, in_region_peak, station_values


@dataclass
class StationProblem:
    """Everything needed to plan one station, independent of every other station."""

    station: Station
    machines: list[Machine]           # candidates: reachable, worth a visit on some day
    days: tuple[date, ...]
    week_of_day: NDArray[np.int64]    # week index of each day
    week_caps: list[int] | None       # technician-days per week, None = no extra cap
    values: StationValues
    road: NDArray[np.float64]         # [n, n] road km between machines
    station_km: NDArray[np.float64]   # [n] road km from the station
    policy: PlanningPolicy
    peaks_of_station: tuple[PeakRange, ...] = ()

    @property
    def site_h(self) -> NDArray[np.float64]:
        """On-site hours of each machine's visit (its chosen work)."""
        return self.values.site_h

    def trip_days(self, stops: Sequence[int], km: float | None = None) -> int:
        """Technician-days a trip over `stops` takes."""
        if km is None:
            _, km = routes.best_order(list(stops), self.road, self.station_km)
        return routes.trip_days(km, float(self.site_h[list(stops)].sum()), self.policy)

    @property
    def n_weeks(self) -> int:
        return int(self.week_of_day.max()) + 1 if len(self.week_of_day) else 0

    def periods(self) -> NDArray[np.int64]:
        """Period of each day: runs of days in the same week, month and peak state.

        The MIP plans per period, not per day. Within a period a machine's value moves
        only by the slow decay of its risk; month and peak-season changes (a customer's
        busy month starting mid-week) fall between periods, so the period model stays
        close to the day-level one and its bound tight.
        """
        peaks = self.peaks_of_station
        keys = [(int(w), d.month, in_region_peak(peaks, d))
                for w, d in zip(self.week_of_day, self.days, strict=True)]
        ids: dict[tuple[int, int, bool], int] = {}
        return np.array([ids.setdefault(k, len(ids)) for k in keys], dtype=np.int64)


# A station's answer: (day index, machine indices in route order) per technician-day.
TripPlan = list[tuple[int, list[int]]]


def window_days(window_start: date, weeks: int, workdays: Sequence[int]) -> tuple[date, ...]:
    """The working days of the window [start, start + 7 weeks)."""
    return tuple(d for k in range(7 * weeks)
                 if (d := window_start + timedelta(days=k)).weekday() in workdays)


def build_problem(station: Station, machines: Sequence[Machine], days: tuple[date, ...],
                  policy: PlanningPolicy, peaks: Mapping[str, Sequence[PeakRange]]
                  ) -> tuple[StationProblem, list[str]]:
    """Values, distances and clusters of one station; also the unreachable machine ids."""
    vals = station_values(machines, days, policy, peaks)
    lat = np.array([m.lat for m in machines], dtype=float)
    lon = np.array([m.lon for m in machines], dtype=float)
    st_km = geo.haversine_km(station.lat, station.lon, lat, lon) * policy.road_factor \
        if machines else np.zeros(0)
    alone_h = 2 * st_km / policy.speed_kmh + vals.site_h
    alone_days = np.maximum(1, np.ceil(alone_h / policy.day_hours - 1e-9))
    reachable = np.asarray(alone_h <= policy.max_trip_days * policy.day_hours + 1e-9,
                           dtype=bool)
    # A remote machine must be worth its trip's lodging too.
    lodging = (alone_days - 1) * policy.lodging_cost_per_night
    wanted = np.asarray((vals.net > lodging[:, None]).any(axis=1) & vals.eligible.any(axis=1),
                        dtype=bool)
    unreachable = [m.machine_id for m, r, w in zip(machines, reachable.tolist(), wanted.tolist(),
                                                   strict=True) if w and not r]
    keep = np.flatnonzero(wanted & reachable)
    kept = [machines[int(i)] for i in keep]
    vals = vals.take(keep)
    st_km = st_km[keep]
    road = geo.pairwise_km(lat[keep], lon[keep]) * policy.road_factor if len(keep) else \
        np.zeros((0, 0))
    week = np.array([(d - days[0]).days // 7 for d in days], dtype=np.int64) if days else \
        np.zeros(0, np.int64)
    n_weeks = int(week.max()) + 1 if len(week) else 0
    caps_w = None
    if station.tech_days_per_week is not None:
        caps_w = [int(station.tech_days_per_week)] * n_weeks
    return StationProblem(station, kept, days, week, caps_w, vals, road, st_km, policy,
                          tuple(peaks.get(station.region_id, ()))), unreachable
