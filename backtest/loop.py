"""The weekly loop of one branch: one policy on one replication of the season.

Each week: the policy decides from its database (data up to the night before); its
visits are booked on the simulator; parts are ordered; the simulator runs the week;
the ledger books what happened (from the simulator's records) and the shelves serve
the week's work orders; the gateways' messages of the week go through ingest into the
branch database, where next week's decision will find them. A policy that dispatches
alerts between weekly plans gets each day's messages that night and may send
technicians the next morning on the technician-days the week has left.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from backtest.accounting import Ledger, VisitKey
from backtest.config import ABLATIONS, BacktestConfig, ablation_of
from backtest.policies import Calendar, Hours, Policy, Predictive, Reactive, Week
from backtest.publish import Publisher
from backtest.stock import Warehouse
from fleetcare import db
from fleetcare.queries import load
from gateways.simulator import BackgroundService, SimConfig, Simulator
from gateways.uplink import Uplink
from scheduler.policy import PlanningPolicy

log = logging.getLogger("fleetcare.backtest.loop")
_Q = load("backtest", "loop.sql")

# During the warm-up and the season alike: customers book services and change parts as
# in real life; the maker's own inspections are left to the policy under test.
BACKGROUND = BackgroundService(maker_inspections=False)


@dataclass
class StartState:
    """The fleet at the season's first morning: the same for every branch."""

    sim: Simulator
    uplink: Uplink
    warehouse: Warehouse
    risk_model: tuple[int, Any] | None = None
    wear_model: tuple[int, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BranchSpec:
    policy: str
    replication: int
    seed: int
    database_url: str | None


@dataclass
class BranchResult:
    policy: str
    replication: int
    seed: int
    results: dict[str, Any]
    seconds: dict[str, float]


def make_policy(name: str, planning: PlanningPolicy, method: str, state: StartState) -> Policy:
    if name == "reactive":
        return Reactive()
    if name == "calendar":
        return Calendar(planning, method)
    if name == "hours":
        return Hours(planning, method)
    if name == "predictive":
        return Predictive(planning, method, risk_model=state.risk_model,
                          wear_model=state.wear_model)
    switch = ablation_of(name)
    if switch is not None:
        off = Predictive(planning.model_copy(update=ABLATIONS[switch]), method,
                         risk_model=state.risk_model, wear_model=state.wear_model)
        off.name = name
        return off
    if name == "oracle":
        from backtest.oracle import Oracle

        return Oracle(planning, method, [m.machine_id for m in state.sim.fleet.machines])
    raise ValueError(f"unknown policy {name!r}")


class FutureDataError(AssertionError):
    """The branch database held rows received after the decision's cutoff."""


def audit_knowledge(conn: psycopg.Connection, week: Week) -> None:
    """Raise if any raw row was received after the night before `week` starts."""
    for table in ("telemetry", "fault_codes", "service_records"):
        row = conn.execute(_Q.last_received.format(table=sql.Identifier(table))).fetchone()
        last = row[0] if row else None
        if last is not None and last > week.cutoff:
            raise FutureDataError(f"{table} holds rows received at {last}, after the cutoff "
                                  f"{week.cutoff} of week {week.index}")
    conn.commit()


def reseed(sim: Simulator, seed: int) -> None:
    """Draw the rest of the simulation from `seed` (the fleet and its state stay).

    Every draw of a simulated day is keyed by (seed, day), so a replication that only
    changes the seed gets a fresh season for the same fleet, and policies sharing a
    seed still share every draw (common random numbers).
    """
    sim.config = SimConfig(seed=seed, background=BACKGROUND)
    sim.seed = seed


def _days_left(capacity: dict[str, int], decision: Any, planning: PlanningPolicy
               ) -> dict[str, int]:
    """Technician-days per station still free after a decision's trips."""
    used: Counter[str] = Counter()
    for trip_station, days in decision.info.get("tech_days_by_station", {}).items():
        used[trip_station] += days
    return {sid: max(0, cap - used[sid]) for sid, cap in capacity.items()}


def run_branch(spec: BranchSpec, state: StartState, config: BacktestConfig,
               planning: PlanningPolicy, *, fresh_copy: bool = True) -> BranchResult:
    """Run one policy through the season; `fresh_copy` False reuses `state` (a forked
    worker owns its copy already)."""
    import copy

    from backtest.publish import clone_uplink

    t_start = time.perf_counter()
    sim = state.sim.copy() if fresh_copy else state.sim
    uplink = clone_uplink(state.uplink) if fresh_copy else state.uplink
    stock = copy.deepcopy(state.warehouse) if fresh_copy else state.warehouse
    reseed(sim, spec.seed)
    policy = make_policy(spec.policy, planning, config.method, state)
    observe = getattr(policy, "observe", None)
    dispatch = getattr(policy, "dispatch", None) if getattr(policy, "dispatches", False) else None
    alert_days = set(getattr(policy, "planning", planning).alert_days) & set(planning.workdays)
    fleet = sim.fleet
    ledger = Ledger(fleet, planning.downtime_cost_per_h)
    capacity = {s.station_id: config.capacity(s.technicians) for s in fleet.stations}
    seconds: defaultdict[str, float] = defaultdict(float)
    conn = db.connect(spec.database_url) if spec.database_url and policy.reads_database \
        else None
    try:
        publisher = Publisher(uplink, conn) if conn is not None else None
        for w in range(config.weeks):
            week = Week(w, config.start + timedelta(days=7 * w), capacity)
            if sim.day != week.start:
                raise AssertionError(f"simulator is at {sim.day}, the week starts {week.start}")
            stock.receive(week.start)
            if config.audit and conn is not None:
                audit_knowledge(conn, week)
            t = time.perf_counter()
            decision = policy.decide(conn, week, stock.snapshot_stock())
            seconds["decide_s"] += time.perf_counter() - t
            for part, spent in decision.seconds.items():
                seconds[part] += spent
            booked: Counter[VisitKey] = Counter()
            for machine_id, day, actions in decision.visits:
                sim.apply_visit(machine_id, day, actions)
                booked[(machine_id, day)] += 1
            ledger.start_week(w, sum(capacity.values()),
                              decision.tech_days_used, len(decision.visits))
            ledger.add_lodging(decision.lodging_nights * planning.lodging_cost_per_night)
            left = _days_left(capacity, decision, planning)
            orders = stock.top_up(stock.usage_targets())
            for key, qty in decision.orders.items():
                orders[key] = max(orders.get(key, 0), qty)
            stock.order(week.start, orders)
            t = time.perf_counter()
            for k in range(7):
                rec = sim.step()
                ledger.add_day(rec, booked, stock)
                stock.receive(sim.day)
                if observe is not None:
                    observe(rec)
                if publisher is not None:
                    publisher.feed([rec])
                # The night's alerts, for the next morning (the week's last night is the
                # next weekly plan's).
                if (dispatch is not None and publisher is not None and k < 6
                        and sim.day.weekday() in alert_days and any(left.values())):
                    t_in = time.perf_counter()
                    publisher.store(sim.day)
                    seconds["ingest_s"] += time.perf_counter() - t_in
                    t_d = time.perf_counter()
                    alert = dispatch(conn, Week(w, sim.day, dict(left)))
                    seconds["dispatch_s"] += time.perf_counter() - t_d
                    for machine_id, day, actions in alert.visits:
                        sim.apply_visit(machine_id, day, actions)
                        booked[(machine_id, day)] += 1
                    ledger.add_dispatch(alert.tech_days_used, len(alert.visits),
                                        alert.lodging_nights * planning.lodging_cost_per_night)
                    left = _days_left(left, alert, planning)
            stock.close_week()
            seconds["simulate_s"] += time.perf_counter() - t
            if publisher is not None:
                t = time.perf_counter()
                publisher.store(sim.day)
                seconds["ingest_s"] += time.perf_counter() - t
            # Every fifth week at INFO: a 26-week run of 12 branches stays readable.
            log.log(logging.INFO if (w + 1) % 5 == 0 else logging.DEBUG,
                    "%s seed %d: week %d/%d done, %d visit(s), %.0f s so far", spec.policy,
                    spec.seed, w + 1, config.weeks, len(decision.visits),
                    time.perf_counter() - t_start)
        ledger.close(sim)
    finally:
        if conn is not None:
            conn.close()
    seconds["branch_s"] = time.perf_counter() - t_start
    results = ledger.results(stock)
    log.info("%s (seed %d): %d breakdowns (%d in peak), total cost %.0f CNY, %.0f s",
             spec.policy, spec.seed, results["breakdowns"], results["peak_breakdowns"],
             results["total_cost"], seconds["branch_s"])
    return BranchResult(spec.policy, spec.replication, spec.seed, results,
                        {k: round(v, 2) for k, v in seconds.items()})
