"""The Simulator: the public API and `step()`, which runs one day through the other modules.

A day goes: the visits booked for the morning (`maintenance`), hours worked, stress and
the progress of defects to failure (here), breakdowns (`maintenance`), what customers do
by themselves (`customers`), then the day's fault codes, telemetry and truth (`records`).
The state it changes is `state.SimState`; the machines' fixed traits are `state.Traits`.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

import numpy as np

from fleetcare import catalogue as cat
from gateways import wear as W
from gateways.fleet import Fleet
from gateways.rand import day_rng
from gateways.seasons import REGION_IDS, region_table
from gateways.simulator import customers, maintenance, records
from gateways.simulator.state import (
    C,
    DayRecords,
    SimConfig,
    SimState,
    Traits,
    day_epoch,
    initial_state,
)


class Simulator:
    """A fleet's hidden wear, failures, use and service, one day at a time."""

    def __init__(self, fleet: Fleet, config: SimConfig | None = None,
                 horizon_days: int = 3 * 365) -> None:
        self.fleet = fleet
        self.config = config or SimConfig(seed=fleet.seed)
        self.seed = self.config.seed
        self._act, self._temp = region_table(fleet.start, horizon_days + 45)
        # Expected hours per day as a share of a machine's working-day hours, by region.
        self._exp_share = _p_work(self._act) * np.sqrt(self._act)
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, 7_000_002])
        self.traits = Traits.draw(fleet, self.seed, rng)
        self.state = initial_state(self.traits, rng)
        customers.schedule_inspections(self.traits, self.state, self.config.background)

    @property
    def has_comp(self) -> np.ndarray:
        """(machines, components): which components each machine has."""
        return self.traits.has_comp

    @property
    def has_part(self) -> np.ndarray:
        """(machines, wear parts): which wear parts each machine has."""
        return self.traits.has_part

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
        maintenance.queue_visit(self.traits, self.state, machine_id, day, actions,
                                parts_available)

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
        st, f, tr = self.state, self.fleet, self.traits
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
        act = self._act[d, r] * np.where(tr.peak_month[:, day.month], 1.1, 1.0)
        temp = self._temp[d, r]

        # 1. Visits booked for this morning.
        visit_h = np.zeros(M)
        visits = [maintenance.do_visit(tr, st, i, acts, kind, parts, d, day, t0)
                  for i, acts, kind, parts in st.queued.pop(d, [])]
        service_out: list[dict] = []
        for v, rec in visits:
            visit_h[f.index_of(v.machine_id)] += v.downtime_h
            service_out.append(rec)

        # 2. Hours worked.
        works = (u_work < _p_work(act)) & delivered & (d >= st.down_until)
        hours = np.where(works, f.base_hours * np.sqrt(act) * hours_noise, 0.0)
        hours = np.clip(hours - visit_h, 0.0, 15.0)
        hours[hours < 0.3] = 0.0

        # 3. Stress, then defects: progress of running ones, new starts, failures.
        stress = self._stress(temp)
        s_pf = np.sqrt(np.clip(stress, 0.5, 3.0))
        da_full = hours[:, None] * stress
        d_hazard = W.cum_hazard(st.age + da_full) - W.cum_hazard(st.age)
        d_hazard += st.defect * da_full * W.DEFECT_HAZARD
        new = (~st.degrading) & tr.has_comp & (hours[:, None] > 0) & (
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
        st.age += hours[:, None] * stress * tr.has_comp
        part_rate = 1 + W.PART_ABRASIVE * (f.abrasive[:, None] - 1)
        st.wear += hours[:, None] * part_rate / W.PART_LIFE * tr.has_part
        nursing = 0.15 * progress_today.max(axis=1)
        idle_share = np.clip(tr.idle_share + nursing, 0, 0.8)
        eng = progress_today[:, cat.COMPONENT_INDEX["engine"]]
        blunt = np.clip(st.part_wear("bucket_teeth") - 1, 0, 2)   # worn teeth dig harder
        load_now = np.clip(f.load + 6 * eng + 4 * blunt, 5, 100)
        fuel_rate = tr.fuel_rate * (load_now / 60) * (1 + 0.1 * eng)
        st.meter += hours
        st.idle += hours * idle_share
        st.fuel += hours * fuel_rate
        moved = (u_reloc < 1 / 90) & works
        st.site_lat = np.where(moved, self._region_lat() + reloc_dlat, st.site_lat)
        st.site_lon = np.where(moved, self._region_lon() + reloc_dlon, st.site_lon)

        # 5. Breakdowns: truth rows now, the work order when the technician arrives.
        failures: list[dict] = []
        for i in np.flatnonzero(failed_machine):
            failures.extend(maintenance.breakdown(tr, st, int(i), failing[i], fail_at_h[i], d, t0))

        # 6. What customers do by themselves (booked for a later morning).
        customers.customer_day(tr, st, d, delivered, bg)

        # 7. Fault codes and telemetry.
        day_start = t0 + tr.start_clock * 3600
        faults = records.fault_codes(tr, st, d, hours, progress_today, u_rel, u_bg, day_start)
        telemetry = records.telemetry(tr, st, d, hours, start_meter, start_idle, start_fuel,
                                      idle_share, fuel_rate, load_now, progress_today, temp,
                                      day_start)

        # 8. Work orders whose technician arrives today.
        service_out.extend(st.pending_orders.pop(d, []))
        truth = records.truth(tr, st, d, hours, stress, s_pf, delivered, self._exp_share)
        st.day_index += 1
        return DayRecords(day=day, day_index=d, telemetry=telemetry, faults=faults,
                          service=service_out, failures=failures, truth=truth,
                          visits=[v for v, _ in visits])

    # --- wear between the steps ----------------------------------------------------

    def _stress(self, temp: np.ndarray) -> np.ndarray:
        """How fast each component ages per hour today: load, heat, ground, overdue parts."""
        f, st, tr = self.fleet, self.state, self.traits
        load = np.power((f.load / 55.0)[:, None], W.LOAD_EXPONENT)
        heat = 1 + W.HEAT_SENSITIVITY * np.maximum(temp - 28.0, 0)[:, None]
        abrasive = np.power(f.abrasive[:, None], W.ABRASIVE_EXPONENT)
        overdue = 1 + W.OVERDUE_GAIN * (np.clip(st.wear - 1, 0, 3) * tr.has_part) @ W.LINK.T
        return np.clip(tr.frailty * load * heat * abrasive * overdue, 0.05, W.MAX_STRESS)

    def _region_lat(self) -> np.ndarray:
        return np.array([cat.REGIONS[r].lat for r in REGION_IDS])[self.fleet.region]

    def _region_lon(self) -> np.ndarray:
        return np.array([cat.REGIONS[r].lon for r in REGION_IDS])[self.fleet.region]


def _p_work(act: np.ndarray) -> np.ndarray:
    """Chance that a machine works on a day, from its region's activity."""
    return np.clip(0.82 * np.power(act, 0.8), 0.02, 0.95)
