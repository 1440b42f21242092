"""Results of a branch, from the simulator's records: the one place truth is read.

A backtest judges policies by what really happened, so this module (and only this one,
with backtest/oracle.py; tests/test_backtest_isolation.py checks it) reads the
simulator's truth: failures as they occurred (not when a work order reached the
database), and which visits were the policy's. Policies never see any of it.

Money (CNY): a breakdown costs its repair work order plus its downtime at the planning
policy's cost per hour of a stopped machine; a 保健 visit costs what its work order
bills (labour, travel, parts, repairs of what it found); customer-booked services and
on-condition part changes are counted too (they happen in every branch and shift a
little with the policy); missing parts cost an express shipment (stock.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backtest.stock import Warehouse
from fleetcare import catalogue as cat
from gateways.fleet import Fleet
from gateways.simulator import DayRecords, Simulator, VisitResult

VisitKey = tuple[str, date]          # (machine_id, day) of a visit the policy booked


@dataclass
class Breakdown:
    machine_id: str
    day: date
    components: list[str]
    downtime_h: float
    peak: bool
    cost_cny: float | None = None    # the repair work order, once it is known


@dataclass
class WeekLine:
    """One week of a branch, for the report's time series."""

    week: int
    breakdowns: int = 0
    peak_breakdowns: int = 0
    visits: int = 0
    downtime_h: float = 0.0


