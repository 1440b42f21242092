"""The 保健 visit planner: `plan_visits`, one MIP per station (HiGHS), greedy as fallback.

Stations are independent, so the fleet problem splits into one problem per station,
solved one after another or in worker processes, and the answers are checked together.
The pieces import one way, each module only the ones listed before it:

- ``station_problem``  ``StationProblem`` / ``build_problem``: values, distances, capacity
- ``greedy``           the dispatcher heuristic: baseline, fallback and the MIP's start
- ``mip``              the period-level trip MIP and the day assignment (its model is
                       described there)
- ``plan_rows``        trips to ``Visit`` and ``Trip`` rows (work, reasons, parts)
- ``visits``           ``plan_visits``: build, solve (in processes), materialise, check
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

from scheduler.check import PlanInvariantError, check_plan
from scheduler.greedy import solve_greedy
from scheduler.mip import solve_mip
from scheduler.plan_rows import materialise
from scheduler.policy import PlanningPolicy, load_policy
from scheduler.problem import Machine, PeakRange, Station, StationResult, Trip, Visit, VisitPlan
from scheduler.station_problem import StationProblem, TripPlan, build_problem, window_days
from scheduler.value import catalogue_peaks

log = logging.getLogger("fleetcare.scheduler.visits")

METHODS = ("mip", "greedy")


def _solve(args: tuple[StationProblem, str, float | None]) -> tuple[TripPlan, StationResult]:
    problem, method, time_limit_s = args
    if method == "greedy":
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
        v, t = materialise(p, station_trips, peaks)
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


__all__ = ["PlanInvariantError", "StationProblem", "build_problem", "plan_visits", "solve_mip",
           "window_days"]
