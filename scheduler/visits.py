"""The 保健 visit planner: one MIP per station (HiGHS), greedy as fallback and baseline.

Stations are independent (a station's technicians only visit its machines), so the
fleet problem splits into one small MIP per station, solved one after another or in
worker processes. Per station and week the model chooses

    x[i, w] in {0, 1}   visit machine i in week w
    z[t, w] in {0, 1}   send a technician-day on candidate trip t in week w

maximising  sum best-day net value[i, w] x[i, w] - sum travel cost[t] z[t, w]
subject to  sum_w x[i, w] <= 1                         (never twice in the window)
            x[i, w] <= sum_{t containing i} z[t, w]    (a visit rides on a chosen trip)
            sum_t z[t, w] <= technician-days in week w (technicians x days, or the cap)

Candidate trips (routes.py) are feasible technician-days of up to four stops, grown from
every machine by nearest and by most valuable neighbours, plus the greedy plan's own
trips, so the MIP can always do at least what greedy does. A chosen trip may be used
partly (a subset of a feasible route is feasible). Each week's trips then go to (day,
technician) slots by an exact assignment. Weeks rather than days keep the model small:
days of a week are near-identical for value and a day-indexed model spends seconds per
station on that symmetry; with each machine's best day in the week, the week model is a
relaxation of the day-level choice among the same trips, so its bound stays a bound.

Remote machines (beyond a day's round trip) ride on multi-day trips: such a trip counts
its technician-days against the capacity rows and its lodging in its cost, and is placed
first on consecutive free days of one technician.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scheduler import geo, routes
from scheduler.check import PlanInvariantError, check_plan
from scheduler.policy import PlanningPolicy, load_policy
from scheduler.problem import (
    Machine,
    PeakRange,
    Station,
    StationResult,
    Trip,
    Visit,
    VisitPlan,
)
from scheduler.value import (
    StationValues,
    avoided_by_component,
    catalogue_peaks,
    in_region_peak,
    parts_to_bring,
    station_values,
    visit_reasons,
)

log = logging.getLogger("fleetcare.scheduler.visits")

METHODS = ("mip", "greedy")


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


# -- HiGHS ---------------------------------------------------------------------------

_banner_lock = threading.Lock()
_banner_done = False


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints its banner from C++ on the first Highs(): keep stdout clean for --json."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _new_highs() -> object:
    global _banner_done
    import highspy

    with _banner_lock:
        if not _banner_done:
            with _quiet_stdout():
                h = highspy.Highs()
            _banner_done = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def _period_values(p: StationProblem, period: NDArray[np.int64]
                   ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Each machine's best net value over its eligible days in each period."""
    n_per = int(period.max()) + 1
    net_w = np.zeros((len(p.machines), n_per))
    elig_w = np.zeros((len(p.machines), n_per), dtype=bool)
    for w in range(n_per):
        cols = np.flatnonzero(period == w)
        net_w[:, w] = np.where(p.values.eligible[:, cols], p.values.net[:, cols], 0.0).max(axis=1)
        elig_w[:, w] = p.values.eligible[:, cols].any(axis=1)
    return net_w, elig_w


