"""The policies: each decides a week's 保健 visits (and parts orders) from the database.

A policy gets a connection to its own branch database and the week; nothing else. It
never sees the simulator, its state or its truth (tests/test_backtest_isolation.py),
and every read is cut at the end of the day before the week starts.

Every policy plans through the same planner (scheduler.visits.plan_visits) with the
same technician-days per station and week, travel limits and routing; they differ only
in which machines they want visited:
- reactive: none (急救 only: breakdowns are repaired when they happen);
- calendar: today's routine, inspections 1, 3, 6 and 12 months after delivery for
  machines under warranty (scheduler.baselines.calendar_rule_machines);
- hours: the maker's hour intervals, machines whose next 250 h service falls due
  (scheduler.baselines.hours_rule_machines), the most overdue first;
- predictive: the 保健 planner on the learned model's risk scores, wear forecasts and
  policy value (scheduler.value), after this week's features and scoring; it keeps a
  share of the week's technician-days for alerts, dispatched each night for the next
  morning when a machine's fresh score jumps (`dispatch`).
A rule's visit does today's work: inspect, replace worn wear parts and do the
hour-interval service if one is due. A predictive visit does the work the planner chose
for it (scheduler.value: inspection, the due service, due wear parts).
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Protocol

import psycopg

from backtest import queries
from backtest.stock import StockKey
from scheduler.policy import PlanningPolicy
from scheduler.problem import Machine, PeakRange, Station, Visit, VisitPlan

log = logging.getLogger("fleetcare.backtest.policies")

# The predictive policy re-plans parts every this many weeks (the monthly parts job),
# for stations whose region's peak starts within the scheduler's parts look-ahead.
PARTS_EVERY_WEEKS = 4
PARTS_LOOKAHEAD_D = 100
# The fleet's calendar (China, UTC+8): a day ends at local midnight.
FLEET_TZ = timezone(timedelta(hours=8))
MIN_HOURS_PER_DAY = 0.05


@dataclass(frozen=True)
class Week:
    """The week being decided: visits from `start` for 7 days; data up to `as_of`."""

    index: int
    start: date
    capacity: Mapping[str, int]    # technician-days per station for this week
    @property
    def as_of(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def cutoff(self) -> datetime:
        """The end of `as_of` (local midnight): nothing later may be read."""
        return datetime.combine(self.start, time(), tzinfo=FLEET_TZ)


@dataclass
class Decision:
    """What a policy decided for a week."""

    visits: list[tuple[str, date, frozenset[str]]] = field(default_factory=list)
    tech_days_used: int = 0
    lodging_nights: int = 0
    orders: dict[StockKey, int] = field(default_factory=dict)   # beyond today's stock rule
    seconds: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class Policy(Protocol):
    name: str
    reads_database: bool

    def decide(self, conn: psycopg.Connection | None, week: Week,
               stock: dict[StockKey, tuple[int, int]]) -> Decision: ...


class Reactive:
    """急救 only: no planned visits; the shelves follow today's stock rule."""

    name = "reactive"
    reads_database = False

    def decide(self, conn: psycopg.Connection | None, week: Week,
               stock: dict[StockKey, tuple[int, int]]) -> Decision:
        return Decision()


class Planned:
    """A policy that wants some machines visited and lets the planner route them."""

    name = "planned"
    reads_database = True

    def __init__(self, planning: PlanningPolicy, method: str = "mip") -> None:
        self.planning = planning
        self.method = method
        self._stations: list[Station] | None = None
        self._peaks: dict[str, list[PeakRange]] | None = None

    # -- what differs between policies -----------------------------------------------

    def candidates(self, conn: psycopg.Connection, week: Week, machines: list[Machine],
                   hours: dict[str, queries.ServiceHours], decision: Decision
                   ) -> list[Machine]:
        raise NotImplementedError

    def after_plan(self, conn: psycopg.Connection, week: Week, machines: list[Machine],
                   visits: list[Visit], stock: dict[StockKey, tuple[int, int]],
                   decision: Decision) -> None:
        """Hook for parts orders (the predictive policy)."""

    # -- shared ----------------------------------------------------------------------

    def weekly_capacity(self, capacity: Mapping[str, int]) -> Mapping[str, int]:
        """Technician-days the weekly plan may use (all of them unless held for alerts)."""
        return capacity

    def work(self, visit: Visit, hours: dict[str, queries.ServiceHours]) -> frozenset[str]:
        """Today's work for a rule's visit: inspect, worn parts, the service if due."""
        acts = {"inspect", "replace_wear"}
        since = hours[visit.machine_id].since_service if visit.machine_id in hours else None
        if since is None or since >= self.planning.interval_service_due_h:
            acts.add("service")
        return frozenset(acts)

    def stations(self, conn: psycopg.Connection, capacity: Mapping[str, int]) -> list[Station]:
        from scheduler import store

        if self._stations is None:
            self._stations = store.load_stations(conn)
            self._peaks = store.load_peaks(conn)
        return [replace(s, tech_days_per_week=capacity.get(s.station_id, 0))
                for s in self._stations]

    def decide(self, conn: psycopg.Connection | None, week: Week,
               stock: dict[StockKey, tuple[int, int]]) -> Decision:
        from scheduler import store
        from scheduler.visits import plan_visits

        assert conn is not None, f"the {self.name} policy reads its database"
        decision = Decision()
        t = clock.perf_counter()
        stations = self.stations(conn, self.weekly_capacity(week.capacity))
        machines = store.load_machines(conn, week.as_of, stations)
        hours = queries.service_hours(conn, week.cutoff)
        conn.commit()
        decision.seconds["read_s"] = clock.perf_counter() - t
        wanted = self.candidates(conn, week, machines, hours, decision)
        decision.info["candidates"] = len(wanted)
        t = clock.perf_counter()
        visits: list[Visit] = []
        if wanted and any(s.tech_days_per_week for s in stations):
            plan = plan_visits(stations, wanted, week.start, 1, policy=self.planning,
                               method=self.method, peaks=self._peaks)
            visits = plan.visits
            record_trips(decision, plan)
            decision.info["plan_value"] = round(plan.value, 2)
        decision.seconds["plan_s"] = clock.perf_counter() - t
        for v in visits:
            decision.visits.append((v.machine_id, v.day, self.work(v, hours)))
        self.after_plan(conn, week, machines, visits, stock, decision)
        return decision


