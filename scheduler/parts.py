"""The parts pre-stock planner: what each station must hold before its region's peak.

Per station and wear part, demand from today to the end of the region's coming peak
season is a random count built from three sources:
- wear forecasts: each machine's part is replaced once its remaining hours run out
  (normal on hours, spread from the forecast's pessimistic P10), again after another
  nominal life if the season is long enough;
- planned 保健 visits: parts a visit will replace are certain demand;
- breakdown risk: each component's expected breakdowns over the period use its wear
  parts with probability `breakdown_part_use` (Poisson).
The distribution is convolved exactly (machines are independent); the stock to hold is
its quantile at the service level of the part's A/B/C tier, the order the shortfall
against stock on hand and on order, and the order-by date the day stock is needed minus
the lead time (stretched for outside suppliers) and receiving time. "Same as last
season" (last year's usage in the same season) is reported next to every line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fleetcare import catalogue
from scheduler.policy import PlanningPolicy, load_policy
from scheduler.problem import Machine, PeakRange, Station, Visit
from scheduler.value import catalogue_peaks, next_peak

StockKey = tuple[str, str]   # (station_id, part)

_Z10 = 1.2815515655446004    # P10 is 1.28 standard deviations below the mean


@dataclass(frozen=True)
class PartsLine:
    """One station and part of a pre-stock plan."""

    station_id: str
    part: str
    tier: str
    season: str
    season_start: date
    season_end: date
    demand_mean: float
    demand_sd: float
    service_level: float
    target_stock: int
    on_hand: int
    on_order: int
    order_qty: int
    needed_by: date
    lead_time_days: int          # effective: supplier lead time (stretched) + receiving
    order_by: date
    late: bool                   # order_by is already past: expedite
    unit_price: float
    order_value: float
    naive_qty: int | None        # last season's usage (None: no history)
    naive_fill: float | None     # P(demand <= naive_qty) under this forecast

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("season_start", "season_end", "needed_by", "order_by"):
            out[key] = out[key].isoformat()
        return out


@dataclass
class PartsPlan:
    today: date
    lines: list[PartsLine]
    stations_skipped: list[str] = field(default_factory=list)   # peak not within look-ahead

    def summary(self) -> dict[str, Any]:
        by_station: dict[str, float] = defaultdict(float)
        for ln in self.lines:
            by_station[ln.station_id] += ln.order_value
        naive = [ln for ln in self.lines if ln.naive_qty is not None]
        return {
            "today": self.today.isoformat(),
            "lines": len(self.lines),
            "stations": len({ln.station_id for ln in self.lines}),
            "order_lines": sum(1 for ln in self.lines if ln.order_qty > 0),
            "order_value_cny": round(sum(ln.order_value for ln in self.lines), 2),
            "late_lines": sum(1 for ln in self.lines if ln.late and ln.order_qty > 0),
            "target_value_cny": round(sum(ln.target_stock * ln.unit_price for ln in self.lines), 2),
            "naive_target_value_cny": round(sum((ln.naive_qty or 0) * ln.unit_price
                                                for ln in naive), 2),
            "naive_mean_fill": round(float(np.mean([ln.naive_fill for ln in naive])), 4)
            if naive else None,
            "planned_mean_fill": round(float(np.mean([ln.service_level for ln in self.lines])), 4)
            if self.lines else None,
            "order_value_by_station": {k: round(v, 2) for k, v in sorted(by_station.items())},
        }


def effective_lead_days(part: catalogue.Part, policy: PlanningPolicy) -> int:
    """Supplier lead time, stretched for outside suppliers, plus receiving days."""
    lead = part.lead_time_days * (policy.outside_lead_factor if part.outside_supplier else 1.0)
    return int(math.ceil(lead)) + policy.receiving_days


def _normal_cdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import ndtr

    return np.asarray(ndtr(x), dtype=np.float64)


def _hours_rate(m: Machine, today: date) -> float:
    """Operating hours per calendar day: from the wear forecasts, else the line's norm."""
    rates = [w.due_hours / (w.due_date - today).days for w in m.wear
             if w.due_date is not None and w.due_hours > 0 and (w.due_date - today).days > 0]
    if rates:
        return float(np.median(rates))
    line = catalogue.PRODUCT_LINES.get(m.product_line)
    return (line.hours_per_day if line else 7.0) * 0.6   # ~ 6 working days of 7, some idle