def solve_mip(p: StationProblem, time_limit_s: float | None = None
              ) -> tuple[TripPlan, StationResult]:
    """Solve one station: the period-level trip MIP (HiGHS), then days by assignment.

    Greedy's plan is both a set of candidate trips and HiGHS's starting solution, so the
    MIP answer is never below greedy's on the model's objective; if the day assignment
    loses that edge (values differ within a period), the better plan is kept.
    """
    import highspy
    from scipy.sparse import coo_matrix

    from scheduler.greedy import solve_greedy

    started = time.perf_counter()
    policy = p.policy
    n = len(p.machines)
    if n == 0 or p.station.technicians <= 0 or not p.days:
        return [], StationResult(p.station.station_id, "empty", "no candidates", n, 0.0, 0.0,
                                 0.0, time.perf_counter() - started)
    greedy_trips, greedy_res = solve_greedy(p)
    period = p.periods()
    net_w, elig_w = _period_values(p, period)
    n_per = net_w.shape[1]
    cap_w = np.bincount(period, minlength=n_per) * p.station.technicians
    week_of_period = np.array([int(p.week_of_day[np.flatnonzero(period == w)[0]])
                               for w in range(n_per)], dtype=np.int64)
    trips = routes.candidate_trips(p.road, p.station_km, net_w.max(axis=1), policy,
                                   extra=[stops for _, stops in greedy_trips], site_h=p.site_h)
    trip_index = {frozenset(t): k for k, (t, _) in enumerate(trips)}
    n_t = len(trips)
    t_days = np.array([p.trip_days(t, km) for t, km in trips], dtype=np.int64)
    per_len = np.bincount(period, minlength=n_per)

    # Columns: x[i, w] for eligible pairs, then z[t, w] for trips with a member eligible in
    # w that fit in the period's days (a multi-day trip needs consecutive days).
    xi, xw = np.nonzero(elig_w)
    n_x = len(xi)
    x_col = {(int(i), int(w)): k for k, (i, w) in enumerate(zip(xi, xw, strict=True))}
    members = [np.asarray(t, dtype=np.int64) for t, _ in trips]
    z_keys = [(t, w) for t in range(n_t) for w in range(n_per)
              if t_days[t] <= per_len[w] and elig_w[members[t], w].any()]
    z_col = {key: n_x + k for k, key in enumerate(z_keys)}
    n_col = n_x + len(z_keys)
    travel = np.array([routes.trip_cost(km, int(t_days[t]), policy)
                       for t, (_, km) in enumerate(trips)])
    cost = np.concatenate([net_w[xi, xw], [-travel[t] for t, _ in z_keys]])

    rows: list[int] = []
    cols: list[int] = []
    coefs: list[float] = []
    # Each machine at most once in the window: rows 0..n-1.
    rows += xi.tolist()
    cols += list(range(n_x))
    coefs += [1.0] * n_x
    # x[i, w] - sum_{t containing i} z[t, w] <= 0: rows n..n+n_x-1.
    rows += [n + k for k in range(n_x)]
    cols += list(range(n_x))
    coefs += [1.0] * n_x
    for (t, w), col in z_col.items():
        for i in members[t]:
            k = x_col.get((int(i), w))
            if k is not None:
                rows.append(n + k)
                cols.append(col)
                coefs.append(-1.0)
    # Technician-days per period (technicians x days), then per week when capped.
    for (t, w), col in z_col.items():
        rows.append(n + n_x + w)
        cols.append(col)
        coefs.append(float(t_days[t]))
    n_row = n + n_x + n_per
    row_upper = np.concatenate([np.ones(n), np.zeros(n_x), cap_w.astype(float)])
    if p.week_caps is not None:
        for (t, w), col in z_col.items():
            rows.append(n_row + int(week_of_period[w]))
            cols.append(col)
            coefs.append(float(t_days[t]))
        row_upper = np.concatenate([row_upper, np.asarray(p.week_caps, dtype=float)])
        n_row += len(p.week_caps)
    a = coo_matrix((coefs, (rows, cols)), shape=(n_row, n_col)).tocsc()

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.ones(n_col)
    lp.row_lower_ = np.full(n_row, -highspy.kHighsInf)
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_col

    h: Any = _new_highs()
    h.setOptionValue("mip_rel_gap", policy.mip_rel_gap)
    h.setOptionValue("time_limit", float(time_limit_s or policy.station_time_limit_s))
    h.setOptionValue("threads", 1)   # stations are solved in parallel instead
    # Light presolve: on these models full presolve (probing) took half the time for
    # nothing; measured over the 50 stations of the bench: 15-21 s instead of 25-28 s.
    h.setOptionValue("presolve_mode", 2)
    h.passModel(lp)
    # Greedy's plan as the incumbent: HiGHS starts from it and only improves.
    start = np.zeros(n_col)
    for d, stops in greedy_trips:
        w = int(period[d])
        key = (trip_index[frozenset(stops)], w)
        if key not in z_col:
            continue   # a greedy multi-day trip running past its period: not a start
        start[z_col[key]] = 1.0
        for i in stops:
            start[x_col[(i, w)]] = 1.0
    sol_in = highspy.HighsSolution()
    sol_in.col_value = start.tolist()
    sol_in.value_valid = True
    h.setSolution(sol_in)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sol = np.asarray(h.getSolution().col_value) if info.primal_solution_status >= 2 else None
    if sol is None or len(sol) != n_col:
        log.warning("station %s: HiGHS gave no solution (%s); using greedy",
                    p.station.station_id, status)
        greedy_res.method, greedy_res.status = "greedy-fallback", status
        greedy_res.solve_s = time.perf_counter() - started
        return greedy_trips, greedy_res

    plan: TripPlan = []
    for w in range(n_per):
        chosen_t = [t for (t, wk), col in z_col.items() if wk == w and sol[col] > 0.5]
        visited = {int(i) for (i, wk), col in x_col.items() if wk == w and sol[col] > 0.5}
        week_trips: list[list[int]] = []
        # Each visited machine rides on the chosen trip that carries most of the visits.
        load = {t: len(visited.intersection(members[t].tolist())) for t in chosen_t}
        ride: dict[int, list[int]] = defaultdict(list)
        for i in sorted(visited):
            t = max((t for t in chosen_t if i in members[t]), key=lambda t: (load[t], -t))
            ride[t].append(i)
        for _t, stops in ride.items():
            order, _ = routes.best_order(stops, p.road, p.station_km)
            week_trips.append(order)
        plan += _assign_days(p, np.flatnonzero(period == w), week_trips)
    charged = sum(_trip_cost(p, stops) for _, stops in plan)
    realised = float(sum(p.values.net[i, d] for d, stops in plan for i in stops)) - charged
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else realised
    if realised < greedy_res.objective:
        plan, realised = greedy_trips, greedy_res.objective
        status += " (greedy plan kept)"
    value = float(sum(p.values.value[i, d] for d, stops in plan for i in stops))
    return plan, StationResult(p.station.station_id, "mip", status, n, value, realised,
                               max(bound, realised), time.perf_counter() - started, n_col)


