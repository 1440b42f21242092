"""What the simulator knows: the fixed traits of each machine and the state that a day changes.

`Traits` is drawn once from the fleet and a seed and never changes; `SimState` is
everything a day changes, so a snapshot of it branches the fleet. The records a day
returns (`DayRecords`, `VisitResult`) and the run's settings live here too, because every
other module of the simulator speaks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from fleetcare import catalogue as cat
from gateways import wear as W
from gateways.fleet import LINE_IDS, WEAR_PARTS, Fleet

CN_TZ = timezone(timedelta(hours=8))
COMPONENTS = cat.COMPONENTS
C, P = W.C, W.P
SPN_TABLE = {c: cat.spns_of_component(c) for c in COMPONENTS}


def day_epoch(day: date) -> float:
    """Unix time of local (UTC+8) midnight starting `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=CN_TZ).timestamp()


@dataclass(frozen=True)
class BackgroundService:
    """What happens without any planner: who services and inspects, by themselves.

    The backtest turns `maker_inspections` off and lets a policy decide the maker's
    visits; customer-driven services and breakdown repairs stay as in real life.
    """

    customer_services: bool = True       # customers booking the hour-interval services
    customer_self_service: bool = True   # the others change oil themselves (no record)
    maker_inspections: bool = True       # 1/3/6/12-month inspections in warranty
    on_condition_parts: bool = True      # teeth, hoses, rollers replaced when worn out


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    background: BackgroundService = field(default_factory=BackgroundService)


@dataclass(frozen=True)
class VisitResult:
    """What a visit did; its work order goes out with that day's service records."""

    machine_id: str
    day: date
    kind: str
    found: tuple[str, ...]                    # components with a defect found and fixed
    serviced: tuple[str, ...]                 # components covered by an interval service
    parts: tuple[tuple[str, int], ...]
    cost_cny: float
    downtime_h: float


@dataclass
class DayRecords:
    """One simulated day: what the machines and the service app report, and the truth."""

    day: date
    day_index: int
    telemetry: dict[str, np.ndarray]          # columns; machine = fleet index
    faults: dict[str, np.ndarray]
    service: list[dict]                        # work orders (machine = fleet index)
    failures: list[dict]                       # truth: one row per failed component
    truth: dict[str, np.ndarray]               # per delivered machine: health, hazard, ...
    visits: list[VisitResult]


# A visit queued for a morning: (machine index, actions, work-order kind, parts carried).
QueuedVisit = tuple[int, frozenset[str], str, dict | None]


@dataclass
class SimState:
    """Everything that changes from day to day (a snapshot is a deep copy of this)."""

    day_index: int
    meter: np.ndarray            # (M,) true engine hours
    idle: np.ndarray             # (M,) cumulative idle hours
    fuel: np.ndarray             # (M,) cumulative litres
    site_lat: np.ndarray
    site_lon: np.ndarray
    age: np.ndarray              # (M, C) effective age, h
    degrading: np.ndarray        # (M, C) bool: a defect is running to failure
    pf_left: np.ndarray          # (M, C) operating hours left until failure
    pf_total: np.ndarray         # (M, C)
    sudden: np.ndarray           # (M, C) bool: the running defect's mode, set when it starts
    symptomatic: np.ndarray      # (M, C) bool: this defect raises fault codes
    defect: np.ndarray           # (M, C) bool: built with an early-life defect
    wear: np.ndarray             # (M, P) share of nominal life used
    last_service_meter: np.ndarray   # (M,)
    service_pending: np.ndarray      # (M,) bool: a service is booked, not yet done
    down_until: np.ndarray       # (M,) first day index the machine works again
    oc: dict[tuple[int, int, int], int]
    queued: dict[int, list[QueuedVisit]]
    pending_orders: dict[int, list[dict]]
    work_orders: int = 0

    def part_wear(self, part_id: str) -> np.ndarray:
        return self.wear[:, WEAR_PARTS.index(part_id)]

    def clear_codes(self, i: int, comp: str) -> None:
        """Forget machine i's occurrence counts for a repaired component's codes."""
        spns = set(SPN_TABLE[comp])
        for key in [k for k in self.oc if k[0] == i and k[1] in spns]:
            del self.oc[key]


@dataclass(eq=False)
class Traits:
    """Each machine's fixed traits, drawn once from the seed; no day changes them."""

    fleet: Fleet
    seed: int
    frailty: np.ndarray           # (M, C) how fast each component ages under stress
    idle_share: np.ndarray
    start_clock: np.ndarray       # hour of day the machine starts work
    lateness: np.ndarray          # how late interval services happen
    self_service_at: np.ndarray   # x interval, self-servicers
    on_condition_at: np.ndarray   # wear share at which on-condition parts are changed
    fuel_rate: np.ndarray
    has_comp: np.ndarray          # (M, C)
    has_part: np.ndarray          # (M, P)
    interval_customer: np.ndarray    # books the hour-interval services
    accepts_inspection: np.ndarray   # lets the maker inspect (and has a service class)
    peak_month: np.ndarray        # (M, 13) the customer's own peak months
    step_h: np.ndarray            # service interval step: 250 h severe duty, else 500 h

    @classmethod
    def draw(cls, fleet: Fleet, seed: int, rng: np.random.Generator) -> Traits:
        M = fleet.size_n
        # The draw order is part of the seed's meaning: keep it.
        frailty = rng.lognormal(0, W.FRAILTY_SIGMA, (M, C))
        idle_share = rng.uniform(0.12, 0.32, M)
        start_clock = rng.uniform(6.5, 8.5, M)
        lateness = rng.uniform(0.0, 0.4, M)
        self_service_at = rng.uniform(1.4, 2.6, M)
        on_condition_at = rng.uniform(0.95, 1.35, M)
        cust = fleet.customers
        accepts = np.array([cust[c].accepts_inspections for c in fleet.customer]) & np.array(
            [cat.PRODUCT_LINES[LINE_IDS[ln]].service_class != "basic" for ln in fleet.line])
        peak_month = np.zeros((M, 13), bool)
        for i, c in enumerate(fleet.customer):
            for m in cust[c].peak_months or ():
                peak_month[i, m] = True
        return cls(
            fleet=fleet, seed=seed, frailty=frailty, idle_share=idle_share,
            start_clock=start_clock, lateness=lateness, self_service_at=self_service_at,
            on_condition_at=on_condition_at,
            fuel_rate=np.where(fleet.has_engine, 5.0 + 22.0 * fleet.size, 0.0),
            has_comp=fleet.has_comp, has_part=fleet.has_part,
            interval_customer=np.array([cust[c].does_interval_service for c in fleet.customer]),
            accepts_inspection=accepts, peak_month=peak_month,
            step_h=np.where(fleet.severe, 250.0, 500.0),
        )

    def ts(self, d: int, hour_of_day: float) -> float:
        """Unix time of `hour_of_day` on simulated day index d."""
        return day_epoch(self.fleet.start + timedelta(days=d)) + hour_of_day * 3600

    def technician(self, i: int, u: float) -> str:
        st = self.fleet.stations[self.fleet.station[i]]
        return f"{st.station_id}-T{int(u * st.technicians) + 1}"

    def travel_cost(self, i: int) -> float:
        return 2 * float(self.fleet.station_km[i]) * 3.0 + 400.0

    def next_work_order(self, st: SimState) -> str:
        st.work_orders += 1
        return f"WO{self.seed % 1000:03d}-{st.work_orders:07d}"


def initial_state(tr: Traits, rng: np.random.Generator) -> SimState:
    """A fleet that has been working: ages, running defects and wear as of day 0."""
    f = tr.fleet
    M = f.size_n
    age_days = np.maximum(-f.delivery_day, 0)
    meter = age_days * f.base_hours * 0.55 * rng.uniform(0.8, 1.2, M)
    age = meter[:, None] * rng.uniform(0.3, 1.0, (M, C))
    # Old components have been repaired at least once: their age restarted.
    worn = age > W.ETA
    age = np.where(worn, W.ETA * rng.uniform(0.2, 0.9, (M, C)), age)
    age *= tr.has_comp
    defect = (rng.random((M, C)) < W.DEFECT_SHARE) & tr.has_comp
    defect &= rng.random((M, C)) < np.exp(-meter[:, None] * W.DEFECT_HAZARD)
    # Warm start: defects already running, as in a fleet that has been working.
    p_run = 1 - np.exp(-W.hazard_rate(age) * 120.0)
    degrading = (rng.random((M, C)) < p_run) & tr.has_comp & (age > 0)
    pf_total = W.gradual_pf(rng.standard_normal((M, C)))
    pf_left = pf_total * rng.uniform(0.2, 1.0, (M, C))
    symptomatic = rng.random((M, C)) < W.SYMPTOMATIC_SHARE
    step = tr.step_h
    last_service = np.maximum(meter - rng.uniform(0, 1, M) * step, 0)
    life = W.PART_LIFE
    wear = np.where(tr.has_part,
                    rng.uniform(0, 1, (M, P)) * np.minimum(meter[:, None] / life, 1.0), 0.0)
    return SimState(
        day_index=0, meter=meter, idle=meter * tr.idle_share, fuel=meter * tr.fuel_rate
        * 0.55, site_lat=np.array([x.site_lat for x in f.machines]),
        site_lon=np.array([x.site_lon for x in f.machines]),
        age=age, degrading=degrading, pf_left=np.where(degrading, pf_left, 0.0),
        pf_total=np.where(degrading, pf_total, 1.0), sudden=np.zeros((M, C), bool),
        symptomatic=symptomatic & degrading,
        defect=defect, wear=wear, last_service_meter=last_service,
        service_pending=np.zeros(M, bool), down_until=np.zeros(M, np.int64),
        oc={}, queued={}, pending_orders={},
    )
