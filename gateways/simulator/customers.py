"""Service that happens without any planner: the maker's routine and what customers do.

The maker's warranty inspections are queued once, at the start; each day, customers who
book the hour-interval services queue them, the others change oil themselves (no
record), and worn on-condition parts are replaced (half the time by the dealer, with a
work order the next day). `BackgroundService` switches each of these off.
"""

from __future__ import annotations

import numpy as np

from fleetcare import catalogue as cat
from gateways import wear as W
from gateways.fleet import WEAR_PARTS
from gateways.rand import hashed_uniform
from gateways.simulator.state import BackgroundService, SimState, Traits


def schedule_inspections(tr: Traits, st: SimState, bg: BackgroundService) -> None:
    """The maker's 1/3/6/12-month warranty inspections (today's routine)."""
    if not bg.maker_inspections:
        return
    f = tr.fleet
    for i, machine in enumerate(f.machines):
        if not tr.accepts_inspection[i]:
            continue
        for k, when in enumerate(cat.calendar_inspection_dates(machine.delivery_date)):
            jitter = int(hashed_uniform(tr.seed, "insp", i, k) * 9) - 4
            d = (when - f.start).days + jitter
            if d >= 0 and when <= machine.warranty_end:
                st.queued.setdefault(d, []).append(
                    (i, frozenset({"inspect", "replace_wear"}), "inspection", None))


def customer_day(tr: Traits, st: SimState, d: int, delivered: np.ndarray,
                 bg: BackgroundService) -> None:
    """What customers do by themselves on day d (booked for a later morning)."""
    since = st.meter - st.last_service_meter
    if bg.customer_services:
        due = (tr.interval_customer & ~st.service_pending & delivered
               & (since >= tr.step_h * (1 + tr.lateness)))
        for i in np.flatnonzero(due):
            lag = 1 + int(hashed_uniform(tr.seed, "svc-lag", d, int(i)) * 4)
            st.queued.setdefault(d + lag, []).append(
                (int(i), frozenset({"service", "replace_wear"}), "preventive", None))
            st.service_pending[i] = True
    if bg.customer_self_service:
        # Customers who do not book services change oil and filters themselves, late.
        selfsvc = (~tr.interval_customer) & delivered & (
            since >= tr.step_h * tr.self_service_at)
        for i in np.flatnonzero(selfsvc):
            for part in ("engine_oil", "engine_oil_filter", "fuel_filter"):
                st.wear[i, WEAR_PARTS.index(part)] = 0.0
            if hashed_uniform(tr.seed, "self-svc", d, int(i)) < 0.5:
                for part in ("hydraulic_return_filter", "air_filter"):
                    st.wear[i, WEAR_PARTS.index(part)] = 0.0
            st.last_service_meter[i] = st.meter[i]
    if bg.on_condition_parts:
        idx = [WEAR_PARTS.index(p) for p in W.ON_CONDITION_PARTS]
        worn = (st.wear[:, idx] >= tr.on_condition_at[:, None]) & tr.has_part[:, idx]
        for i, k in zip(*np.nonzero(worn), strict=True):
            part = WEAR_PARTS[idx[k]]
            st.wear[i, idx[k]] = 0.0
            # Half the time the dealer fits it (a work order); else the customer does.
            u = hashed_uniform(tr.seed, "oncond", d, int(i), int(k))
            if u < 0.5:
                st.pending_orders.setdefault(d + 1, []).append(
                    _part_order(tr, st, int(i), d + 1, part, float(u)))


def _part_order(tr: Traits, st: SimState, i: int, d: int, part: str, u: float) -> dict:
    """The dealer's work order for fitting one on-condition part on day d."""
    info = cat.PARTS[part]
    return {
        "machine": i, "ts": tr.ts(d, 8.0 + 4 * u), "work_order": tr.next_work_order(st),
        "kind": "preventive", "components": [info.component] if info.component else [],
        "parts": [{"part": part, "qty": info.qty}], "downtime_h": 1.0 + round(2 * u, 1),
        "cost_cny": round(info.price_cny * info.qty + 300 + tr.travel_cost(i), 2),
        "engine_hours": float(st.meter[i]),
        "station_id": tr.fleet.machines[i].station_id, "technician": tr.technician(i, u),
    }