def _trip_cost(p: StationProblem, stops: Sequence[int]) -> float:
    order, km = routes.best_order(list(stops), p.road, p.station_km)
    return routes.trip_cost(km, p.trip_days(order, km), p.policy)


def _assign_days(p: StationProblem, day_ids: NDArray[np.int64], week_trips: list[list[int]]
                 ) -> TripPlan:
    """Put a period's trips on (day, technician) slots, maximising day-level value.

    Multi-day trips first, each on the free run of consecutive days of one technician
    where its stops are worth most; then the day trips by exact (Hungarian) assignment
    on the slots left. The MIP caps technician-days per period at technicians x days, so
    day trips always find a slot. A stop not allowed on the day its trip gets (rare: an
    earliest/latest date inside the period) is dropped.
    """
    from scipy.optimize import linear_sum_assignment

    if not week_trips:
        return []
    techs = p.station.technicians
    free = np.ones((len(day_ids), techs), dtype=bool)
    out: TripPlan = []
    days_of = [p.trip_days(stops) for stops in week_trips]
    for t in sorted((t for t, k in enumerate(days_of) if k > 1), key=lambda t: -days_of[t]):
        k = days_of[t]
        idx = np.asarray(week_trips[t], dtype=np.int64)
        best: tuple[float, int, int] | None = None
        for j in range(len(day_ids) - k + 1):
            for tech in range(techs):
                if not free[j:j + k, tech].all():
                    continue
                d = int(day_ids[j])
                gain = float(np.where(p.values.eligible[idx, d], p.values.net[idx, d], 0).sum())
                if best is None or gain > best[0]:
                    best = (gain, j, tech)
        if best is None:
            continue   # no run of free days left: the trip is dropped
        _, j, tech = best
        free[j:j + k, tech] = False
        d = int(day_ids[j])
        stops = [i for i in week_trips[t] if p.values.eligible[i, d]]
        if stops:
            out.append((d, stops))
    singles = [t for t, k in enumerate(days_of) if k == 1]
    if not singles:
        return out
    slots = np.array([int(day_ids[j]) for j in range(len(day_ids)) for _ in range(techs)
                      ])[free.reshape(-1)]
    gain = np.zeros((len(singles), len(slots)))
    for r, t in enumerate(singles):
        idx = np.ix_(np.asarray(week_trips[t], dtype=np.int64), slots)
        gain[r] = np.where(p.values.eligible[idx], p.values.net[idx], -1e9).sum(axis=0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    for r, s in zip(rows, cols, strict=True):
        d = int(slots[s])
        stops = [i for i in week_trips[singles[r]] if p.values.eligible[i, d]]
        if stops:
            out.append((d, stops))
    return out


# -- the public entry point ----------------------------------------------------------


def _solve(args: tuple[StationProblem, str, float | None]) -> tuple[TripPlan, StationResult]:
    problem, method, time_limit_s = args
    if method == "greedy":
        from scheduler.greedy import solve_greedy

        return solve_greedy(problem)
    return solve_mip(problem, time_limit_s)


def plan_visits(stations: Sequence[Station], machines: Sequence[Machine], window_start: date,
                weeks: int = 4, *, policy: PlanningPolicy | None = None, method: str = "mip",
                peaks: Mapping[str, Sequence[PeakRange]] | None = None, workers: int = 1,
                time_limit_s: float | None = None) -> VisitPlan:
    """Plan 保健 visits for every station over `weeks` weeks from `window_start`.

    Pure function of its inputs (no database). `method` is "mip" (HiGHS) or "greedy";
    `workers` > 1 solves stations in that many processes. Every plan is checked before
    it is returned (capacity, travel, one visit per machine); a violation raises
    PlanInvariantError.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    policy = policy or load_policy()
    peaks = peaks if peaks is not None else catalogue_peaks()
    started = time.perf_counter()
    days = window_days(window_start, weeks, policy.workdays)
    by_station: dict[str, list[Machine]] = defaultdict(list)
    for m in machines:
        by_station[m.station_id].append(m)
    station_ids = {s.station_id for s in stations}
    orphans = [m.machine_id for m in machines if m.station_id not in station_ids]
    if orphans:
        log.warning("%d machine(s) belong to no given station (e.g. %s): not planned",
                    len(orphans), orphans[0])

    problems: list[StationProblem] = []
    unreachable: list[str] = []
    for st in stations:
        problem, far = build_problem(st, by_station.get(st.station_id, []), days, policy, peaks)
        problems.append(problem)
        unreachable += far

    jobs = [(p, method, time_limit_s) for p in problems]
    if workers > 1 and len(problems) > 1:
        # Big stations first so the last worker does not start the longest one.
        order = sorted(range(len(jobs)), key=lambda k: -int(problems[k].values.eligible.sum()))
        # fork is cheapest, but forking a process that runs threads (the scheduler:
        # APScheduler, leader check) can deadlock the child; forkserver then (measured on
        # the bench: fork ~30 s, forkserver ~35 s, spawn ~38 s under the same load).
        single = threading.active_count() == 1
        ctx = multiprocessing.get_context("fork" if single else "forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            solved = dict(zip(order, pool.map(_solve, [jobs[k] for k in order]), strict=True))
        answers = [solved[k] for k in range(len(jobs))]
    else:
        answers = [_solve(j) for j in jobs]

    visits: list[Visit] = []
    trips: list[Trip] = []
    results: list[StationResult] = []
    for p, (station_trips, result) in zip(problems, answers, strict=True):
        v, t = _materialise(p, station_trips, peaks)
        visits += v
        trips += t
        results.append(result)
    offered = None
    if all(s.tech_days_per_week is not None for s in stations):
        offered = sum(int(s.tech_days_per_week or 0) for s in stations) * weeks
    plan = VisitPlan(window_start, window_start + timedelta(days=7 * weeks), days, method,
                     visits, trips, results, time.perf_counter() - started, unreachable,
                     offered)
    violations = check_plan(plan, stations, machines, policy)
    if violations:
        raise PlanInvariantError(f"{len(violations)} plan violation(s): {violations[:5]}")
    return plan


def _materialise(p: StationProblem, station_trips: TripPlan,
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


__all__ = ["PlanInvariantError", "StationProblem", "build_problem", "plan_visits", "solve_mip",
           "window_days"]
