"""The planning step of `fleetcare demo`: propose both plans and summarise them for print."""

from __future__ import annotations

from datetime import date
from typing import Any

from fleetcare.db import connect
from scheduler import store
from scheduler.service import propose_parts_plan, propose_visit_plan


def plan_for_demo(database_url: str, today: date | None = None, *, weeks: int = 4,
                  workers: int = 1) -> dict[str, Any]:
    """Propose a visit plan and a parts plan as of `today` (default: the latest scores).

    Returns the two plan summaries plus per-station figures: visits planned, expected
    avoided cost, and value of parts to order.
    """
    with connect(database_url) as conn:
        scored = store.latest_score_date(conn)
    day = today or scored or date.today()
    visits = propose_visit_plan(database_url, window_start=day, weeks=weeks,
                                created_by="demo", workers=workers)
    parts = propose_parts_plan(database_url, today=day, created_by="demo")
    per_station: dict[str, dict[str, float]] = {}
    with connect(database_url) as conn:
        for row in store.read_visits(conn, visits["plan_id"]):
            acc = per_station.setdefault(row["station_id"], {"visits": 0, "avoided_cny": 0.0,
                                                             "parts_order_cny": 0.0})
            acc["visits"] += 1
            acc["avoided_cny"] += row["avoided_cny"]
        if parts["plan_id"] is not None:
            for row in store.read_parts(conn, parts["plan_id"]):
                acc = per_station.setdefault(row["station_id"], {
                    "visits": 0, "avoided_cny": 0.0, "parts_order_cny": 0.0})
                acc["parts_order_cny"] += row["order_value_cny"]
    return {"as_of": day.isoformat(), "visits": visits, "parts": parts,
            "stations": per_station}


def demo_lines(result: dict[str, Any]) -> list[str]:
    """Short printable summary of plan_for_demo's result."""
    v, p = result["visits"], result["parts"]
    lines = [
        f"visit plan {v['plan_id']} from {result['as_of']}: {v['visits']} visits, "
        f"{v['trips']} technician-days, expected avoided cost {v['avoided_cny']:,.0f} CNY "
        f"(value {v['value_cny']:,.0f}; solver gap {v['gap']:.2%})",
        f"parts plan {p['plan_id']}: {p.get('order_lines', 0)} order lines, "
        f"{p.get('order_value_cny', 0):,.0f} CNY to order, "
        f"{p.get('late_lines', 0)} late (expedite)",
    ]
    width = max([len("station"), *(len(k) for k in result["stations"])])
    lines.append(f"{'station':<{width}} {'visits':>6} {'avoided CNY':>14} "
                 f"{'parts to order CNY':>19}")
    for sid, s in sorted(result["stations"].items()):
        lines.append(f"{sid:<{width}} {int(s['visits']):>6} {s['avoided_cny']:>14,.0f} "
                     f"{s['parts_order_cny']:>19,.0f}")
    return lines
