"""The 保健 visit planner's MIP for one station (HiGHS), with greedy as its start.

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
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scheduler import routes
from scheduler.greedy import solve_greedy
from scheduler.problem import StationResult
from scheduler.station_problem import StationProblem, TripPlan

# The planner's logger: HiGHS's fallback warnings read as the visit planner's.
log = logging.getLogger("fleetcare.scheduler.visits")


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
                run_gain = float(np.where(p.values.eligible[idx, d], p.values.net[idx, d],
                                          0).sum())
                if best is None or run_gain > best[0]:
                    best = (run_gain, j, tech)
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
        cells = np.ix_(np.asarray(week_trips[t], dtype=np.int64), slots)
        gain[r] = np.where(p.values.eligible[cells], p.values.net[cells], -1e9).sum(axis=0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    for r, s in zip(rows, cols, strict=True):
        d = int(slots[s])
        stops = [i for i in week_trips[singles[r]] if p.values.eligible[i, d]]
        if stops:
            out.append((d, stops))
    return out
