"""The fleet simulator: a day-by-day state machine over numpy arrays (machines x components).

`Simulator.step()` advances one day and returns that day's records (telemetry, fault
codes, service work orders) plus the truth (failures, health, hazard). Publishing is a
separate step (gateways.uplink turns records into messages). A backtest drives the
same object: `apply_visit()` queues a visit for a day, `snapshot()`/`restore()` and
`copy()` branch the fleet, and every draw that shapes the fleet uses common random
numbers (see gateways.rand), so runs that differ only in visits stay comparable.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from fleetcare import catalogue as cat
from gateways import wear as W
from gateways.fleet import LINE_IDS, WEAR_PARTS, Fleet
from gateways.rand import day_rng, hashed_uniform, poisson_from_uniform
from gateways.seasons import region_table

CN_TZ = timezone(timedelta(hours=8))
COMPONENTS = cat.COMPONENTS
C, P = W.C, W.P
_SPN_TABLE = {c: cat.spns_of_component(c) for c in COMPONENTS}
VISIT_ACTIONS = frozenset({"inspect", "service", "replace_wear"})


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
    queued: dict[int, list[tuple[int, frozenset[str], str, dict | None]]]
    pending_orders: dict[int, list[dict]]
    work_orders: int = 0


class Simulator:
    """A fleet's hidden wear, failures, use and service, one day at a time."""

    def __init__(self, fleet: Fleet, config: SimConfig | None = None,
                 horizon_days: int = 3 * 365) -> None:
        self.fleet = fleet
        self.config = config or SimConfig(seed=fleet.seed)
        self.seed = self.config.seed
        M = fleet.size_n
        self._act, self._temp = region_table(fleet.start, horizon_days + 45)
        # Expected hours per day as a share of a machine's working-day hours, by region.
        self._exp_share = self._p_work(self._act) * np.sqrt(self._act)
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, 7_000_002])
        self.frailty = rng.lognormal(0, W.FRAILTY_SIGMA, (M, C))
        self.idle_share = rng.uniform(0.12, 0.32, M)
        self.start_clock = rng.uniform(6.5, 8.5, M)
        self.lateness = rng.uniform(0.0, 0.4, M)          # how late interval services happen
        self.self_service_at = rng.uniform(1.4, 2.6, M)   # x interval, self-servicers
        self.on_condition_at = rng.uniform(0.95, 1.35, M)
        self.fuel_rate = np.where(fleet.has_engine, 5.0 + 22.0 * fleet.size, 0.0)
        self.has_comp = fleet.has_comp
        self.has_part = fleet.has_part
        cust = fleet.customers
        self.interval_customer = np.array([cust[c].does_interval_service for c in fleet.customer])
        self.accepts_inspection = np.array(
            [cust[c].accepts_inspections for c in fleet.customer]
        ) & np.array([cat.PRODUCT_LINES[LINE_IDS[ln]].service_class != "basic"
                      for ln in fleet.line])
        self.peak_month = np.zeros((M, 13), bool)
        for i, c in enumerate(fleet.customer):
            for m in cust[c].peak_months or ():
                self.peak_month[i, m] = True
        self.step_h = np.where(fleet.severe, 250.0, 500.0)
        self.state = self._initial_state(rng)
        self._schedule_inspections()

    # --- set-up ----------------------------------------------------------------------

    @staticmethod
    def _p_work(act: np.ndarray) -> np.ndarray:
        return np.clip(0.82 * np.power(act, 0.8), 0.02, 0.95)

    def _initial_state(self, rng: np.random.Generator) -> SimState:
        f = self.fleet
        M = f.size_n
        age_days = np.maximum(-f.delivery_day, 0)
        meter = age_days * f.base_hours * 0.55 * rng.uniform(0.8, 1.2, M)
        age = meter[:, None] * rng.uniform(0.3, 1.0, (M, C))
        # Old components have been repaired at least once: their age restarted.
        worn = age > W.ETA
        age = np.where(worn, W.ETA * rng.uniform(0.2, 0.9, (M, C)), age)
        age *= self.has_comp
        defect = (rng.random((M, C)) < W.DEFECT_SHARE) & self.has_comp
        defect &= rng.random((M, C)) < np.exp(-meter[:, None] * W.DEFECT_HAZARD)
        # Warm start: defects already running, as in a fleet that has been working.
        p_run = 1 - np.exp(-W.hazard_rate(age) * 120.0)
        degrading = (rng.random((M, C)) < p_run) & self.has_comp & (age > 0)
        pf_total = W.gradual_pf(rng.standard_normal((M, C)))
        pf_left = pf_total * rng.uniform(0.2, 1.0, (M, C))
        symptomatic = rng.random((M, C)) < W.SYMPTOMATIC_SHARE
        step = self.step_h
        last_service = np.maximum(meter - rng.uniform(0, 1, M) * step, 0)
        life = W.PART_LIFE
        wear = np.where(self.has_part,
                        rng.uniform(0, 1, (M, P)) * np.minimum(meter[:, None] / life, 1.0), 0.0)
        return SimState(
            day_index=0, meter=meter, idle=meter * self.idle_share, fuel=meter * self.fuel_rate
            * 0.55, site_lat=np.array([m.site_lat for m in f.machines]),
            site_lon=np.array([m.site_lon for m in f.machines]),
            age=age, degrading=degrading, pf_left=np.where(degrading, pf_left, 0.0),
            pf_total=np.where(degrading, pf_total, 1.0), sudden=np.zeros((M, C), bool),
            symptomatic=symptomatic & degrading,
            defect=defect, wear=wear, last_service_meter=last_service,
            service_pending=np.zeros(M, bool), down_until=np.zeros(M, np.int64),
            oc={}, queued={}, pending_orders={},
        )

    def _schedule_inspections(self) -> None:
        """The maker's 1/3/6/12-month warranty inspections (today's routine)."""
        if not self.config.background.maker_inspections:
            return
        f = self.fleet
        for i, m in enumerate(f.machines):
            if not self.accepts_inspection[i]:
                continue
            for k, when in enumerate(cat.calendar_inspection_dates(m.delivery_date)):
                jitter = int(hashed_uniform(self.seed, "insp", i, k) * 9) - 4
                d = (when - f.start).days + jitter
                if d >= 0 and when <= m.warranty_end:
                    self.state.queued.setdefault(d, []).append(
                        (i, frozenset({"inspect", "replace_wear"}), "inspection", None))

    # --- public API ------------------------------------------------------------------

    @property
    def day(self) -> date:
        """The next day step() will simulate."""
        return self.fleet.start + timedelta(days=self.state.day_index)

    def apply_visit(self, machine_id: str, day: date, actions: Iterable[str],
                    parts_available: dict[str, int] | None = None) -> None:
        """Queue a technician visit for `day` (today or later); it happens that morning.

        actions: "inspect" (finds running defects with a probability and fixes them),
        "service" (the hour-interval service due at the meter: fluids, filters),
        "replace_wear" (wear parts past 80 % of their life). parts_available limits
        which parts the technician carries (None = whatever is needed).
        """
        acts = frozenset(actions)
        if not acts or not acts <= VISIT_ACTIONS:
            raise ValueError(f"actions must be a non-empty subset of {sorted(VISIT_ACTIONS)}")
        d = (day - self.fleet.start).days
        if d < self.state.day_index:
            raise ValueError(f"{day} is already simulated (next day is {self.day})")
        # A visit that inspects is an inspection on its work order, whatever else it did
        # (planners tell the network's 保健 visits from customers' booked services so).
        kind = "inspection" if "inspect" in acts else "preventive"
        carried = dict(parts_available) if parts_available is not None else None
        self.state.queued.setdefault(d, []).append(
            (self.fleet.index_of(machine_id), acts, kind, carried))

    def snapshot(self) -> SimState:
        """A deep copy of the state; restore() it to branch the same fleet another way."""
        return _copy.deepcopy(self.state)

    def restore(self, state: SimState) -> None:
        self.state = _copy.deepcopy(state)

    def copy(self) -> Simulator:
        """An independent simulator at the same point (fleet and parameters shared)."""
        other = _copy.copy(self)
        other.state = self.snapshot()
        return other

    def run(self, days: int) -> Iterator[DayRecords]:
        for _ in range(days):
            yield self.step()

    def step_week(self) -> list[DayRecords]:
        return [self.step() for _ in range(7)]

    # --- one day ---------------------------------------------------------------------

    def step(self) -> DayRecords:
        """Simulate the next day and return its records."""
        st, f = self.state, self.fleet
        d = st.day_index
        day = self.day
        M = f.size_n
        t0 = day_epoch(day)
        bg = self.config.background

        # Fixed-shape draws: the same whatever the state (common random numbers).
        rh = day_rng(self.seed, d, "hours")
        u_work, hours_noise = rh.random(M), rh.lognormal(0, 0.2, M)
        u_reloc, reloc_dlat, reloc_dlon = rh.random(M), rh.normal(0, 1.0, M), rh.normal(0, 1.2, M)
        rf = day_rng(self.seed, d, "failure")
        u_init, u_when, u_mode = rf.random((M, C)), rf.random((M, C)), rf.random((M, C))
        z_pf, u_sym = rf.standard_normal((M, C)), rf.random((M, C))
        rc = day_rng(self.seed, d, "codes")
        u_rel, u_bg = rc.random((M, C)), rc.random(M)

        delivered = d >= f.delivery_day
        r = f.region
        act = self._act[d, r] * np.where(self.peak_month[:, day.month], 1.1, 1.0)
        temp = self._temp[d, r]

        # 1. Visits booked for this morning.
        visit_h = np.zeros(M)
        visits = [self._do_visit(i, acts, kind, parts, d, day, t0)
                  for i, acts, kind, parts in st.queued.pop(d, [])]
        service_out: list[dict] = []
        for v, rec in visits:
            visit_h[f.index_of(v.machine_id)] += v.downtime_h
            service_out.append(rec)

        # 2. Hours worked.
        works = (u_work < self._p_work(act)) & delivered & (d >= st.down_until)
        hours = np.where(works, f.base_hours * np.sqrt(act) * hours_noise, 0.0)
        hours = np.clip(hours - visit_h, 0.0, 15.0)
        hours[hours < 0.3] = 0.0

        # 3. Stress, then defects: progress of running ones, new starts, failures.
        stress = self._stress(temp)
        s_pf = np.sqrt(np.clip(stress, 0.5, 3.0))
        da_full = hours[:, None] * stress
        d_hazard = W.cum_hazard(st.age + da_full) - W.cum_hazard(st.age)
        d_hazard += st.defect * da_full * W.DEFECT_HAZARD
        new = (~st.degrading) & self.has_comp & (hours[:, None] > 0) & (
            u_init < 1 - np.exp(-d_hazard))
        # A defect's mode is drawn once, when it starts, and kept in the state: today's
        # draw says nothing about a defect that began on an earlier day.
        sudden_new = u_mode < W.SUDDEN_SHARE
        pf_new = np.where(sudden_new, 0.3 + (W.SUDDEN_MAX_H - 0.3) * u_when,
                          W.gradual_pf(z_pf))
        st.pf_total = np.where(new, pf_new, st.pf_total)
        st.sudden = np.where(new, sudden_new, st.sudden)
        st.symptomatic = np.where(new, (~sudden_new) & (u_sym < W.SYMPTOMATIC_SHARE),
                                  st.symptomatic)
        # A new defect starts part-way through the day; it has the rest of the day to run.
        run_h = np.where(new, hours[:, None] * (1 - u_when), hours[:, None])
        was_running = st.degrading | new
        left_before = np.where(new, pf_new, st.pf_left)
        left_after = left_before - run_h * s_pf
        failing = was_running & (left_after <= 0) & (hours[:, None] > 0)
        fail_at_h = np.where(failing, hours[:, None] - (-left_after) / s_pf, np.inf)
        st.degrading = was_running & ~failing
        st.pf_left = np.where(st.degrading, left_after, 0.0)
        progress_today = np.where(was_running, np.clip(1 - left_after / st.pf_total, 0, 1), 0.0)
        progress_today *= ~st.sudden   # sudden defects give no warning, on any day
        failed_machine = failing.any(axis=1)
        first_fail_h = np.where(failed_machine, np.clip(fail_at_h.min(axis=1), 0.05, None), 0.0)
        hours = np.where(failed_machine, np.minimum(hours, first_fail_h), hours)

        # 4. Age, wear parts and counters move with the hours actually worked.
        start_meter = st.meter.copy()
        start_idle, start_fuel = st.idle.copy(), st.fuel.copy()
        st.age += hours[:, None] * stress * self.has_comp
        part_rate = 1 + W.PART_ABRASIVE * (f.abrasive[:, None] - 1)
        st.wear += hours[:, None] * part_rate / W.PART_LIFE * self.has_part
        nursing = 0.15 * progress_today.max(axis=1)
        idle_share = np.clip(self.idle_share + nursing, 0, 0.8)
        eng = progress_today[:, cat.COMPONENT_INDEX["engine"]]
        blunt = np.clip(self._part_wear("bucket_teeth") - 1, 0, 2)   # worn teeth dig harder
        load_now = np.clip(f.load + 6 * eng + 4 * blunt, 5, 100)
        fuel_rate = self.fuel_rate * (load_now / 60) * (1 + 0.1 * eng)
        st.meter += hours
        st.idle += hours * idle_share
        st.fuel += hours * fuel_rate
        moved = (u_reloc < 1 / 90) & works
        st.site_lat = np.where(moved, self._region_lat() + reloc_dlat, st.site_lat)
        st.site_lon = np.where(moved, self._region_lon() + reloc_dlon, st.site_lon)

        # 5. Breakdowns: truth rows now, the work order when the technician arrives.
        failures: list[dict] = []
        for i in np.flatnonzero(failed_machine):
            failures.extend(self._breakdown(int(i), failing[i], fail_at_h[i], d, t0))

        # 6. What customers do by themselves (booked for a later morning).
        self._background(d, hours, delivered, bg)

        # 7. Fault codes and telemetry.
        day_start = t0 + self.start_clock * 3600
        faults = self._faults(d, hours, progress_today, u_rel, u_bg, day_start)
        telemetry = self._telemetry(d, hours, start_meter, start_idle, start_fuel, idle_share,
                                    fuel_rate, load_now, progress_today, temp, day_start)

        # 8. Work orders whose technician arrives today.
        service_out.extend(st.pending_orders.pop(d, []))
        truth = self._truth(d, hours, stress, s_pf, delivered)
        st.day_index += 1
        return DayRecords(day=day, day_index=d, telemetry=telemetry, faults=faults,
                          service=service_out, failures=failures, truth=truth,
                          visits=[v for v, _ in visits])

    # --- pieces of a day -------------------------------------------------------------

    def _part_wear(self, part_id: str) -> np.ndarray:
        return self.state.wear[:, WEAR_PARTS.index(part_id)]

    def _region_lat(self) -> np.ndarray:
        from gateways.seasons import REGION_IDS
        return np.array([cat.REGIONS[r].lat for r in REGION_IDS])[self.fleet.region]

    def _region_lon(self) -> np.ndarray:
        from gateways.seasons import REGION_IDS
        return np.array([cat.REGIONS[r].lon for r in REGION_IDS])[self.fleet.region]

    def _stress(self, temp: np.ndarray) -> np.ndarray:
        f, st = self.fleet, self.state
        load = np.power((f.load / 55.0)[:, None], W.LOAD_EXPONENT)
        heat = 1 + W.HEAT_SENSITIVITY * np.maximum(temp - 28.0, 0)[:, None]
        abrasive = np.power(f.abrasive[:, None], W.ABRASIVE_EXPONENT)
        overdue = 1 + W.OVERDUE_GAIN * (np.clip(st.wear - 1, 0, 3) * self.has_part) @ W.LINK.T
        return np.clip(self.frailty * load * heat * abrasive * overdue, 0.05, W.MAX_STRESS)

    def _ts(self, d: int, hour_of_day: float) -> float:
        return day_epoch(self.fleet.start + timedelta(days=d)) + hour_of_day * 3600

    def _work_order(self) -> str:
        self.state.work_orders += 1
        return f"WO{self.seed % 1000:03d}-{self.state.work_orders:07d}"

    def _technician(self, i: int, u: float) -> str:
        st = self.fleet.stations[self.fleet.station[i]]
        return f"{st.station_id}-T{int(u * st.technicians) + 1}"

    def _travel_cost(self, i: int) -> float:
        return 2 * float(self.fleet.station_km[i]) * 3.0 + 400.0

    def _breakdown(self, i: int, failing: np.ndarray, fail_h: np.ndarray, d: int,
                   t0: float) -> list[dict]:
        st, f = self.state, self.fleet
        line = cat.PRODUCT_LINES[LINE_IDS[f.line[i]]]
        comps = np.flatnonzero(failing)
        first_h = float(fail_h[comps].min())
        fail_ts = t0 + (self.start_clock[i] + first_h) * 3600
        u = hashed_uniform(self.seed, "breakdown", d, i, np.arange(8))
        # Response: same day if near and early, else next day; remote sites a day more.
        clock = self.start_clock[i] + first_h
        delay_days = (0 if f.station_km[i] < 60 and clock < 14 else 1) + (
            1 if f.station_km[i] > 150 else 0) + (1 if u[0] < 0.15 else 0)
        arrive_h = 9.0 + 6.0 * u[1] if delay_days else min(clock + 2 + 2 * u[1], 21.0)
        arrive_ts = self._ts(d + delay_days, arrive_h)
        parts: list[tuple[str, int]] = []
        repair_h = 0.0
        cost = self._travel_cost(i)
        wait_parts_h = 0.0
        truth_rows = []
        for c in comps:
            comp = COMPONENTS[c]
            info = cat.COMPONENT_INFO[comp]
            uk = hashed_uniform(self.seed, "repair", d, i, c, np.arange(4))
            repair_h += info.repair_downtime_h * line.downtime_scale * float(
                np.exp(0.7 * (uk[0] - 0.5)))
            cost += info.repair_cost_cny * line.breakdown_cost_scale * float(
                np.exp(0.6 * (uk[1] - 0.5)))
            candidates = [p for p in cat.parts_for_component(comp) if cat.PARTS[p].kind != "wear"]
            key = [p for p in candidates if cat.PARTS[p].kind == "key"]
            if key and uk[2] < 0.3:
                part = key[0]
                st.age[i, c] *= W.AFTER_KEY_PART
            else:
                rep = [p for p in candidates if cat.PARTS[p].kind == "repair"] or candidates
                part = rep[int(uk[2] * len(rep)) % len(rep)]
                st.age[i, c] *= W.AFTER_REPAIR
            parts.append((part, 1))
            cost += cat.PARTS[part].price_cny
            # Parts not on the station's shelf: a quarter of the time, wait for shipment.
            if uk[3] < 0.25:
                wait_parts_h = max(wait_parts_h, cat.PARTS[part].lead_time_days * 24 * 0.3)
            # Related fluids and filters are renewed with the repair.
            for p in W.LINKED_PARTS[comp]:
                j = WEAR_PARTS.index(p)
                if self.has_part[i, j] and cat.PARTS[p].kind == "wear":
                    st.wear[i, j] = 0.0
                    parts.append((p, cat.PARTS[p].qty))
                    cost += cat.PARTS[p].price_cny * cat.PARTS[p].qty
            truth_rows.append({
                "machine": i, "ts": t0 + (self.start_clock[i] + float(fail_h[c])) * 3600,
                "component": comp,
                "cause": "early_life" if st.defect[i, c] else (
                    "sudden" if st.sudden[i, c] else "wear"),
                "mode": "sudden" if st.sudden[i, c] else "gradual",
                "symptomatic": bool(st.symptomatic[i, c]),
                "effective_age_h": float(st.age[i, c] / (W.AFTER_KEY_PART if part in key else
                                                          W.AFTER_REPAIR)),
                "engine_hours": float(st.meter[i] + first_h),
                "pf_hours": float(st.pf_total[i, c]),
                "work_order": None,
            })
            st.degrading[i, c] = False
            st.sudden[i, c] = False
            st.symptomatic[i, c] = False
            st.defect[i, c] = False
            self._clear_codes(i, comp)
        downtime = (arrive_ts - fail_ts) / 3600 + wait_parts_h + repair_h
        back_ts = fail_ts + downtime * 3600
        back_day = int((back_ts - day_epoch(f.start)) // 86400) + 1
        st.down_until[i] = max(int(st.down_until[i]), back_day)
        order = self._work_order()
        for row in truth_rows:
            row["work_order"] = order
            row["downtime_h"] = downtime
        st.pending_orders.setdefault(d + delay_days, []).append({
            "machine": i, "ts": arrive_ts, "work_order": order, "kind": "breakdown",
            "components": [COMPONENTS[c] for c in comps], "parts": _merge_parts(parts),
            "downtime_h": round(downtime, 1), "cost_cny": round(cost, 2),
            "engine_hours": float(st.meter[i] + first_h), "station_id": f.machines[i].station_id,
            "technician": self._technician(i, u[2]),
        })
        return truth_rows

    def _clear_codes(self, i: int, comp: str) -> None:
        spns = set(_SPN_TABLE[comp])
        for key in [k for k in self.state.oc if k[0] == i and k[1] in spns]:
            del self.state.oc[key]

    def _do_visit(self, i: int, acts: frozenset[str], kind: str, parts_available: dict | None,
                  d: int, day: date, t0: float) -> tuple[VisitResult, dict]:
        st, f = self.state, self.fleet
        u = hashed_uniform(self.seed, "visit", d, i, np.arange(C + 4))
        parts: list[tuple[str, int]] = []
        found: list[str] = []
        serviced: tuple[str, ...] = ()
        cost = self._travel_cost(i) + 300.0
        hours_on_site = 1.0 + u[C]

        def take(part: str, qty: int) -> bool:
            if parts_available is not None:
                if parts_available.get(part, 0) < qty:
                    return False
                parts_available[part] -= qty
            parts.append((part, qty))
            return True

        if "service" in acts:
            interval = cat.interval_due(max(st.meter[i], 250.0))
            for part, qty in interval.parts:
                j = WEAR_PARTS.index(part)
                if self.has_part[i, j] and take(part, qty):
                    st.wear[i, j] = 0.0
            serviced = tuple(c for c in interval.components
                             if self.has_comp[i, cat.COMPONENT_INDEX[c]])
            for c in serviced:
                st.age[i, cat.COMPONENT_INDEX[c]] *= W.AFTER_SERVICE
            st.last_service_meter[i] = st.meter[i]
            st.service_pending[i] = False
            hours_on_site += 1.5
            cost += 600.0
        if "inspect" in acts:
            for c in range(C):
                if not st.degrading[i, c]:
                    continue
                if st.sudden[i, c]:
                    continue   # sudden defects give nothing to find
                p = W.DETECT_SYMPTOMATIC if st.symptomatic[i, c] else W.DETECT_SILENT
                if u[c] < p:
                    comp = COMPONENTS[c]
                    rep = [p_ for p_ in cat.parts_for_component(comp)
                           if cat.PARTS[p_].kind == "repair"]
                    if rep:
                        part = rep[int(u[C + 1] * len(rep)) % len(rep)]
                        if not take(part, 1):
                            continue   # found, but the part is not in the van
                        cost += cat.PARTS[part].price_cny
                    cost += 0.25 * cat.COMPONENT_INFO[comp].repair_cost_cny
                    hours_on_site += 0.3 * cat.COMPONENT_INFO[comp].repair_downtime_h
                    st.degrading[i, c] = False
                    st.symptomatic[i, c] = False
                    st.defect[i, c] = False
                    st.age[i, c] *= W.AFTER_INSPECTION_FIX
                    found.append(comp)
                    self._clear_codes(i, comp)
        if "replace_wear" in acts:
            for j in np.flatnonzero(self.has_part[i] & (st.wear[i] >= W.WEAR_REPLACE_AT)):
                part = WEAR_PARTS[j]
                if take(part, cat.PARTS[part].qty):
                    st.wear[i, j] = 0.0
                    hours_on_site += 0.3
        cost += sum(cat.PARTS[p].price_cny * q for p, q in parts)
        ts = t0 + (8.0 + 2.0 * u[C + 2]) * 3600
        merged = _merge_parts(parts)
        result = VisitResult(f.machines[i].machine_id, day, kind, tuple(found),
                             serviced, tuple((p["part"], p["qty"]) for p in merged),
                             round(cost, 2), round(hours_on_site, 1))
        record = {
            "machine": i, "ts": ts, "work_order": self._work_order(), "kind": kind,
            "components": sorted(set(found) | set(serviced), key=cat.COMPONENT_INDEX.get),
            "parts": merged, "downtime_h": result.downtime_h, "cost_cny": result.cost_cny,
            "engine_hours": float(st.meter[i]), "station_id": f.machines[i].station_id,
            "technician": self._technician(i, float(u[C + 3])),
        }
        return result, record

    def _background(self, d: int, hours: np.ndarray, delivered: np.ndarray,
                    bg: BackgroundService) -> None:
        st = self.state
        since = st.meter - st.last_service_meter
        if bg.customer_services:
            due = (self.interval_customer & ~st.service_pending & delivered
                   & (since >= self.step_h * (1 + self.lateness)))
            for i in np.flatnonzero(due):
                lag = 1 + int(hashed_uniform(self.seed, "svc-lag", d, int(i)) * 4)
                st.queued.setdefault(d + lag, []).append(
                    (int(i), frozenset({"service", "replace_wear"}), "preventive", None))
                st.service_pending[i] = True
        if bg.customer_self_service:
            # Customers who do not book services change oil and filters themselves, late.
            selfsvc = (~self.interval_customer) & delivered & (
                since >= self.step_h * self.self_service_at)
            for i in np.flatnonzero(selfsvc):
                for part in ("engine_oil", "engine_oil_filter", "fuel_filter"):
                    st.wear[i, WEAR_PARTS.index(part)] = 0.0
                if hashed_uniform(self.seed, "self-svc", d, int(i)) < 0.5:
                    for part in ("hydraulic_return_filter", "air_filter"):
                        st.wear[i, WEAR_PARTS.index(part)] = 0.0
                st.last_service_meter[i] = st.meter[i]
        if bg.on_condition_parts:
            idx = [WEAR_PARTS.index(p) for p in W.ON_CONDITION_PARTS]
            worn = (st.wear[:, idx] >= self.on_condition_at[:, None]) & self.has_part[:, idx]
            for i, k in zip(*np.nonzero(worn), strict=True):
                part = WEAR_PARTS[idx[k]]
                st.wear[i, idx[k]] = 0.0
                # Half the time the dealer fits it (a work order); else the customer does.
                u = hashed_uniform(self.seed, "oncond", d, int(i), int(k))
                if u < 0.5:
                    st.pending_orders.setdefault(d + 1, []).append(self._part_order(
                        int(i), d + 1, part, float(u)))

    def _part_order(self, i: int, d: int, part: str, u: float) -> dict:
        info = cat.PARTS[part]
        return {
            "machine": i, "ts": self._ts(d, 8.0 + 4 * u), "work_order": self._work_order(),
            "kind": "preventive", "components": [info.component] if info.component else [],
            "parts": [{"part": part, "qty": info.qty}], "downtime_h": 1.0 + round(2 * u, 1),
            "cost_cny": round(info.price_cny * info.qty + 300 + self._travel_cost(i), 2),
            "engine_hours": float(self.state.meter[i]),
            "station_id": self.fleet.machines[i].station_id, "technician": self._technician(i, u),
        }

    def _faults(self, d: int, hours: np.ndarray, progress: np.ndarray, u_rel: np.ndarray,
                u_bg: np.ndarray, day_start: np.ndarray) -> dict[str, np.ndarray]:
        st = self.state
        lam = hours[:, None] * (W.BENIGN_RATE + W.PRECURSOR_RATE * st.symptomatic
                                * (progress ** 2)) * self.has_comp
        n_rel = poisson_from_uniform(lam, u_rel)
        n_bg = poisson_from_uniform(hours * W.BACKGROUND_RATE, u_bg)
        mi, ci = np.nonzero(n_rel)
        rel_m = np.repeat(mi, n_rel[mi, ci])
        rel_c = np.repeat(ci, n_rel[mi, ci])
        bg_m = np.repeat(np.arange(len(hours)), n_bg)
        m = np.concatenate([rel_m, bg_m])
        slot = np.concatenate([rel_c, np.full(len(bg_m), C)])
        n = len(m)
        # Keyed by (machine, component slot, occurrence): one machine's codes never
        # shift another's draws (common random numbers across backtest branches).
        grp = m * (C + 1) + slot
        order0 = np.argsort(grp, kind="stable")
        gs = grp[order0]
        starts = np.r_[0, np.flatnonzero(np.diff(gs)) + 1] if n else np.zeros(0, np.int64)
        within = np.empty(n, np.int64)
        within[order0] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        k = np.arange(n)
        u = [hashed_uniform(self.seed, f"fault{j}", d, m, slot, within) for j in range(4)]
        spn = np.empty(n, np.int64)
        fmi = np.empty(n, np.int64)
        for j in range(len(rel_m)):
            spns = _SPN_TABLE[COMPONENTS[rel_c[j]]]
            s = spns[int(u[0][j] * len(spns))]
            fmis = cat.SPNS[s].fmis
            spn[j], fmi[j] = s, fmis[int(u[1][j] * len(fmis))]
        for j in range(len(rel_m), n):
            spn[j], fmi[j] = W.BACKGROUND_CODES[int(u[0][j] * len(W.BACKGROUND_CODES))]
        ts = day_start[m] + u[2] * hours[m] * 3600
        active = u[3] < 0.9
        order = np.lexsort((k, ts, m))
        m, spn, fmi, ts, active = m[order], spn[order], fmi[order], ts[order], active[order]
        oc = np.empty(n, np.int64)
        for j in range(n):
            key = (int(m[j]), int(spn[j]), int(fmi[j]))
            v = min(st.oc.get(key, 0) + 1, 126)     # 127 means "not available" in J1939
            st.oc[key] = v
            oc[j] = v
        return {"machine": m, "ts": np.round(ts), "spn": spn, "fmi": fmi, "oc": oc,
                "active": active}

    def _telemetry(self, d: int, hours: np.ndarray, meter0: np.ndarray, idle0: np.ndarray,
                   fuel0: np.ndarray, idle_share: np.ndarray, fuel_rate: np.ndarray,
                   load_now: np.ndarray, progress: np.ndarray, temp: np.ndarray,
                   day_start: np.ndarray) -> dict[str, np.ndarray]:
        f, st = self.fleet, self.state
        worked = np.flatnonzero(hours > 0)
        # A reading every operating hour, and one at key-off.
        n = np.floor(hours[worked]).astype(np.int64) + 1
        m = np.repeat(worked, n)
        first = np.repeat(np.cumsum(n) - n, n)
        k = np.arange(len(m)) - first + 1
        t_h = np.minimum(k.astype(np.float64), hours[m])
        rng = day_rng(self.seed, d, "telemetry")
        R = len(m)
        ci = cat.COMPONENT_INDEX
        agef = np.clip(st.age / W.ETA, 0, 3)
        drift = progress * ~st.sudden   # sudden defects do not drift
        load = np.clip(load_now[m] + rng.normal(0, 7, R), 3, 100)
        amb = temp[m]
        coolant = (83 + 0.08 * (load - 55) + 0.25 * np.maximum(amb - 25, 0)
                   + 11 * drift[m, ci["cooling"]] + 2 * agef[m, ci["cooling"]]
                   + 4 * drift[m, ci["engine"]]
                   + 3 * np.clip(self._part_wear("coolant")[m] - 1, 0, 2)
                   + rng.normal(0, 1.5, R))
        hyd = (48 + 0.22 * (load - 55) + 0.55 * (amb - 15)
               + 10 * drift[m, ci["hydraulic_pump"]] + 5 * drift[m, ci["main_valve"]]
               + 2 * agef[m, ci["hydraulic_pump"]]
               + 3 * np.clip(self._part_wear("hydraulic_return_filter")[m] - 1, 0, 2)
               + rng.normal(0, 2.0, R))
        press = (120 + 2.6 * load - 45 * drift[m, ci["hydraulic_pump"]]
                 - 15 * drift[m, ci["main_valve"]] + rng.normal(0, 10, R))
        engine = f.has_engine[m]
        hydraulic = self.has_comp[m, ci["hydraulic_pump"]]
        jitter = rng.normal(0, 0.0004, (2, R))
        out = {
            "machine": m,
            "ts": np.round(day_start[m] + t_h * 3600),
            "engine_hours": meter0[m] + t_h,
            "idle_hours": idle0[m] + t_h * idle_share[m],
            "fuel_used_l": np.where(engine, fuel0[m] + t_h * fuel_rate[m], np.nan),
            "lat": st.site_lat[m] + jitter[0],
            "lon": st.site_lon[m] + jitter[1],
            "coolant_temp_c": np.where(engine, coolant, np.nan),
            "hydraulic_oil_temp_c": np.where(hydraulic, hyd, np.nan),
            "engine_load_pct": np.where(engine, load, np.nan),
            "hydraulic_pressure_bar": np.where(hydraulic, np.maximum(press, 0), np.nan),
        }
        return out

    def _truth(self, d: int, hours: np.ndarray, stress: np.ndarray, s_pf: np.ndarray,
               delivered: np.ndarray) -> dict[str, np.ndarray]:
        st, f = self.state, self.fleet
        health = np.exp(-W.cum_hazard(st.age)) * np.where(
            st.degrading, 0.3 + 0.7 * st.pf_left / np.maximum(st.pf_total, 1e-9), 1.0)
        t_left = st.pf_left / s_pf
        base = W.hazard_rate(st.age) * stress + st.defect * W.DEFECT_HAZARD * stress
        hazard = np.where(st.degrading, 1.0 / np.maximum(t_left, 0.5), base)
        # Oracle risk of failing within 30 days, from expected hours in that window.
        window = self._exp_share[d + 1:d + 31, f.region].sum(axis=0) * f.base_hours
        window = np.where(d + 1 >= f.delivery_day, window, 0.0)[:, None]
        running = 1 / (1 + np.exp(-(window - t_left) / (0.2 * window + 1)))
        da = window * stress
        p_start = 1 - np.exp(-(W.cum_hazard(st.age + da) - W.cum_hazard(st.age))
                             - st.defect * da * W.DEFECT_HAZARD)
        p_idle = p_start * W.pf_cdf(window * s_pf / 2)
        risk30 = np.where(st.degrading, running, p_idle)
        keep = np.flatnonzero(delivered)
        mask = self.has_comp[keep]
        return {
            "machine": keep, "hours": hours[keep], "engine_hours": st.meter[keep],
            "health": np.where(mask, health[keep], np.nan),
            "hazard": np.where(mask, hazard[keep], np.nan),
            "risk30": np.where(mask, risk30[keep], np.nan),
            "degrading": st.degrading[keep] & mask,
            "wear": np.where(self.has_part[keep], st.wear[keep], np.nan),
        }


def _merge_parts(parts: list[tuple[str, int]]) -> list[dict]:
    merged: dict[str, int] = {}
    for p, q in parts:
        merged[p] = merged.get(p, 0) + int(q)
    return [{"part": p, "qty": min(q, 1000)} for p, q in merged.items()]
