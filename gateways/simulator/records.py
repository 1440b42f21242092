"""What a day leaves behind: the machines' fault codes and telemetry, and the hidden truth.

Each function turns the day's hours and the state after them into column arrays (machine
= fleet index); `gateways.uplink` turns these into messages, `gateways.truth` stores the
truth. Only the fault codes change the state: their occurrence counts.
"""

from __future__ import annotations

import numpy as np

from fleetcare import catalogue as cat
from gateways import wear as W
from gateways.rand import day_rng, hashed_uniform, poisson_from_uniform
from gateways.simulator.state import COMPONENTS, SPN_TABLE, C, SimState, Traits


def fault_codes(tr: Traits, st: SimState, d: int, hours: np.ndarray, progress: np.ndarray,
                u_rel: np.ndarray, u_bg: np.ndarray,
                day_start: np.ndarray) -> dict[str, np.ndarray]:
    """J1939 codes (SPN, FMI, occurrence count): benign ones, and precursors of defects."""
    lam = hours[:, None] * (W.BENIGN_RATE + W.PRECURSOR_RATE * st.symptomatic
                            * (progress ** 2)) * tr.has_comp
    n_rel = poisson_from_uniform(lam, u_rel)
    n_bg = poisson_from_uniform(hours * W.BACKGROUND_RATE, u_bg)
    mi, ci = np.nonzero(n_rel)
    rel_m = np.repeat(mi, n_rel[mi, ci])
    rel_c = np.repeat(ci, n_rel[mi, ci])
    bg_m = np.repeat(np.arange(len(hours)), n_bg)
    mach = np.concatenate([rel_m, bg_m])
    slot = np.concatenate([rel_c, np.full(len(bg_m), C)])
    n = len(mach)
    # Keyed by (machine, component slot, occurrence): one machine's codes never
    # shift another's draws (common random numbers across backtest branches).
    grp = mach * (C + 1) + slot
    order0 = np.argsort(grp, kind="stable")
    gs = grp[order0]
    starts = np.r_[0, np.flatnonzero(np.diff(gs)) + 1] if n else np.zeros(0, np.int64)
    within = np.empty(n, np.int64)
    within[order0] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    k = np.arange(n)
    u = [hashed_uniform(tr.seed, f"fault{j}", d, mach, slot, within) for j in range(4)]
    spn = np.empty(n, np.int64)
    fmi = np.empty(n, np.int64)
    for j in range(len(rel_m)):
        spns = SPN_TABLE[COMPONENTS[rel_c[j]]]
        s = spns[int(u[0][j] * len(spns))]
        fmis = cat.SPNS[s].fmis
        spn[j], fmi[j] = s, fmis[int(u[1][j] * len(fmis))]
    for j in range(len(rel_m), n):
        spn[j], fmi[j] = W.BACKGROUND_CODES[int(u[0][j] * len(W.BACKGROUND_CODES))]
    ts = day_start[mach] + u[2] * hours[mach] * 3600
    active = u[3] < 0.9
    order = np.lexsort((k, ts, mach))
    mach, spn, fmi, ts, active = mach[order], spn[order], fmi[order], ts[order], active[order]
    oc = np.empty(n, np.int64)
    for j in range(n):
        key = (int(mach[j]), int(spn[j]), int(fmi[j]))
        v = min(st.oc.get(key, 0) + 1, 126)     # 127 means "not available" in J1939
        st.oc[key] = v
        oc[j] = v
    return {"machine": mach, "ts": np.round(ts), "spn": spn, "fmi": fmi, "oc": oc,
            "active": active}