@dataclass
class Ledger:
    """Everything a branch did and suffered, accumulated day by day."""

    fleet: Fleet
    downtime_cost_per_h: float
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)   # by work order
    visits: list[VisitResult] = field(default_factory=list)
    other_service_cost: float = 0.0
    other_services: int = 0
    other_downtime_h: float = 0.0
    weeks: list[WeekLine] = field(default_factory=list)
    tech_days_used: int = 0
    tech_days_available: int = 0
    visits_planned: int = 0
    visits_dispatched: int = 0
    lodging_cost: float = 0.0
    _region: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._region = [m.region_id for m in self.fleet.machines]

    def start_week(self, week: int, tech_days_available: int, tech_days_used: int,
                   visits_planned: int) -> None:
        self.weeks.append(WeekLine(week))
        self.tech_days_available += tech_days_available
        self.tech_days_used += tech_days_used
        self.visits_planned += visits_planned

    def add_lodging(self, cost_cny: float) -> None:
        """Nights away on multi-day trips (their work orders bill travel, not hotels)."""
        self.lodging_cost += cost_cny

    def add_dispatch(self, tech_days: int, visits: int, lodging_cny: float) -> None:
        """Alert visits dispatched between weekly plans."""
        self.tech_days_used += tech_days
        self.visits_planned += visits
        self.visits_dispatched += visits
        self.lodging_cost += lodging_cny

    def add_day(self, rec: DayRecords, booked: Counter[VisitKey], stock: Warehouse) -> None:
        """Book one simulated day: failures, visits and work orders (parts off the shelf)."""
        line = self.weeks[-1]
        for f in rec.failures:
            wo = f["work_order"]
            if wo in self.breakdowns:
                self.breakdowns[wo].components.append(f["component"])
                continue
            i = int(f["machine"])
            peak = cat.in_peak(self._region[i], rec.day)
            self.breakdowns[wo] = Breakdown(self.fleet.machines[i].machine_id, rec.day,
                                            [f["component"]], float(f["downtime_h"]), peak)
            line.breakdowns += 1
            line.peak_breakdowns += int(peak)
            line.downtime_h += float(f["downtime_h"])
        # The simulator emits a day's visits first, in order, then the day's other orders.
        ours = [False] * len(rec.visits)
        for k, v in enumerate(rec.visits):
            key = (v.machine_id, v.day)
            if booked[key] > 0:
                booked[key] -= 1
                ours[k] = True
                self.visits.append(v)
                line.visits += 1
                line.downtime_h += v.downtime_h
        for k, order in enumerate(rec.service):
            station = order.get("station_id")
            if k < len(rec.visits):
                v = rec.visits[k]
                if self.fleet.index_of(v.machine_id) != order["machine"]:
                    raise AssertionError("simulator changed the order of its day's records")
                if ours[k]:
                    stock.issue(station, order["parts"], "visit")
                    continue
            if order["kind"] == "breakdown":
                stock.issue(station, order["parts"], "breakdown")
                bd = self.breakdowns.get(order["work_order"])
                if bd is not None:
                    bd.cost_cny = float(order["cost_cny"])
                continue
            stock.issue(station, order["parts"], "service")
            self.other_services += 1
            self.other_service_cost += float(order["cost_cny"])
            self.other_downtime_h += float(order["downtime_h"])

    def close(self, sim: Simulator) -> None:
        """Cost the season's last breakdowns whose technician arrives after it ended."""
        for orders in sim.state.pending_orders.values():
            for order in orders:
                bd = self.breakdowns.get(order["work_order"])
                if bd is not None and bd.cost_cny is None:
                    bd.cost_cny = float(order["cost_cny"])

    # -- results ---------------------------------------------------------------------

    def results(self, stock: Warehouse) -> dict[str, Any]:
        bds = list(self.breakdowns.values())
        repair = sum(b.cost_cny or 0.0 for b in bds)
        bd_down = sum(b.downtime_h for b in bds)
        visit_cost = sum(v.cost_cny for v in self.visits)
        visit_parts = sum(cat.PARTS[p].price_cny * q for v in self.visits for p, q in v.parts
                          if p in cat.PARTS)
        visit_down = sum(v.downtime_h for v in self.visits)
        fill = stock.fill_summary()
        breakdown_cost = repair + bd_down * self.downtime_cost_per_h
        express = float(fill["express_cost"] or 0.0)
        service_cost = visit_cost + self.lodging_cost + self.other_service_cost + express
        by_component: Counter[str] = Counter(c for b in bds for c in b.components)
        found: Counter[str] = Counter(c for v in self.visits for c in v.found)
        return {
            "breakdowns": len(bds),
            "peak_breakdowns": sum(b.peak for b in bds),
            "component_failures": sum(by_component.values()),
            "downtime_h": round(bd_down + visit_down, 1),
            "breakdown_downtime_h": round(bd_down, 1),
            "visit_downtime_h": round(visit_down, 1),
            "visits": len(self.visits),
            "visits_planned": self.visits_planned,
            "visits_dispatched": self.visits_dispatched,
            "lodging_cost": round(self.lodging_cost, 2),
            "defects_found": sum(found.values()),
            "service_cost": round(service_cost, 2),
            "visit_cost": round(visit_cost, 2),
            "visit_parts_cost": round(visit_parts, 2),
            "visit_labour_travel_cost": round(visit_cost - visit_parts, 2),
            "other_service_cost": round(self.other_service_cost, 2),
            "express_parts_cost": round(express, 2),
            "breakdown_cost": round(breakdown_cost, 2),
            "breakdown_repair_cost": round(repair, 2),
            "breakdown_downtime_cost": round(bd_down * self.downtime_cost_per_h, 2),
            "total_cost": round(breakdown_cost + service_cost, 2),
            "fill_rate": fill["fill_rate"],
            "fill": fill,
            "mean_stock_value": round(sum(stock.stock_value_weeks)
                                      / max(len(stock.stock_value_weeks), 1), 2),
            "parts_ordered_value": round(stock.ordered_value, 2),
            "tech_days_used": self.tech_days_used,
            "tech_days_available": self.tech_days_available,
            "technician_utilisation": (round(self.tech_days_used / self.tech_days_available, 4)
                                       if self.tech_days_available else None),
            "breakdowns_by_component": dict(sorted(by_component.items())),
            "defects_found_by_component": dict(sorted(found.items())),
            "weekly": [vars(w) for w in self.weeks],
        }


def peak_share_by_week(fleet: Fleet, start: date, weeks: int) -> list[float]:
    """Share of machine-days in a region peak, per week (for the report's shading)."""
    from datetime import timedelta

    regions = Counter(m.region_id for m in fleet.machines)
    n = max(sum(regions.values()), 1)
    out = []
    for w in range(weeks):
        days = [start + timedelta(days=7 * w + k) for k in range(7)]
        inside: defaultdict[str, int] = defaultdict(int)
        for r in regions:
            inside[r] = sum(cat.in_peak(r, d) for d in days)
        out.append(sum(regions[r] * inside[r] for r in regions) / (7 * n))
    return out
