"""What technicians do to a machine: planned visits and breakdown repairs.

A visit is queued for a morning (`queue_visit`, behind `Simulator.apply_visit`) and done
by `do_visit` at the start of that day; a breakdown is repaired by `breakdown`, whose
work order goes out on the day the technician arrives. Both change the state (ages,
wear, running defects, fault-code counts) and return the records of what was done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np

from fleetcare import catalogue as cat
from gateways import wear as W
from gateways.fleet import LINE_IDS, WEAR_PARTS
from gateways.rand import hashed_uniform
from gateways.simulator.state import COMPONENTS, C, SimState, Traits, VisitResult, day_epoch

VISIT_ACTIONS = frozenset({"inspect", "service", "replace_wear"})


def queue_visit(tr: Traits, st: SimState, machine_id: str, day: date, actions: Iterable[str],
                parts_available: dict[str, int] | None = None) -> None:
    """Queue a technician visit for `day` (today or later); see `Simulator.apply_visit`."""
    acts = frozenset(actions)
    if not acts or not acts <= VISIT_ACTIONS:
        raise ValueError(f"actions must be a non-empty subset of {sorted(VISIT_ACTIONS)}")
    fleet = tr.fleet
    d = (day - fleet.start).days
    if d < st.day_index:
        next_day = fleet.start + timedelta(days=st.day_index)
        raise ValueError(f"{day} is already simulated (next day is {next_day})")
    # A visit that inspects is an inspection on its work order, whatever else it did
    # (planners tell the network's 保健 visits from customers' booked services so).
    kind = "inspection" if "inspect" in acts else "preventive"
    carried = dict(parts_available) if parts_available is not None else None
    st.queued.setdefault(d, []).append((fleet.index_of(machine_id), acts, kind, carried))


def merge_parts(parts: list[tuple[str, int]]) -> list[dict]:
    merged: dict[str, int] = {}
    for p, q in parts:
        merged[p] = merged.get(p, 0) + int(q)
    return [{"part": p, "qty": min(q, 1000)} for p, q in merged.items()]


def do_visit(tr: Traits, st: SimState, i: int, acts: frozenset[str], kind: str,
             parts_available: dict | None, d: int, day: date,
             t0: float) -> tuple[VisitResult, dict]:
    """Machine i's visit this morning: what it did, and its work order."""
    f = tr.fleet
    u = hashed_uniform(tr.seed, "visit", d, i, np.arange(C + 4))
    parts: list[tuple[str, int]] = []
    found: list[str] = []
    serviced: tuple[str, ...] = ()
    cost = tr.travel_cost(i) + 300.0
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
            if tr.has_part[i, j] and take(part, qty):
                st.wear[i, j] = 0.0
        serviced = tuple(name for name in interval.components
                         if tr.has_comp[i, cat.COMPONENT_INDEX[name]])
        for name in serviced:
            st.age[i, cat.COMPONENT_INDEX[name]] *= W.AFTER_SERVICE
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
            detect = W.DETECT_SYMPTOMATIC if st.symptomatic[i, c] else W.DETECT_SILENT
            if u[c] < detect:
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
                st.clear_codes(i, comp)
    if "replace_wear" in acts:
        for worn in np.flatnonzero(tr.has_part[i] & (st.wear[i] >= W.WEAR_REPLACE_AT)):
            j = int(worn)
            part = WEAR_PARTS[j]
            if take(part, cat.PARTS[part].qty):
                st.wear[i, j] = 0.0
                hours_on_site += 0.3
    cost += sum(cat.PARTS[p].price_cny * q for p, q in parts)
    ts = t0 + (8.0 + 2.0 * u[C + 2]) * 3600
    merged = merge_parts(parts)
    result = VisitResult(f.machines[i].machine_id, day, kind, tuple(found),
                         serviced, tuple((p["part"], p["qty"]) for p in merged),
                         round(cost, 2), round(hours_on_site, 1))
    record = {
        "machine": i, "ts": ts, "work_order": tr.next_work_order(st), "kind": kind,
        "components": sorted(set(found) | set(serviced),
                             key=lambda name: cat.COMPONENT_INDEX[name]),
        "parts": merged, "downtime_h": result.downtime_h, "cost_cny": result.cost_cny,
        "engine_hours": float(st.meter[i]), "station_id": f.machines[i].station_id,
        "technician": tr.technician(i, float(u[C + 3])),
    }
    return result, record


def breakdown(tr: Traits, st: SimState, i: int, failing: np.ndarray, fail_h: np.ndarray,
              d: int, t0: float) -> list[dict]:
    """Machine i broke down today: repair it, queue its work order, return the truth rows."""
    f = tr.fleet
    line = cat.PRODUCT_LINES[LINE_IDS[f.line[i]]]
    comps = np.flatnonzero(failing)
    first_h = float(fail_h[comps].min())
    fail_ts = t0 + (tr.start_clock[i] + first_h) * 3600
    u = hashed_uniform(tr.seed, "breakdown", d, i, np.arange(8))
    # Response: same day if near and early, else next day; remote sites a day more.
    clock = tr.start_clock[i] + first_h
    delay_days = (0 if f.station_km[i] < 60 and clock < 14 else 1) + (
        1 if f.station_km[i] > 150 else 0) + (1 if u[0] < 0.15 else 0)
    arrive_h = 9.0 + 6.0 * u[1] if delay_days else min(clock + 2 + 2 * u[1], 21.0)
    arrive_ts = tr.ts(d + delay_days, arrive_h)
    parts: list[tuple[str, int]] = []
    repair_h = 0.0
    cost = tr.travel_cost(i)
    wait_parts_h = 0.0
    truth_rows = []
    for c in comps:
        comp = COMPONENTS[c]
        info = cat.COMPONENT_INFO[comp]
        uk = hashed_uniform(tr.seed, "repair", d, i, c, np.arange(4))
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
            if tr.has_part[i, j] and cat.PARTS[p].kind == "wear":
                st.wear[i, j] = 0.0
                parts.append((p, cat.PARTS[p].qty))
                cost += cat.PARTS[p].price_cny * cat.PARTS[p].qty
        truth_rows.append({
            "machine": i, "ts": t0 + (tr.start_clock[i] + float(fail_h[c])) * 3600,
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
        st.clear_codes(i, comp)
    downtime = (arrive_ts - fail_ts) / 3600 + wait_parts_h + repair_h
    back_ts = fail_ts + downtime * 3600
    back_day = int((back_ts - day_epoch(f.start)) // 86400) + 1
    st.down_until[i] = max(int(st.down_until[i]), back_day)
    order = tr.next_work_order(st)
    for row in truth_rows:
        row["work_order"] = order
        row["downtime_h"] = downtime
    st.pending_orders.setdefault(d + delay_days, []).append({
        "machine": i, "ts": arrive_ts, "work_order": order, "kind": "breakdown",
        "components": [COMPONENTS[c] for c in comps], "parts": merge_parts(parts),
        "downtime_h": round(downtime, 1), "cost_cny": round(cost, 2),
        "engine_hours": float(st.meter[i] + first_h), "station_id": f.machines[i].station_id,
        "technician": tr.technician(i, u[2]),
    })
    return truth_rows