def telemetry(tr: Traits, st: SimState, d: int, hours: np.ndarray, meter0: np.ndarray,
              idle0: np.ndarray, fuel0: np.ndarray, idle_share: np.ndarray,
              fuel_rate: np.ndarray, load_now: np.ndarray, progress: np.ndarray,
              temp: np.ndarray, day_start: np.ndarray) -> dict[str, np.ndarray]:
    """Readings every operating hour and at key-off: counters, position, temperatures."""
    f = tr.fleet
    worked = np.flatnonzero(hours > 0)
    # A reading every operating hour, and one at key-off.
    n = np.floor(hours[worked]).astype(np.int64) + 1
    mach = np.repeat(worked, n)
    first = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(len(mach)) - first + 1
    t_h = np.minimum(k.astype(np.float64), hours[mach])
    rng = day_rng(tr.seed, d, "telemetry")
    R = len(mach)
    ci = cat.COMPONENT_INDEX
    agef = np.clip(st.age / W.ETA, 0, 3)
    drift = progress * ~st.sudden   # sudden defects do not drift
    load = np.clip(load_now[mach] + rng.normal(0, 7, R), 3, 100)
    amb = temp[mach]
    coolant = (83 + 0.08 * (load - 55) + 0.25 * np.maximum(amb - 25, 0)
               + 11 * drift[mach, ci["cooling"]] + 2 * agef[mach, ci["cooling"]]
               + 4 * drift[mach, ci["engine"]]
               + 3 * np.clip(st.part_wear("coolant")[mach] - 1, 0, 2)
               + rng.normal(0, 1.5, R))
    hyd = (48 + 0.22 * (load - 55) + 0.55 * (amb - 15)
           + 10 * drift[mach, ci["hydraulic_pump"]] + 5 * drift[mach, ci["main_valve"]]
           + 2 * agef[mach, ci["hydraulic_pump"]]
           + 3 * np.clip(st.part_wear("hydraulic_return_filter")[mach] - 1, 0, 2)
           + rng.normal(0, 2.0, R))
    press = (120 + 2.6 * load - 45 * drift[mach, ci["hydraulic_pump"]]
             - 15 * drift[mach, ci["main_valve"]] + rng.normal(0, 10, R))
    engine = f.has_engine[mach]
    hydraulic = tr.has_comp[mach, ci["hydraulic_pump"]]
    jitter = rng.normal(0, 0.0004, (2, R))
    out = {
        "machine": mach,
        "ts": np.round(day_start[mach] + t_h * 3600),
        "engine_hours": meter0[mach] + t_h,
        "idle_hours": idle0[mach] + t_h * idle_share[mach],
        "fuel_used_l": np.where(engine, fuel0[mach] + t_h * fuel_rate[mach], np.nan),
        "lat": st.site_lat[mach] + jitter[0],
        "lon": st.site_lon[mach] + jitter[1],
        "coolant_temp_c": np.where(engine, coolant, np.nan),
        "hydraulic_oil_temp_c": np.where(hydraulic, hyd, np.nan),
        "engine_load_pct": np.where(engine, load, np.nan),
        "hydraulic_pressure_bar": np.where(hydraulic, np.maximum(press, 0), np.nan),
    }
    return out


def truth(tr: Traits, st: SimState, d: int, hours: np.ndarray, stress: np.ndarray,
          s_pf: np.ndarray, delivered: np.ndarray,
          exp_share: np.ndarray) -> dict[str, np.ndarray]:
    """Per delivered machine: health, hazard, the oracle's 30-day risk, wear (for scoring)."""
    f = tr.fleet
    health = np.exp(-W.cum_hazard(st.age)) * np.where(
        st.degrading, 0.3 + 0.7 * st.pf_left / np.maximum(st.pf_total, 1e-9), 1.0)
    t_left = st.pf_left / s_pf
    base = W.hazard_rate(st.age) * stress + st.defect * W.DEFECT_HAZARD * stress
    hazard = np.where(st.degrading, 1.0 / np.maximum(t_left, 0.5), base)
    # Oracle risk of failing within 30 days, from expected hours in that window.
    window = exp_share[d + 1:d + 31, f.region].sum(axis=0) * f.base_hours
    window = np.where(d + 1 >= f.delivery_day, window, 0.0)[:, None]
    running = 1 / (1 + np.exp(-(window - t_left) / (0.2 * window + 1)))
    da = window * stress
    p_start = 1 - np.exp(-(W.cum_hazard(st.age + da) - W.cum_hazard(st.age))
                         - st.defect * da * W.DEFECT_HAZARD)
    p_idle = p_start * W.pf_cdf(window * s_pf / 2)
    risk30 = np.where(st.degrading, running, p_idle)
    keep = np.flatnonzero(delivered)
    mask = tr.has_comp[keep]
    return {
        "machine": keep, "hours": hours[keep], "engine_hours": st.meter[keep],
        "health": np.where(mask, health[keep], np.nan),
        "hazard": np.where(mask, hazard[keep], np.nan),
        "risk30": np.where(mask, risk30[keep], np.nan),
        "degrading": st.degrading[keep] & mask,
        "wear": np.where(tr.has_part[keep], st.wear[keep], np.nan),
    }
