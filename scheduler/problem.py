"""Planner inputs and outputs as plain frozen dataclasses (no database needed).

The backtest builds these in memory each simulated week; `scheduler.store` builds them
from the database for the scheduled jobs and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

MonthDay = tuple[int, int]
PeakRange = tuple[MonthDay, MonthDay]


@dataclass(frozen=True)
class Station:
    """A service station and the technicians it can send on 保健 visits."""

    station_id: str
    lat: float
    lon: float
    technicians: int
    region_id: str = ""
    # Technician-days per week available for 保健 (None: technicians x workdays). The
    # backtest gives every policy the same figure.
    tech_days_per_week: int | None = None


@dataclass(frozen=True)
class WearDue:
    """When a wear part on a machine is due (a row of wear_forecasts)."""

    part: str
    due_hours: float                  # operating hours left until due (negative: overdue)
    due_date: date | None = None
    due_hours_p10: float | None = None
    used_hours: float | None = None


@dataclass(frozen=True)
class Machine:
    """A machine the planner may visit, with what scoring says about it.

    `risks` maps component -> probability of failure within `horizon_d` days (from
    risk_scores); `risk_reasons` maps component -> planner-readable reason texts.
    `priority` (CNY-equivalent) replaces the risk-based value when set: other policies
    (calendar, hour intervals) plan with the same capacity through it; `earliest` and
    `latest` bound the days a visit is allowed.
    """

    machine_id: str
    station_id: str
    product_line: str
    lat: float
    lon: float
    delivery_date: date
    region_id: str = ""
    warranty_end: date | None = None
    customer_id: str | None = None
    key_account: bool = False
    customer_peak_months: tuple[int, ...] = ()
    risks: Mapping[str, float] = field(default_factory=dict)
    risk_reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    horizon_d: int = 30
    wear: tuple[WearDue, ...] = ()
    last_visit: date | None = None
    engine_hours: float | None = None
    # Hours run since the last engine-oil (hour-interval) service on record; None unknown.
    hours_since_service: float | None = None
    # Operating hours per day lately (the hour rule's due date); None unknown.
    hours_per_day: float | None = None
    priority: float | None = None
    earliest: date | None = None
    latest: date | None = None
    # The work a visit must do whatever the planner's choice (a rule's own visits).
    work: frozenset[str] | None = None


@dataclass(frozen=True)
class PartToBring:
    part: str
    qty: int
    why: str


# What a visit can do on site; the simulator's and the field's names alike.
WORK = ("inspect", "service", "replace_wear")


@dataclass(frozen=True)
class Visit:
    """One planned 保健 visit."""

    machine_id: str
    station_id: str
    day: date
    technician: int          # index of the technician within the station
    trip: int                # technician-day id within the station's plan
    stop: int                # order within the trip (0 = first)
    value: float             # CNY-equivalent: expected avoided cost + policy value
    avoided: float           # expected avoided breakdown and downtime cost, CNY
    travel_km: float         # road km from the station to this stop
    reasons: tuple[str, ...] = ()
    parts: tuple[PartToBring, ...] = ()
    work: tuple[str, ...] = ("inspect",)   # subset of WORK, in WORK's order
    dispatched: bool = False               # an alert visit, sent the next day


@dataclass(frozen=True)
class Trip:
    """One technician's trip: leave the station, visit the stops in order, come back.

    Most trips are one technician-day. A machine beyond a day's round trip gets a
    multi-day trip: `tech_days` consecutive working days of the same technician, with
    `tech_days - 1` nights of lodging.
    """

    station_id: str
    day: date                # first day
    technician: int
    trip: int
    machine_ids: tuple[str, ...]
    km: float
    hours: float             # driving plus on-site hours over the whole trip
    tech_days: int = 1

    @property
    def nights(self) -> int:
        return self.tech_days - 1


@dataclass
class StationResult:
    """How one station's sub-problem was solved."""

    station_id: str
    method: str              # mip / greedy / greedy-fallback / empty
    status: str
    candidates: int
    value: float             # gross value of the chosen visits
    objective: float         # value - visit costs - travel costs
    bound: float             # best proven bound on the objective (== objective if greedy)
    solve_s: float
    variables: int = 0


@dataclass
class VisitPlan:
    """A visit plan for a window: visits, trips and how it was solved."""

    window_start: date
    window_end: date         # exclusive
    days: tuple[date, ...]
    method: str
    visits: list[Visit]
    trips: list[Trip]
    stations: list[StationResult]
    solve_s: float
    # Wanted but too far even for the longest trip the policy allows.
    unreachable: list[str] = field(default_factory=list)
    # Technician-days the stations offered for the window (None: no weekly cap given).
    tech_days_offered: int | None = None

    @property
    def value(self) -> float:
        return sum(v.value for v in self.visits)

    @property
    def avoided(self) -> float:
        return sum(v.avoided for v in self.visits)

    @property
    def objective(self) -> float:
        return sum(s.objective for s in self.stations)

    @property
    def bound(self) -> float:
        return sum(s.bound for s in self.stations)

    @property
    def gap(self) -> float:
        """Relative optimality gap of the whole plan (bound - objective) / |bound|."""
        bound = self.bound
        return 0.0 if bound <= 1e-9 else max(0.0, (bound - self.objective) / abs(bound))

    @property
    def tech_days_used(self) -> int:
        return sum(t.tech_days for t in self.trips)

    def summary(self) -> dict[str, Any]:
        by_station: dict[str, int] = {}
        for v in self.visits:
            by_station[v.station_id] = by_station.get(v.station_id, 0) + 1
        days_by_station: dict[str, int] = {}
        for t in self.trips:
            days_by_station[t.station_id] = days_by_station.get(t.station_id, 0) + t.tech_days
        used = self.tech_days_used
        unused = None if self.tech_days_offered is None else self.tech_days_offered - used
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": (self.window_end - timedelta(days=1)).isoformat(),   # last day
            "method": self.method,
            "visits": len(self.visits),
            "trips": len(self.trips),
            "stations": len(self.stations),
            "value_cny": round(self.value, 2),
            "avoided_cny": round(self.avoided, 2),
            "objective_cny": round(self.objective, 2),
            "gap": round(self.gap, 6),
            "solve_s": round(self.solve_s, 3),
            "travel_km": round(sum(t.km for t in self.trips), 1),
            "unreachable": len(self.unreachable),
            "multi_day_trips": sum(1 for t in self.trips if t.tech_days > 1),
            "lodging_nights": sum(t.nights for t in self.trips),
            "tech_days_used": used,
            "tech_days_offered": self.tech_days_offered,
            # Capacity the planner left idle, and why: it only sends a technician where
            # the visit is worth more than it costs (visit, travel, lodging).
            "tech_days_unused": unused,
            "unused_because": ("no further visit worth its cost" if unused else None),
            "work": {w: sum(1 for v in self.visits if w in v.work) for w in WORK},
            "visits_by_station": by_station,
            "tech_days_by_station": days_by_station,
        }