def replacement_pmf(due_hours: NDArray[np.float64] | float, p10: NDArray[np.float64] | float,
                    life: float, hours_ahead: NDArray[np.float64] | float, max_k: int = 4
                    ) -> NDArray[np.float64]:
    """P(K = k) replacements of a part within `hours_ahead` operating hours, k = 0..max_k.

    Vectorised over machines (rows). `p10` NaN means no P10 given: the spread is then a
    fifth of the nominal life, the usual scatter of wear-part lives.
    """
    due = np.atleast_1d(np.asarray(due_hours, dtype=float))
    lo = np.atleast_1d(np.asarray(p10, dtype=float)) * np.ones_like(due)
    ahead = np.atleast_1d(np.asarray(hours_ahead, dtype=float)) * np.ones_like(due)
    sd = np.where(np.isfinite(lo) & (lo < due), (due - lo) / _Z10, 0.2 * life)
    sd = np.maximum(sd, 1.0)
    k = np.arange(1, max_k + 1)[None, :]
    # The k-th replacement comes after due + (k-1) lives; each life adds its own spread.
    mean = due[:, None] + (k - 1) * life
    spread = np.sqrt(sd[:, None] ** 2 + (k - 1) * (0.2 * life) ** 2)
    at_least = _normal_cdf((ahead[:, None] - mean) / spread)          # P(K >= k)
    pmf = np.empty((len(due), max_k + 1))
    pmf[:, 0] = 1.0 - at_least[:, 0]
    pmf[:, 1:-1] = at_least[:, :-1] - at_least[:, 1:]
    pmf[:, -1] = at_least[:, -1]
    return np.clip(pmf, 0.0, 1.0)


# Above this expected count the total is a sum of hundreds of small independent counts:
# its normal approximation is within a piece of the exact quantile, and far cheaper.
_EXACT_MEAN_MAX = 40.0


def demand_quantile(pmfs: NDArray[np.float64], qty: int, poisson_mean: float,
                    level: float, naive: int | None = None
                    ) -> tuple[float, float, int, float | None]:
    """Mean, sd and `level` quantile (pieces) of the season's demand, and P(D <= naive).

    `pmfs` holds one replacement-count pmf per machine (rows); each replacement fits
    `qty` pieces; breakdowns add a Poisson count of pieces.
    """
    from scipy.stats import norm, poisson

    k = np.arange(pmfs.shape[1])
    mean_k = (pmfs * k).sum(axis=1)
    var_k = (pmfs * k ** 2).sum(axis=1) - mean_k ** 2
    mean = float(qty * mean_k.sum() + poisson_mean)
    var = float(qty ** 2 * var_k.sum() + poisson_mean)
    sd = math.sqrt(max(var, 0.0))
    if mean > _EXACT_MEAN_MAX:
        target = int(math.ceil(mean + float(norm.ppf(level)) * sd - 0.5))
        fill = None if naive is None else float(norm.cdf((naive + 0.5 - mean) / max(sd, 1e-9)))
        return mean, sd, max(target, 0), fill
    total = np.array([1.0])
    for row in pmfs[pmfs[:, 0] < 1 - 1e-9]:
        total = np.convolve(total, _in_pieces(row, qty))
    if poisson_mean > 1e-9:
        upper = int(poisson.ppf(1 - 1e-9, poisson_mean)) + 1
        total = np.convolve(total, poisson.pmf(np.arange(upper + 1), poisson_mean))
    cdf = np.cumsum(total / total.sum())
    target = int(np.searchsorted(cdf, level - 1e-12))
    fill = None if naive is None else float(cdf[min(naive, len(cdf) - 1)])
    return mean, sd, target, fill