class Calendar(Planned):
    """Today's routine: 1/3/6/12-month inspections of machines under warranty."""

    name = "calendar"

    def candidates(self, conn: psycopg.Connection, week: Week, machines: list[Machine],
                   hours: dict[str, queries.ServiceHours], decision: Decision
                   ) -> list[Machine]:
        from scheduler.baselines import calendar_rule_machines

        return calendar_rule_machines(machines, week.start, 1)


class Hours(Planned):
    """The maker's hour intervals: every machine whose next 250 h service is due
    (`interval_step_h` of the planning policy)."""

    name = "hours"

    def candidates(self, conn: psycopg.Connection, week: Week, machines: list[Machine],
                   hours: dict[str, queries.ServiceHours], decision: Decision
                   ) -> list[Machine]:
        from scheduler.baselines import hours_rule_machines

        known = {k: v for k, v in hours.items() if v.hours_now is not None}
        return hours_rule_machines(
            [m for m in machines if m.machine_id in known], week.start, 1,
            hours_now={k: v.hours_now for k, v in known.items()},  # type: ignore[misc]
            # A machine standing still (winter stop) is never due by the meter; a floor
            # keeps its due date finite (the rule divides the hours left by the rate).
            hours_per_day={k: max(v.hours_per_day, MIN_HOURS_PER_DAY) for k, v in known.items()},
            last_service_hours={k: v.last_service_hours or 0.0 for k, v in known.items()},
            # The maker's interval, a planning-policy field so a what-if can change it.
            step=self.planning.interval_step_h)


