"""The stations' parts shelves: stock on hand, orders under way, and who got served.

This is the maker's own warehouse record, not the simulator's truth: it sees the work
orders the service app reports (the same ones that go to the database) and the orders
the policy places. Every work order's parts come off its station's shelf if they are
all there ("served from stock"); a missing line is shipped express from the central
warehouse ("waiting for shipment"), which costs an express charge. The simulator's own
repair timing is not changed by it: the shelf is measured, not simulated physics.

Replenishment, reviewed weekly:
- today's rule (every policy): order up to the recent usage rate times lead time plus a
  week (what stations do now: "as much as we used lately");
- the predictive policy also places the parts planner's pre-stock orders before each
  region's peak season (scheduler.parts.plan_parts).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from fleetcare import catalogue as cat

StockKey = tuple[str, str]          # (station_id, part)
# Weeks of usage today's rule looks back on.
USAGE_WEEKS = 8
# Weeks of usage kept beyond the lead time: the weekly review plus a week's buffer.
COVER_WEEKS = 2.0
# Express shipment of a missing part: courier and handling, plus a share of its price.
EXPRESS_FIXED_CNY = 300.0
EXPRESS_SHARE = 0.10


def lead_days(part: str) -> int:
    """Days from order to the station's shelf (the catalogue's supplier lead time)."""
    return int(cat.PARTS[part].lead_time_days)


@dataclass
class FillCounts:
    """Work orders and part lines served from stock vs waiting for a shipment."""

    orders: int = 0
    orders_served: int = 0
    lines: int = 0
    lines_served: int = 0
    express_cost: float = 0.0

    def add(self, served_lines: int, lines: int, express: float) -> None:
        self.orders += 1
        self.orders_served += int(served_lines == lines)
        self.lines += lines
        self.lines_served += served_lines
        self.express_cost += express

    @property
    def rate(self) -> float | None:
        return self.orders_served / self.orders if self.orders else None


@dataclass
class Warehouse:
    """Stock per (station, part), orders in the pipeline and the usage history."""

    on_hand: dict[StockKey, int] = field(default_factory=lambda: defaultdict(int))
    pipeline: list[tuple[date, StockKey, int]] = field(default_factory=list)
    usage: dict[StockKey, deque[int]] = field(default_factory=dict)
    week_usage: dict[StockKey, int] = field(default_factory=lambda: defaultdict(int))
    fill: dict[str, FillCounts] = field(default_factory=lambda: defaultdict(FillCounts))
    ordered_value: float = 0.0
    stock_value_weeks: list[float] = field(default_factory=list)

    # -- demand ----------------------------------------------------------------------

    def issue(self, station: str | None, parts: Iterable[Mapping[str, object]],
              kind: str) -> None:
        """Serve one work order's parts from its station's shelf (or by express)."""
        lines = served = 0
        express = 0.0
        for line in parts:
            part, qty = str(line["part"]), int(line["qty"])  # type: ignore[call-overload]
            if part not in cat.PARTS or qty <= 0:
                continue
            lines += 1
            key = (station or "", part)
            self.week_usage[key] += qty
            if self.on_hand.get(key, 0) >= qty:
                self.on_hand[key] -= qty
                served += 1
            else:
                express += EXPRESS_FIXED_CNY + EXPRESS_SHARE * cat.PARTS[part].price_cny * qty
        if lines:
            self.fill[kind].add(served, lines, express)

    def close_week(self) -> None:
        """Move this week's usage into the history today's rule reads."""
        keys = set(self.usage) | set(self.week_usage)
        for key in keys:
            hist = self.usage.setdefault(key, deque(maxlen=USAGE_WEEKS))
            hist.append(self.week_usage.get(key, 0))
        self.week_usage = defaultdict(int)
        self.stock_value_weeks.append(self.stock_value())

    # -- supply ----------------------------------------------------------------------

    def receive(self, today: date) -> None:
        """Put the orders that have arrived by `today` on the shelves."""
        keep = []
        for when, key, qty in self.pipeline:
            if when <= today:
                self.on_hand[key] += qty
            else:
                keep.append((when, key, qty))
        self.pipeline = keep

    def on_order(self, key: StockKey) -> int:
        return sum(q for _, k, q in self.pipeline if k == key)

    def order(self, today: date, quantities: Mapping[StockKey, int]) -> None:
        for key, qty in quantities.items():
            if qty > 0:
                self.pipeline.append((today + timedelta(days=lead_days(key[1])), key, qty))
                self.ordered_value += qty * cat.PARTS[key[1]].price_cny

    def usage_targets(self) -> dict[StockKey, int]:
        """Today's rule: recent weekly usage x (lead time in weeks + COVER_WEEKS)."""
        out = {}
        for key, hist in self.usage.items():
            rate = sum(hist) / max(len(hist), 1)
            if rate > 0:
                out[key] = math.ceil(rate * (lead_days(key[1]) / 7.0 + COVER_WEEKS))
        return out

    def top_up(self, targets: Mapping[StockKey, int]) -> dict[StockKey, int]:
        """Quantities that bring stock on hand + on order up to `targets`."""
        out = {}
        for key, target in targets.items():
            short = target - self.on_hand.get(key, 0) - self.on_order(key)
            if short > 0:
                out[key] = short
        return out

    def stock_value(self) -> float:
        return float(sum(q * cat.PARTS[p].price_cny for (_, p), q in self.on_hand.items()
                         if q > 0))

    def snapshot_stock(self) -> dict[StockKey, tuple[int, int]]:
        """(on hand, on order) per key: what the parts planner is told."""
        keys = set(self.on_hand) | {k for _, k, _ in self.pipeline}
        return {k: (self.on_hand.get(k, 0), self.on_order(k)) for k in keys}

    def fill_summary(self) -> dict[str, float | int | None]:
        total = FillCounts()
        for counts in self.fill.values():
            total.orders += counts.orders
            total.orders_served += counts.orders_served
            total.lines += counts.lines
            total.lines_served += counts.lines_served
            total.express_cost += counts.express_cost
        out: dict[str, float | int | None] = {
            "fill_rate": total.rate,
            "line_fill_rate": total.lines_served / total.lines if total.lines else None,
            "express_cost": round(total.express_cost, 2),
        }
        for kind, counts in sorted(self.fill.items()):
            out[f"fill_rate_{kind}"] = counts.rate
        return out