def plan_parts(stations: Sequence[Station], machines: Sequence[Machine], today: date, *,
               policy: PlanningPolicy | None = None,
               peaks: Mapping[str, Sequence[PeakRange]] | None = None,
               stock: Mapping[StockKey, tuple[int, int]] | None = None,
               visits: Sequence[Visit] = (),
               history: Mapping[StockKey, int] | None = None,
               lookahead_days: int | None = None,
               parts: Sequence[str] = catalogue.WEAR_PARTS) -> PartsPlan:
    """Pre-stock plan per station and wear part for each station's coming peak season.

    `stock` maps (station, part) to (on hand, on order); `visits` are planned visits
    whose parts are certain demand; `history` maps (station, part) to last season's
    usage for the naive comparison. With `lookahead_days`, only stations whose region's
    peak starts within that many days are planned (the monthly job's rule).
    """
    policy = policy or load_policy()
    peaks = peaks if peaks is not None else catalogue_peaks()
    stock = stock or {}
    history = history or {}
    by_station: dict[str, list[Machine]] = defaultdict(list)
    for m in machines:
        by_station[m.station_id].append(m)
    visit_parts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)   # (station, part)
    first_use: dict[StockKey, date] = {}
    for v in visits:
        for p in v.parts:
            visit_parts[(v.station_id, p.part)][v.machine_id] = p.qty
            key = (v.station_id, p.part)
            first_use[key] = min(first_use.get(key, v.day), v.day)

    lines: list[PartsLine] = []
    skipped: list[str] = []
    for st in stations:
        region_peaks = peaks.get(st.region_id, ())
        season = next_peak(region_peaks, today)
        if season is None:
            skipped.append(st.station_id)
            continue
        start, end = season
        if lookahead_days is not None and (start - today).days > lookahead_days:
            skipped.append(st.station_id)
            continue
        name = _season_name(st.region_id, start)
        days_ahead = (end - today).days + 1
        fleet = by_station.get(st.station_id, [])
        rates = {m.machine_id: _hours_rate(m, today) for m in fleet}
        breakdowns = _expected_breakdowns(fleet, days_ahead)
        for part_id in parts:
            info = catalogue.PARTS[part_id]
            life = info.life_hours or 1000.0
            planned = visit_parts.get((st.station_id, part_id), {})
            rows = [(m, w) for m in fleet for w in m.wear if w.part == part_id]
            pmfs = np.zeros((0, 5))
            if rows:
                ahead = np.array([rates[m.machine_id] * days_ahead for m, _ in rows])
                at_visit = np.array([m.machine_id in planned for m, _ in rows])
                # A part replaced at a planned visit is certain demand, and its next
                # replacement runs from a fresh part: one more than a fresh part's count.
                due = np.where(at_visit, life, [w.due_hours for _, w in rows])
                p10 = np.array([np.nan if v or w.due_hours_p10 is None else w.due_hours_p10
                                for (_, w), v in zip(rows, at_visit, strict=True)])
                pmfs = replacement_pmf(due, p10, life, ahead)
                if at_visit.any():
                    shifted = np.zeros_like(pmfs)
                    shifted[:, 1:] = pmfs[:, :-1]
                    shifted[:, -1] += pmfs[:, -1]
                    pmfs = np.where(at_visit[:, None], shifted, pmfs)
            comp = info.component
            poisson_mean = (breakdowns.get(comp, 0.0) * policy.breakdown_part_use * info.qty
                            if comp is not None else 0.0)
            level = policy.service_levels[info.tier]
            naive = history.get((st.station_id, part_id))
            mean, sd, target, naive_fill = demand_quantile(pmfs, info.qty, poisson_mean, level,
                                                           naive)
            on_hand, on_order = stock.get((st.station_id, part_id), (0, 0))
            if mean < 1e-3 and on_hand == 0 and not naive:
                continue   # nobody here uses this part
            order = max(0, target - on_hand - on_order)
            needed_by = min(start, first_use.get((st.station_id, part_id), start))
            lead = effective_lead_days(info, policy)
            order_by = needed_by - timedelta(days=lead)
            lines.append(PartsLine(
                st.station_id, part_id, info.tier, name, start, end, round(mean, 3),
                round(sd, 3), level, target, on_hand, on_order, order, needed_by, lead,
                order_by, order > 0 and order_by < today, info.price_cny,
                order * info.price_cny, naive,
                None if naive_fill is None else round(naive_fill, 4)))
    return PartsPlan(today, lines, skipped)


def _in_pieces(pmf: NDArray[np.float64], qty: int) -> NDArray[np.float64]:
    """A replacement-count pmf as a pieces pmf (each replacement fits `qty` pieces)."""
    if qty == 1:
        return pmf
    out = np.zeros((len(pmf) - 1) * qty + 1)
    out[::qty] = pmf
    return out


def _expected_breakdowns(fleet: Sequence[Machine], days: int) -> dict[str, float]:
    """Expected breakdowns per component over `days`, from each machine's risk score."""
    out: dict[str, float] = defaultdict(float)
    for m in fleet:
        for comp, p in m.risks.items():
            p = min(max(float(p), 0.0), 0.999)
            lam = -math.log1p(-p) / max(1, m.horizon_d)
            out[comp] += 1.0 - math.exp(-lam * days)
    return out


def _season_name(region_id: str, start: date) -> str:
    region = catalogue.REGIONS.get(region_id)
    if region is not None:
        for peak in region.peaks:
            if peak.start == (start.month, start.day):
                return peak.name
    return f"peak from {start.isoformat()}"


__all__ = ["PartsLine", "PartsPlan", "effective_lead_days", "plan_parts",
           "replacement_pmf"]
