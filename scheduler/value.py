"""What a 保健 visit is worth on each day: expected avoided cost plus policy value.

Expected avoided cost of visiting machine i on day t (days after the window starts), per
component c with risk p over the horizon H:

    lambda = -ln(1 - p) / H                        (constant hazard behind the score)
    P(fail in [t, t + H] without a visit) = exp(-lambda t) * p
    avoided_c(t) = effectiveness * exp(-lambda t) * max(p - risk_floor, 0) * cost_c(t)
    cost_c(t) = repair cost + downtime hours * cost per hour * (key-account weight)
                * (1 + (peak multiplier - 1) * share of [t, t + H] in a peak season)

so an early visit is worth more to a high-risk machine (its failure may come first), and
a visit just before the peak is worth more (the failures it prevents would have stopped
the machine in its busiest weeks). Policy value adds the reasons planners visit beyond
risk: warranty, key account, warranty about to end, end of life, first month after
delivery, an hour-interval service due. The 一品一案 class multiplies the sum; visiting
during the customer's own peak months (or the region's) is discounted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from fleetcare import catalogue
from scheduler.policy import PlanningPolicy
from scheduler.problem import WORK, Machine, PartToBring, PeakRange
from scheduler.routes import site_hours

COMPONENTS = catalogue.COMPONENTS
_COMP_INDEX = catalogue.COMPONENT_INDEX


def catalogue_peaks() -> dict[str, list[PeakRange]]:
    """Region peak seasons from the catalogue (the DB's region_peaks may override)."""
    return {rid: [(p.start, p.end) for p in r.peaks] for rid, r in catalogue.REGIONS.items()}


def _in_range(md: tuple[int, int], rng: PeakRange) -> bool:
    start, end = rng
    if start <= end:
        return start <= md <= end
    return md >= start or md <= end   # a season across the new year


def in_region_peak(peaks: Sequence[PeakRange], day: date) -> bool:
    md = (day.month, day.day)
    return any(_in_range(md, r) for r in peaks)


def next_peak(peaks: Sequence[PeakRange], day: date) -> tuple[date, date] | None:
    """(start, end) of the first peak season starting after `day`."""
    found: list[tuple[date, date]] = []
    for year in (day.year, day.year + 1):
        for start, end in peaks:
            try:
                s = date(year, *start)
                e = date(year + (1 if end < start else 0), *end)
            except ValueError:
                continue
            if s > day:
                found.append((s, e))
    return min(found) if found else None


@dataclass
class StationValues:
    """Value arrays of one station's machines over the window's days."""

    value: NDArray[np.float64]      # [machines, days] CNY-equivalent
    avoided: NDArray[np.float64]    # [machines, days] expected avoided cost, CNY
    eligible: NDArray[np.bool_]     # [machines, days] visit allowed and worth its cost
    net: NDArray[np.float64]        # value - visit cost (where eligible, else 0)
    # The work each machine's visit does (a subset of problem.WORK, in its order) and
    # the hours it takes on site.
    work: list[tuple[str, ...]] = field(default_factory=list)
    site_h: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def take(self, keep: NDArray[np.int64]) -> StationValues:
        """The rows of the machines `keep`."""
        return StationValues(self.value[keep], self.avoided[keep], self.eligible[keep],
                             self.net[keep], [self.work[int(i)] for i in keep],
                             self.site_h[keep])


# What the planner did before visits chose their work and rules of thumb became costs:
# kept for `fleetcare backtest --ablation` (good_practice off), not for planning.
LEGACY_CUSTOMER_PEAK_FACTOR = 0.4
LEGACY_REGION_PEAK_FACTOR = 0.8


@lru_cache(maxsize=4096)
def _line_costs(product_line: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Repair cost (CNY) and downtime (h) of a breakdown per component for a line."""
    line = catalogue.PRODUCT_LINES.get(product_line)
    scale, dscale = (line.breakdown_cost_scale, line.downtime_scale) if line else (1.0, 1.0)
    repair = np.array([catalogue.COMPONENT_INFO[c].repair_cost_cny * scale for c in COMPONENTS])
    down = np.array([catalogue.COMPONENT_INFO[c].repair_downtime_h * dscale for c in COMPONENTS])
    return repair, down


def _wear_due(machine: Machine, day: date, lookahead: int) -> list[tuple[str, str]]:
    """Wear parts due by `day` + lookahead, with a short why."""
    out = []
    horizon = day + timedelta(days=lookahead)
    for w in machine.wear:
        if w.due_hours <= 0:
            out.append((w.part, f"overdue by {-w.due_hours:.0f} h"))
        elif w.due_date is not None and w.due_date <= horizon:
            out.append((w.part, f"due in {w.due_hours:.0f} h (about {w.due_date.isoformat()})"))
    return out


def campaign_peak(peaks: Sequence[PeakRange], day: date, policy: PlanningPolicy
                  ) -> tuple[date, date] | None:
    """The peak season whose pre-peak campaign `day` falls in (None: not in one)."""
    if policy.pre_peak_weeks <= 0:
        return None
    nxt = next_peak(peaks, day)
    if nxt is None or (nxt[0] - day).days > 7 * policy.pre_peak_weeks:
        return None
    return nxt


def wear_lookahead(m: Machine, day: date, policy: PlanningPolicy,
                   peaks: Sequence[PeakRange]) -> int:
    """Days ahead a wear part counts as due: to the peak's end during the campaign."""
    peak = campaign_peak(peaks, day, policy)
    if peak is None:
        return policy.due_lookahead_days
    return max(policy.due_lookahead_days, (peak[1] - day).days)


def service_overdue_h(m: Machine, window_start: date, window_end: date,
                      policy: PlanningPolicy) -> float | None:
    """Hours overdue (>= 0) if the hour-interval service falls due before `window_end`
    (exclusive), else None: the maker's hour rule, the same test as
    scheduler.baselines.hours_rule_machines.

    The service is due when the meter reaches the next multiple of the step above the
    meter at the last service; at the machine's recent hours per day that is a date.
    Without hours per day, due means the step is reached now.
    """
    if m.hours_since_service is None:
        return None
    if m.engine_hours is None:
        return 0.0 if m.hours_since_service >= policy.interval_service_due_h else None
    now = float(m.engine_hours)
    last = max(now - float(m.hours_since_service), 0.0)
    step = policy.interval_step_h
    due_at = (math.floor(last / step) + 1) * step
    if now >= due_at:
        return now - due_at
    if not m.hours_per_day:
        # No recent rate to date the due hour: due when most of the step has run.
        since = float(m.hours_since_service)
        return 0.0 if since >= policy.interval_service_due_h else None
    days_to_due = (due_at - now) / max(m.hours_per_day, 1e-6)
    due = window_start + timedelta(days=max(0, math.ceil(days_to_due)))
    return 0.0 if due < window_end else None


def service_value(m: Machine, window_start: date, window_end: date,
                  policy: PlanningPolicy) -> float:
    """What doing the due hour-interval service on this visit is worth (0: not due)."""
    if not policy.good_practice:
        return policy.interval_service_value if _interval_service_due(m, policy) else 0.0
    over = service_overdue_h(m, window_start, window_end, policy)
    if over is None:
        return 0.0
    return min(policy.interval_service_value + policy.overdue_service_value_per_h * over,
               max(policy.interval_service_value_cap, policy.interval_service_value))


def station_values(machines: Sequence[Machine], days: Sequence[date], policy: PlanningPolicy,
                   peaks: Mapping[str, Sequence[PeakRange]]) -> StationValues:
    """Value of visiting each machine on each day, vectorised over machines and days,
    and the work each visit does."""
    n, nd = len(machines), len(days)
    if n == 0 or nd == 0:
        z = np.zeros((n, nd))
        return StationValues(z, z.copy(), np.zeros((n, nd), bool), z.copy(),
                             [("inspect",)] * n, np.full(n, policy.visit_hours))
    start = days[0]
    window_end = days[-1] + timedelta(days=1)
    offs = np.array([(d - start).days for d in days], dtype=np.int64)           # [D]
    horizon = np.array([max(1, m.horizon_d) for m in machines], dtype=np.int64)  # [n]
    span = int(offs[-1] + horizon.max() + 1)
    all_days = [start + timedelta(days=k) for k in range(span)]

    # Peak share of [t, t + H]: region peak or the customer's own peak months.
    region_ids = sorted({m.region_id for m in machines})
    region_row = {r: i for i, r in enumerate(region_ids)}
    region_peak = np.array([[in_region_peak(peaks.get(r, ()), d) for d in all_days]
                            for r in region_ids], dtype=bool)                  # [R, span]
    month_of = np.array([d.month - 1 for d in all_days])
    cust_months = np.zeros((n, 12), dtype=bool)
    for i, m in enumerate(machines):
        for month in m.customer_peak_months:
            if 1 <= month <= 12:
                cust_months[i, month - 1] = True
    in_cust = cust_months[:, month_of]                                          # [n, span]
    in_region = region_peak[[region_row[m.region_id] for m in machines]]        # [n, span]
    busy = np.concatenate([np.zeros((n, 1)), np.cumsum(in_cust | in_region, axis=1)], axis=1)
    rows = np.arange(n)[:, None]
    peak_share = (busy[rows, offs[None, :] + horizon[:, None]] - busy[rows, offs[None, :]]) \
        / horizon[:, None]                                                       # [n, D]
    if policy.good_practice:
        # Rules of thumb as costs: a visit in the customer's busy month costs its hours.
        day_cost = np.where(in_cust[:, offs], policy.customer_peak_visit_cost,
                            np.where(in_region[:, offs], policy.region_peak_visit_cost, 0.0))
        day_factor = np.ones((n, nd))
    else:
        day_cost = np.zeros((n, nd))
        day_factor = np.where(in_cust[:, offs], LEGACY_CUSTOMER_PEAK_FACTOR,
                              np.where(in_region[:, offs], LEGACY_REGION_PEAK_FACTOR, 1.0))
    # Expected avoided cost per component.
    risk = np.zeros((n, len(COMPONENTS)))
    repair = np.zeros_like(risk)
    down = np.zeros_like(risk)
    weight = np.array([policy.key_account_downtime_weight if m.key_account else 1.0
                       for m in machines])
    for i, m in enumerate(machines):
        for comp, p in m.risks.items():
            j = _COMP_INDEX.get(comp)
            if j is not None:
                risk[i, j] = min(max(float(p), 0.0), 0.999)
        repair[i], down[i] = _line_costs(m.product_line)
    down_cost = down * policy.downtime_cost_per_h * weight[:, None]
    lam = -np.log1p(-risk) / horizon[:, None]                                   # [n, C]
    excess = np.maximum(risk - policy.risk_floor, 0.0)
    still = np.exp(-lam[:, :, None] * offs[None, None, :])                      # [n, C, D]
    w = policy.effectiveness * excess[:, :, None] * still
    peak_mult = 1.0 + (policy.peak_downtime_multiplier - 1.0) * peak_share     # [n, D]
    avoided = (np.einsum("ncd,nc->nd", w, repair)
               + peak_mult * np.einsum("ncd,nc->nd", w, down_cost))

    # The work of each machine's visit, then policy value and eligibility per day.
    value = np.zeros((n, nd))
    eligible = np.zeros((n, nd), dtype=bool)
    work: list[tuple[str, ...]] = []
    site_h = np.zeros(n)
    for i, m in enumerate(machines):
        cls = policy.class_policy(m.product_line)
        svc = service_value(m, start, window_end, policy)
        reasons_v = [policy_value(m, day, policy) for day in days]
        wear_any = any(_wear_due(m, day, wear_lookahead(m, day, policy,
                                                          peaks.get(m.region_id, ())))
                       for day in (*days[:1], *days[-1:]))
        if m.work is not None:
            acts = m.work
        elif not (policy.work_choice and policy.good_practice):
            # Every visit does the same work: inspect, worn parts, the service if due.
            acts = frozenset({"inspect", "replace_wear"} | ({"service"} if svc > 0 else set()))
        else:
            there_anyway = max(reasons_v) > 0
            inspect = (float(avoided[i].max()) >= policy.inspect_min_avoided_cny
                       or there_anyway or not (svc > 0 or wear_any))
            acts = frozenset(({"inspect"} if inspect else set())
                             | ({"service"} if svc > 0 else set())
                             | ({"replace_wear"} if wear_any else set()))
        work.append(tuple(a for a in WORK if a in acts))
        site_h[i] = site_hours(acts, policy)
        gain_inspect = 1.0 if "inspect" in acts else 0.0
        for k, day in enumerate(days):
            if day < m.delivery_date:
                continue
            if m.earliest is not None and day < m.earliest:
                continue
            if m.latest is not None and day > m.latest:
                continue
            if m.priority is not None:
                value[i, k] = m.priority
                eligible[i, k] = True
                continue
            since = None if m.last_visit is None else (day - m.last_visit).days
            recent = since is not None and since < cls.min_days_between_visits
            if not policy.good_practice:
                if not cls.preventive or recent:
                    continue
                v = cls.multiplier * day_factor[i, k] * (avoided[i, k] + reasons_v[k] + svc)
                value[i, k] = v
                eligible[i, k] = True
                continue
            if cls.preventive:
                wear_v = policy.due_service_value if wear_any else 0.0
                v = cls.multiplier * (gain_inspect * avoided[i, k] + reasons_v[k] + svc + wear_v)
            else:
                v = svc   # basic: only the due interval service
            if recent and since is not None and cls.min_days_between_visits > 0:
                v -= policy.revisit_cost_cny * (1 - since / cls.min_days_between_visits)
            value[i, k] = v - day_cost[i, k]
            eligible[i, k] = v > 0
    net = value - policy.visit_cost_cny
    eligible &= net > 0
    net = np.where(eligible, net, 0.0)
    return StationValues(value, avoided, eligible, net, work, site_h)


def policy_value(m: Machine, day: date, policy: PlanningPolicy) -> float:
    """The CNY-equivalent a visit on `day` is worth for policy reasons alone (the
    interval service and wear parts are valued with the visit's work)."""
    v = 0.0
    if m.warranty_end is not None and day <= m.warranty_end:
        v += policy.warranty_value
        if (m.warranty_end - day).days <= policy.warranty_end_days:
            v += policy.warranty_end_value
    if m.key_account:
        v += policy.key_account_value
    if _end_of_life(m, day, policy):
        v += policy.end_of_life_value
    if _first_month(m, day, policy):
        v += policy.first_month_value
    if not policy.good_practice and _wear_due(m, day, policy.due_lookahead_days):
        v += policy.due_service_value
    return v


def _interval_service_due(m: Machine, policy: PlanningPolicy) -> bool:
    return (m.hours_since_service is not None
            and m.hours_since_service >= policy.interval_service_due_h)


def _end_of_life(m: Machine, day: date, policy: PlanningPolicy) -> bool:
    age_years = (day - m.delivery_date).days / 365.25
    return age_years >= policy.end_of_life_years or (
        m.engine_hours is not None and m.engine_hours >= policy.end_of_life_hours)


def _first_month(m: Machine, day: date, policy: PlanningPolicy) -> bool:
    not_yet = m.last_visit is None or m.last_visit < m.delivery_date
    return not_yet and 0 <= (day - m.delivery_date).days <= policy.first_month_days


def visit_reasons(m: Machine, day: date, avoided_by_component: Mapping[str, float],
                  policy: PlanningPolicy, peaks: Sequence[PeakRange],
                  work: Sequence[str] = ("inspect", "service", "replace_wear"),
                  window_end: date | None = None) -> tuple[str, ...]:
    """Why this visit is in the plan, most important first, in a planner's words."""
    out: list[str] = []
    window_end = window_end or day + timedelta(days=1)
    if m.priority is not None:
        out.append(f"policy priority {m.priority:,.0f}")
    ranked = sorted(avoided_by_component.items(), key=lambda kv: -kv[1])
    for comp, cny in ranked[:3]:
        if cny < 100:
            break
        out.append(f"{comp.replace('_', ' ')}: failure risk {m.risks.get(comp, 0):.0%} "
                   f"within {m.horizon_d} d (expected avoided {cny:,.0f} CNY)")
        out.extend(m.risk_reasons.get(comp, ())[:2])
    if m.key_account:
        out.append("key account")
    if m.warranty_end is not None and day <= m.warranty_end:
        left = (m.warranty_end - day).days
        out.append(f"warranty ends in {left} d: last visit under warranty"
                   if left <= policy.warranty_end_days
                   else f"under warranty until {m.warranty_end.isoformat()}")
    if _end_of_life(m, day, policy):
        age = (day - m.delivery_date).days / 365.25
        hours = f", {m.engine_hours:,.0f} h" if m.engine_hours is not None else ""
        out.append(f"near end of life ({age:.1f} years{hours}): replacement sale likely")
    if _first_month(m, day, policy):
        out.append(f"first month after delivery ({m.delivery_date.isoformat()})")
    due = _wear_due(m, day, wear_lookahead(m, day, policy, peaks))
    if due and "replace_wear" in work:
        out.append("wear parts due: " + "; ".join(f"{p.replace('_', ' ')} {why}"
                                                  for p, why in due))
    if "service" in work and m.hours_since_service is not None:
        out.append(f"interval service due: {m.hours_since_service:,.0f} h since the last one")
    campaign = campaign_peak(peaks, day, policy)
    if campaign is not None:
        out.append(f"pre-peak campaign: the peak season starts {campaign[0].isoformat()}")
    nxt = next_peak(peaks, day)
    if nxt and (nxt[0] - day).days <= m.horizon_d and not in_region_peak(peaks, day):
        out.append(f"before the peak season from {nxt[0].isoformat()}")
    if day.month in m.customer_peak_months:
        out.append("in the customer's busy month (no better day in this window)")
    # Scoring often names the same feature for several components: say it once.
    return tuple(dict.fromkeys(out))


def avoided_by_component(m: Machine, day_offset: int, policy: PlanningPolicy) -> dict[str, float]:
    """Expected avoided cost per component for a visit `day_offset` days into the window
    (without the peak multiplier; used to rank reasons)."""
    repair, down = _line_costs(m.product_line)
    weight = policy.key_account_downtime_weight if m.key_account else 1.0
    out = {}
    for comp, p in m.risks.items():
        j = _COMP_INDEX.get(comp)
        if j is None:
            continue
        p = min(max(float(p), 0.0), 0.999)
        lam = -np.log1p(-p) / max(1, m.horizon_d)
        w = policy.effectiveness * max(p - policy.risk_floor, 0.0) * np.exp(-lam * day_offset)
        out[comp] = float(w * (repair[j] + down[j] * policy.downtime_cost_per_h * weight))
    return out


def parts_to_bring(m: Machine, day: date, policy: PlanningPolicy,
                   work: Sequence[str] = ("inspect", "service", "replace_wear"),
                   peaks: Sequence[PeakRange] = ()) -> tuple[PartToBring, ...]:
    """Wear parts due on this machine, the interval service's parts, and repair parts
    for its high-risk components, as the visit's work needs them."""
    out: list[PartToBring] = []
    if "replace_wear" in work:
        for part, why in _wear_due(m, day, wear_lookahead(m, day, policy, peaks)):
            info = catalogue.PARTS.get(part)
            out.append(PartToBring(part, info.qty if info else 1, why))
    if "service" in work and m.engine_hours is not None:
        have = {p.part for p in out}
        for part, qty in catalogue.interval_due(max(m.engine_hours, 250.0)).parts:
            if part not in have:
                out.append(PartToBring(part, qty, "interval service"))
    if "inspect" not in work:
        return tuple(out)
    for comp, p in sorted(m.risks.items(), key=lambda kv: -kv[1]):
        if p < policy.carry_repair_risk:
            continue
        for part in catalogue.parts_for_component(comp):
            info = catalogue.PARTS[part]
            if info.kind == "repair" and info.price_cny <= policy.carry_max_price:
                out.append(PartToBring(part, 1, f"{comp.replace('_', ' ')} risk {p:.0%}"))
    return tuple(out)