class Predictive(Planned):
    """The 保健 planner on this week's features and the learned model's scores."""

    name = "predictive"

    def __init__(self, planning: PlanningPolicy, method: str = "mip", *,
                 risk_model: tuple[int, Any] | None = None,
                 wear_model: tuple[int, Any] | None = None) -> None:
        super().__init__(planning, method)
        self.risk_model = risk_model
        self.wear_model = wear_model
        self._seen_risk: dict[str, float] = {}
        self._visited: dict[str, date] = {}

    def candidates(self, conn: psycopg.Connection, week: Week, machines: list[Machine],
                   hours: dict[str, queries.ServiceHours], decision: Decision
                   ) -> list[Machine]:
        from scheduler.alerts import top_risk

        # What the planner saw: an alert later in the week is a jump from this.
        self._seen_risk = {m.machine_id: top_risk(m) for m in machines}
        self._visited = {}
        return machines

    def work(self, visit: Visit, hours: dict[str, queries.ServiceHours]) -> frozenset[str]:
        return frozenset(visit.work)

    def weekly_capacity(self, capacity: Mapping[str, int]) -> Mapping[str, int]:
        share = self.planning.alert_share
        # The same split as scheduler.alerts.weekly_share, on the backtest's capacity.
        return {k: v - int(round(share * v)) for k, v in capacity.items()}

    @property
    def dispatches(self) -> bool:
        return self.planning.alert_share > 0

    def decide(self, conn: psycopg.Connection | None, week: Week,
               stock: dict[StockKey, tuple[int, int]]) -> Decision:
        assert conn is not None
        t = clock.perf_counter()
        seconds = refresh_scores(conn, week, self.risk_model, self.wear_model)
        decision = super().decide(conn, week, stock)
        decision.seconds.update(seconds)
        decision.seconds["pipeline_s"] = clock.perf_counter() - t
        self._visited = {mid: day for mid, day, _ in decision.visits}
        return decision

    def fresh_machines(self, conn: psycopg.Connection, day: Week, stations: list[Station],
                       decision: Decision) -> list[Machine]:
        """The machines with the night's scores (the nightly features and scoring)."""
        from scheduler import store

        decision.seconds.update(refresh_scores(conn, day, self.risk_model, self.wear_model))
        machines = store.load_machines(conn, day.as_of, stations)
        conn.commit()
        return machines

    def dispatch(self, conn: psycopg.Connection, day: Week) -> Decision:
        """Alert visits for the morning of `day.start`, on `day.capacity` technician-days
        (what the week has left), from the night's fresh scores (scheduler.alerts)."""
        from scheduler.alerts import (
            alert_machines,
            dispatch_candidates,
            dispatch_plan,
            top_risk,
        )

        decision = Decision()
        t = clock.perf_counter()
        stations = self.stations(conn, day.capacity)
        machines = self.fresh_machines(conn, day, stations, decision)
        alerts = alert_machines(machines, self._seen_risk, self._visited, self.planning)
        decision.info["alerts"] = len(alerts)
        for m in alerts:
            self._seen_risk[m.machine_id] = top_risk(m)
        wanted = dispatch_candidates(machines, alerts, self._visited, day.start, self.planning)
        if wanted and any(day.capacity.values()):
            plan = dispatch_plan(stations, wanted, day.start, day.capacity, self.planning,
                                 method=self.method, peaks=self._peaks)
            record_trips(decision, plan)
            for v in plan.visits:
                decision.visits.append((v.machine_id, v.day, frozenset(v.work)))
                self._visited[v.machine_id] = v.day
        decision.seconds["dispatch_s"] = clock.perf_counter() - t
        return decision


def record_trips(decision: Decision, plan: VisitPlan) -> None:
    """Technician-days (in all and per station) and lodging nights of a plan's trips."""
    by_station: dict[str, int] = {}
    for t in plan.trips:
        by_station[t.station_id] = by_station.get(t.station_id, 0) + t.tech_days
    decision.tech_days_used = plan.tech_days_used
    decision.lodging_nights = sum(t.nights for t in plan.trips)
    decision.info["tech_days_by_station"] = by_station


def refresh_scores(conn: psycopg.Connection, week: Week, risk_model: tuple[int, Any] | None,
                   wear_model: tuple[int, Any] | None) -> dict[str, float]:
    """Build the features of the last known day, score it and store the scores.

    What `fleetcare features` and `fleetcare score` do each night, for one day. Reasons
    (per-row explanations) are left out: they cost a re-scoring per feature and the
    planner's choice does not depend on them.
    """
    from features.build import build
    from features.days import SETTLE
    from models import inputs, registry
    from models.risk import KIND as RISK_KIND
    from models.scoring import ScoreResult, score_frame, write_scores
    from models.wear import KIND as WEAR_KIND

    seconds: dict[str, float] = {}
    t = clock.perf_counter()
    # The nightly job runs once the day has settled (features.days.SETTLE after midnight).
    build(conn, week.as_of, week.as_of, now=week.cutoff + SETTLE)
    seconds["features_s"] = clock.perf_counter() - t
    t = clock.perf_counter()
    frame = inputs.load_features(conn, days=[week.as_of])
    risk_id, rmodel = risk_model or registry.load_active(conn, RISK_KIND,
                                                         current_features=frame.columns)
    wear_id, wmodel = wear_model or registry.load_active(conn, WEAR_KIND)
    risk = score_frame(rmodel, frame, reasons_share=0.0, min_reasons=0)
    wear = wmodel.forecast(frame, week.as_of)
    write_scores(conn, ScoreResult(week.as_of, risk, wear, risk_id, wear_id),
                 horizon_d=rmodel.horizon_d)
    conn.commit()
    seconds["score_s"] = clock.perf_counter() - t
    return seconds


def parts_orders(stations: list[Station], machines: list[Machine], visits: list[Visit],
                 stock: dict[StockKey, tuple[int, int]], week: Week, planning: PlanningPolicy,
                 peaks: dict[str, list[PeakRange]] | None) -> dict[StockKey, int]:
    """The parts planner's pre-stock orders that are due to be placed this week."""
    from scheduler.parts import plan_parts

    plan = plan_parts(stations, machines, week.start, policy=planning, peaks=peaks,
                      stock=stock, visits=visits, lookahead_days=PARTS_LOOKAHEAD_D)
    last_day = week.start + timedelta(days=6)
    return {(ln.station_id, ln.part): ln.order_qty for ln in plan.lines
            if ln.order_qty > 0 and ln.order_by <= last_day}
