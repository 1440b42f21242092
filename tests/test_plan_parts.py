"""The parts pre-stock planner on in-memory inputs: lead times, service levels, demand."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

from fleetcare import catalogue
from scheduler.parts import demand_quantile, effective_lead_days, plan_parts
from scheduler.policy import PlanningPolicy, load_policy
from scheduler.problem import Machine, PartToBring, Station, Visit, WearDue

TODAY = date(2025, 2, 10)   # central China: spring peak from 1 April to 31 May
STATION = Station("S1", 30.0, 114.0, 2, "central")


def _fleet(n: int = 60, seed: int = 5) -> list[Machine]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        wear = []
        for part in catalogue.wear_parts_of("crawler_excavator"):
            life = catalogue.PARTS[part].life_hours or 1000.0
            left = float(rng.uniform(-50, life))
            wear.append(WearDue(part, left, TODAY + timedelta(days=max(0, int(left / 5))),
                                left - 0.15 * life))
        out.append(Machine(f"M{i}", "S1", "crawler_excavator", 30.0, 114.1, date(2021, 1, 1),
                           "central", risks={"engine": 0.05, "hydraulic_pump": 0.08},
                           wear=tuple(wear)))
    return out


def test_order_by_dates_respect_lead_times() -> None:
    policy = load_policy()
    plan = plan_parts([STATION], _fleet(), TODAY, policy=policy)
    assert {ln.part for ln in plan.lines} == set(catalogue.wear_parts_of("crawler_excavator"))
    for ln in plan.lines:
        part = catalogue.PARTS[ln.part]
        assert (ln.season, ln.season_start, ln.season_end) == \
            ("spring", date(2025, 4, 1), date(2025, 5, 31))
        assert ln.needed_by == ln.season_start
        assert ln.order_by + timedelta(days=ln.lead_time_days) == ln.needed_by
        stretched = part.lead_time_days * (policy.outside_lead_factor
                                           if part.outside_supplier else 1)
        assert ln.lead_time_days == math.ceil(stretched) + policy.receiving_days
        assert ln.order_by <= ln.needed_by - timedelta(days=part.lead_time_days)
        assert not ln.late
    shoe = next(ln for ln in plan.lines if ln.part == "track_shoe")   # outside supplier
    oil = next(ln for ln in plan.lines if ln.part == "engine_oil")
    assert shoe.lead_time_days == 48 and shoe.order_by == date(2025, 2, 12)
    assert oil.order_by == date(2025, 3, 27)

    # Three weeks later the track shoes can no longer arrive in time: flagged to expedite.
    late = plan_parts([STATION], _fleet(), date(2025, 3, 3), policy=policy)
    shoe = next(ln for ln in late.lines if ln.part == "track_shoe")
    assert shoe.order_qty > 0 and shoe.late and shoe.order_by < date(2025, 3, 3)
    assert not next(ln for ln in late.lines if ln.part == "engine_oil").late


def test_service_levels_by_tier_change_quantities_as_configured() -> None:
    fleet = _fleet()
    base = plan_parts([STATION], fleet, TODAY, policy=load_policy())
    lean_c = PlanningPolicy(service_levels={"A": 0.90, "B": 0.95, "C": 0.70})
    rich_b = PlanningPolicy(service_levels={"A": 0.90, "B": 0.995, "C": 0.98})
    lean = {ln.part: ln for ln in plan_parts([STATION], fleet, TODAY, policy=lean_c).lines}
    rich = {ln.part: ln for ln in plan_parts([STATION], fleet, TODAY, policy=rich_b).lines}
    changed_c = changed_b = 0
    for ln in base.lines:
        assert ln.service_level == {"A": 0.90, "B": 0.95, "C": 0.98}[ln.tier]
        if ln.tier == "C":
            assert lean[ln.part].service_level == 0.70
            assert lean[ln.part].target_stock <= ln.target_stock
            changed_c += lean[ln.part].target_stock < ln.target_stock
            assert rich[ln.part].target_stock == ln.target_stock
        if ln.tier == "B":
            assert rich[ln.part].target_stock >= ln.target_stock
            changed_b += rich[ln.part].target_stock > ln.target_stock
            assert lean[ln.part].target_stock == ln.target_stock
        # The same demand forecast whatever the level.
        assert lean[ln.part].demand_mean == ln.demand_mean
    assert changed_c >= 5 and changed_b >= 2


def test_stock_on_hand_and_on_order_reduce_the_order() -> None:
    plan = plan_parts([STATION], _fleet(), TODAY)
    oil = next(ln for ln in plan.lines if ln.part == "engine_oil")
    stocked = plan_parts([STATION], _fleet(), TODAY,
                         stock={("S1", "engine_oil"): (oil.target_stock - 5, 3)})
    again = next(ln for ln in stocked.lines if ln.part == "engine_oil")
    assert again.target_stock == oil.target_stock
    assert (again.on_hand, again.on_order, again.order_qty) == (oil.target_stock - 5, 3, 2)
    assert again.order_value == 2 * catalogue.PARTS["engine_oil"].price_cny
    full = plan_parts([STATION], _fleet(), TODAY,
                      stock={("S1", "engine_oil"): (oil.target_stock + 10, 0)})
    assert next(ln for ln in full.lines if ln.part == "engine_oil").order_qty == 0


def test_planned_visits_are_certain_demand_needed_by_the_visit() -> None:
    far_off = Machine("FRESH", "S1", "crawler_excavator", 30.0, 114.1, date(2024, 6, 1),
                      "central", wear=(WearDue("hydraulic_oil", 3900.0, date(2026, 6, 1)),))
    alone = plan_parts([STATION], [far_off], TODAY, parts=("hydraulic_oil",))
    assert alone.lines == [] or alone.lines[0].demand_mean < 0.05
    visit = Visit("FRESH", "S1", date(2025, 3, 5), 0, 0, 0, 5000.0, 3000.0, 12.0,
                  parts=(PartToBring("hydraulic_oil", 1, "due"),))
    planned = plan_parts([STATION], [far_off], TODAY, parts=("hydraulic_oil",), visits=[visit])
    (line,) = planned.lines
    assert line.demand_mean >= 1.0 and line.target_stock >= 1
    assert line.needed_by == date(2025, 3, 5)


def test_naive_same_as_last_season_is_reported_with_its_fill_rate() -> None:
    plan = plan_parts([STATION], _fleet(), TODAY, history={("S1", "engine_oil"): 10})
    oil = next(ln for ln in plan.lines if ln.part == "engine_oil")
    assert oil.naive_qty == 10 and oil.naive_fill is not None and oil.naive_fill < 0.01
    other = next(ln for ln in plan.lines if ln.part == "fuel_filter")
    assert other.naive_qty is None and other.naive_fill is None
    summary = plan.summary()
    assert summary["naive_mean_fill"] == oil.naive_fill


def test_lookahead_plans_only_regions_whose_peak_is_near() -> None:
    north = Station("S2", 43.8, 125.3, 1, "northeast")   # spring peak from 20 April
    plan = plan_parts([STATION, north], _fleet(), TODAY, lookahead_days=60)
    assert {ln.station_id for ln in plan.lines} == {"S1"}
    assert plan.stations_skipped == ["S2"]


def test_demand_quantile_is_exact_for_small_counts() -> None:
    # Two machines each needing the part with probability 1/2: P(0, 1, 2) = 1/4, 1/2, 1/4.
    pmfs = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert demand_quantile(pmfs, 1, 0.0, 0.70)[2] == 1
    assert demand_quantile(pmfs, 1, 0.0, 0.80)[2] == 2
    mean, sd, target, fill = demand_quantile(pmfs, 5, 0.0, 0.80, naive=5)
    assert (mean, target) == (5.0, 10) and math.isclose(sd, 5 * math.sqrt(0.5))
    assert fill == 0.75


def test_effective_lead_time_is_longer_for_outside_suppliers() -> None:
    policy = load_policy()
    inside = catalogue.PARTS["engine_oil"]
    outside = catalogue.PARTS["track_shoe"]
    assert not inside.outside_supplier and outside.outside_supplier
    assert effective_lead_days(inside, policy) == inside.lead_time_days + policy.receiving_days
    assert effective_lead_days(outside, policy) == 45 + policy.receiving_days
