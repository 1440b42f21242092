"""The 保健 visit planner on in-memory inputs: hard rules, policy, timing, reasons, parts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from scheduler.check import PlanInvariantError, check_plan
from scheduler.geo import haversine_km
from scheduler.policy import load_policy
from scheduler.problem import Machine, Station, Trip, Visit, VisitPlan, WearDue
from scheduler.synthetic import synthetic_instance
from scheduler.visits import plan_visits

MONDAY = date(2025, 3, 3)
POLICY = load_policy()


def _station(**kw: object) -> Station:
    base = dict(station_id="S1", lat=30.0, lon=114.0, technicians=1, region_id="central")
    return Station(**{**base, **kw})  # type: ignore[arg-type]


def _machine(mid: str, km_east: float = 10.0, **kw: object) -> Machine:
    base = dict(machine_id=mid, station_id="S1", product_line="crawler_excavator",
                lat=30.0, lon=114.0 + km_east / 96.0, delivery_date=date(2022, 1, 10),
                region_id="central", warranty_end=date(2023, 1, 10))
    return Machine(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["mip", "greedy"])
def test_capacity_travel_and_one_visit_hold_on_a_fleet(method: str) -> None:
    inst = synthetic_instance(machines=900, stations=5, seed=3, window_start=MONDAY)
    plan = plan_visits(inst.stations, inst.machines, MONDAY, 4, method=method, peaks=inst.peaks)
    assert plan.visits and check_plan(plan, inst.stations, inst.machines, POLICY) == []
    by_id = {m.machine_id: m for m in inst.machines}
    stations = {s.station_id: s for s in inst.stations}
    assert len({v.machine_id for v in plan.visits}) == len(plan.visits)
    per_day: dict[tuple[str, date], int] = {}
    per_week: dict[tuple[str, int], int] = {}
    work = {v.machine_id: v.work for v in plan.visits}
    days = list(plan.days)
    for t in plan.trips:
        st = stations[t.station_id]
        # A multi-day trip keeps its technician on each of its consecutive working days.
        for day in days[days.index(t.day):days.index(t.day) + t.tech_days]:
            per_day[(t.station_id, day)] = per_day.get((t.station_id, day), 0) + 1
        week = (t.day - MONDAY).days // 7
        per_week[(t.station_id, week)] = per_week.get((t.station_id, week), 0) + t.tech_days
        assert len(t.machine_ids) <= POLICY.max_visits_per_day
        # Travel recomputed here from coordinates: out, between stops, back.
        points = [(st.lat, st.lon)] + [(by_id[i].lat, by_id[i].lon) for i in t.machine_ids] \
            + [(st.lat, st.lon)]
        km = sum(float(haversine_km(*a, *b)) for a, b in zip(points, points[1:], strict=False))
        on_site = sum(POLICY.visit_hours + (POLICY.service_hours if {"inspect", "service"}
                                            <= set(work[i]) else 0.0) for i in t.machine_ids)
        hours = km * POLICY.road_factor / POLICY.speed_kmh + on_site
        assert 1 <= t.tech_days <= POLICY.max_trip_days
        assert hours <= t.tech_days * POLICY.day_hours + 1e-6
        assert t.day.weekday() in POLICY.workdays and MONDAY <= t.day < plan.window_end
    assert all(n <= stations[s].technicians for (s, _), n in per_day.items())
    assert all(n <= stations[s].tech_days_per_week for (s, _), n in per_week.items())  # type: ignore[operator]
    assert all(by_id[v.machine_id].station_id == v.station_id for v in plan.visits)


def test_mip_beats_or_equals_greedy_with_an_honest_gap() -> None:
    inst = synthetic_instance(machines=900, stations=5, seed=3, window_start=date(2025, 3, 17))
    greedy = plan_visits(inst.stations, inst.machines, inst.window_start, 4, method="greedy",
                         peaks=inst.peaks)
    mip = plan_visits(inst.stations, inst.machines, inst.window_start, 4, method="mip",
                      peaks=inst.peaks)
    assert mip.objective >= greedy.objective - 1e-6
    assert mip.value > greedy.value
    assert 0 <= mip.gap < 0.02
    for s in mip.stations:
        assert s.bound >= s.objective - 1e-6


def test_low_risk_past_warranty_machine_is_not_visited_high_risk_key_account_is() -> None:
    old_low = _machine("OLD-LOW", km_east=5, risks={"engine": 0.01, "hydraulic_pump": 0.01})
    key_high = _machine("KEY-HIGH", km_east=40, key_account=True,
                        risks={"engine": 0.02, "hydraulic_pump": 0.45},
                        risk_reasons={"hydraulic_pump": ("hydraulic oil temperature trend "
                                                         "+6 °C over 30 days",)})
    for method in ("mip", "greedy"):
        # Capacity to spare: the low-risk machine is skipped because it is not worth a visit.
        plan = plan_visits([_station(technicians=2)], [old_low, key_high], MONDAY, 4,
                           method=method)
        visited = {v.machine_id for v in plan.visits}
        assert visited == {"KEY-HIGH"}, method
        visit = plan.visits[0]
        assert visit.day == MONDAY   # high risk: as early as possible
        assert "key account" in visit.reasons
        assert any("hydraulic oil temperature trend" in r for r in visit.reasons)
        assert any(p.part == "pump_seal_kit" for p in visit.parts)


def test_policy_reasons_widen_the_set_beyond_risk() -> None:
    near_end = _machine("WARRANTY-ENDS", warranty_end=MONDAY + timedelta(days=30),
                        delivery_date=MONDAY - timedelta(days=335))
    new = _machine("NEW", km_east=12, delivery_date=MONDAY - timedelta(days=10),
                   warranty_end=MONDAY + timedelta(days=355))
    old = _machine("OLD", km_east=14, delivery_date=date(2015, 5, 1), engine_hours=21000.0,
                   key_account=True)
    plan = plan_visits([_station(technicians=1)], [near_end, new, old], MONDAY, 2)
    reasons = {v.machine_id: " | ".join(v.reasons) for v in plan.visits}
    assert set(reasons) == {"WARRANTY-ENDS", "NEW", "OLD"}
    assert "last visit under warranty" in reasons["WARRANTY-ENDS"]
    assert "first month after delivery" in reasons["NEW"]
    assert "near end of life" in reasons["OLD"]
    # Close together: one technician-day carries all three.
    assert len(plan.trips) == 1


def test_basic_service_class_gets_no_preventive_visit_but_a_priority_policy_can() -> None:
    risky = {"engine": 0.6}
    basic = _machine("WHEELED", product_line="wheeled_excavator", risks=risky)
    assert plan_visits([_station()], [basic], MONDAY, 4).visits == []
    # The calendar policy of the backtest: a fixed priority inside a date range.
    due = replace(basic, priority=5000.0, earliest=MONDAY + timedelta(days=8),
                  latest=MONDAY + timedelta(days=12))
    plan = plan_visits([_station()], [due], MONDAY, 4)
    assert [v.machine_id for v in plan.visits] == ["WHEELED"]
    assert due.earliest <= plan.visits[0].day <= due.latest  # type: ignore[operator]


def test_visits_avoid_the_customers_busy_month() -> None:
    # Window 17 March - 13 April; the customer works flat out in April.
    start = date(2025, 3, 17)
    busy = _machine("BUSY-APRIL", risks={"engine": 0.05}, key_account=True,
                    customer_peak_months=(4,))
    plan = plan_visits([_station()], [busy], start, 4)
    assert len(plan.visits) == 1 and plan.visits[0].day.month == 3


def test_a_recent_visit_is_a_cost_not_a_lock_out() -> None:
    # At risk: seen 20 days ago ('above' class: 30 days between visits), visited at once.
    risky = _machine("JUST-SEEN", risks={"engine": 0.4}, last_visit=MONDAY - timedelta(days=20))
    plan = plan_visits([_station()], [risky], MONDAY, 4)
    assert len(plan.visits) == 1 and plan.visits[0].day == MONDAY
    # Worth little beyond being a key account: it waits until the revisit cost has faded.
    calm = _machine("CALM", key_account=True, last_visit=MONDAY - timedelta(days=20))
    plan = plan_visits([_station()], [calm], MONDAY, 4)
    assert len(plan.visits) == 1 and plan.visits[0].day >= MONDAY + timedelta(days=5)
    never = replace(calm, last_visit=None)
    assert plan_visits([_station()], [never], MONDAY, 4).visits[0].day == MONDAY


def test_beyond_a_day_trip_a_machine_gets_a_multi_day_visit_when_worth_it() -> None:
    far = _machine("FAR", km_east=250, risks={"engine": 0.8}, key_account=True)
    for method in ("mip", "greedy"):
        plan = plan_visits([_station()], [far], MONDAY, 1, method=method)
        (trip,) = plan.trips
        assert trip.tech_days == 2 and trip.nights == 1, method
        assert [v.machine_id for v in plan.visits] == ["FAR"]
        assert any("2-day trip" in r for r in plan.visits[0].reasons)
        assert plan.summary()["lodging_nights"] == 1
    # Worth less than its trip's travel and lodging: not visited.
    calm = replace(far, risks={"engine": 0.03}, key_account=False)
    assert plan_visits([_station()], [calm], MONDAY, 1).visits == []
    # Day trips only (the reach switch off), or beyond the longest trip: unreachable.
    day_only = POLICY.model_copy(update={"max_trip_days": 1})
    plan = plan_visits([_station()], [far], MONDAY, 1, policy=day_only)
    assert plan.visits == [] and plan.unreachable == ["FAR"]
    too_far = replace(far, lon=far.lon + 700 / 96.0)
    assert plan_visits([_station()], [too_far], MONDAY, 1).unreachable == ["FAR"]


def test_zero_technicians_means_no_visits() -> None:
    m = _machine("M", risks={"engine": 0.8})
    assert plan_visits([_station(technicians=0)], [m], MONDAY, 4).visits == []
    assert plan_visits([_station(tech_days_per_week=0)], [m], MONDAY, 4).visits == []


def test_overdue_services_are_folded_into_the_visit() -> None:
    m = _machine("OVERDUE", risks={"engine": 0.3},
                 wear=(WearDue("engine_oil", -120.0), WearDue("air_filter", 600.0,
                                                           MONDAY + timedelta(days=90))))
    plan = plan_visits([_station()], [m], MONDAY, 4)
    (visit,) = plan.visits
    assert [p.part for p in visit.parts if p.why.startswith("overdue")] == ["engine_oil"]
    assert "air_filter" not in {p.part for p in visit.parts}
    assert any(r.startswith("wear parts due: engine oil overdue by 120 h") for r in visit.reasons)
    assert "replace_wear" in visit.work


def test_a_due_interval_service_alone_is_worth_a_visit() -> None:
    # Past warranty, low risk: only the hour meter speaks for a visit.
    due = _machine("DUE", risks={"engine": 0.01}, hours_since_service=230.0)
    fresh = _machine("FRESH", km_east=12, risks={"engine": 0.01}, hours_since_service=60.0)
    plan = plan_visits([_station(technicians=2)], [due, fresh], MONDAY, 4)
    assert {v.machine_id for v in plan.visits} == {"DUE"}
    assert any(r.startswith("interval service due: 230 h") for r in plan.visits[0].reasons)
    off = POLICY.model_copy(update={"interval_service_value": 0.0})
    assert plan_visits([_station(technicians=2)], [due, fresh], MONDAY, 4,
                       policy=off).visits == []


def test_same_input_same_plan() -> None:
    inst = synthetic_instance(machines=300, stations=2, seed=11, window_start=MONDAY)
    a = plan_visits(inst.stations, inst.machines, MONDAY, 4, peaks=inst.peaks)
    b = plan_visits(inst.stations, inst.machines, MONDAY, 4, peaks=inst.peaks)
    assert [(v.machine_id, v.day, v.technician) for v in a.visits] == \
        [(v.machine_id, v.day, v.technician) for v in b.visits]


def test_check_plan_names_every_broken_rule() -> None:
    st = _station(technicians=1, tech_days_per_week=1)
    far = [_machine(f"M{i}", km_east=60 + i) for i in range(5)]
    day = MONDAY
    visits = [Visit(m.machine_id, "S1", day, 0, 0, k, 1.0, 0.0, 0.0) for k, m in enumerate(far)]
    visits.append(Visit("M0", "S1", day + timedelta(days=1), 1, 1, 0, 1.0, 0.0, 0.0))
    trips = [Trip("S1", day, 0, 0, tuple(m.machine_id for m in far), 0.0, 0.0),
             Trip("S1", day + timedelta(days=1), 1, 1, ("M0",), 0.0, 0.0)]
    plan = VisitPlan(MONDAY, MONDAY + timedelta(days=28), (day, day + timedelta(days=1)),
                     "hand", visits, trips, [], 0.0)
    problems = " / ".join(check_plan(plan, [st], far, POLICY))
    assert "M0 visited more than once" in problems
    assert "technician 1 of 1" in problems
    assert "5 stops > 4" in problems
    assert "h > 1 x 9.0 h" in problems
    assert "2 technician-days > 1" in problems


def test_invariant_error_is_a_terminal_fleetcare_error() -> None:
    from fleetcare.errors import TerminalError

    assert issubclass(PlanInvariantError, TerminalError)


def test_todays_rules_plan_through_the_same_capacity() -> None:
    from scheduler.baselines import calendar_rule_machines, hours_rule_machines

    # Delivered 3 months ago: the 3-month inspection is due on 3 March.
    young = _machine("YOUNG", delivery_date=date(2024, 12, 3), warranty_end=date(2025, 12, 3))
    old = _machine("OLD", km_east=12)                      # warranty over: never inspected
    cands = calendar_rule_machines([young, old], MONDAY, 4)
    assert [m.machine_id for m in cands] == ["YOUNG"]
    assert cands[0].earliest == date(2025, 2, 24) and cands[0].latest == date(2025, 3, 17)
    plan = plan_visits([_station()], cands, MONDAY, 4)
    assert [v.machine_id for v in plan.visits] == ["YOUNG"]
    assert "policy priority" in plan.visits[0].reasons[0]

    hours = hours_rule_machines([young, old], MONDAY, 4,
                                hours_now={"YOUNG": 480.0, "OLD": 5310.0},
                                hours_per_day={"YOUNG": 6.0, "OLD": 6.0},
                                last_service_hours={"YOUNG": 250.0, "OLD": 5000.0})
    due = {m.machine_id: m for m in hours}
    assert set(due) == {"YOUNG", "OLD"}
    assert due["OLD"].earliest == MONDAY                      # 60 h overdue: at once
    assert due["YOUNG"].earliest == date(2025, 3, 7)           # 20 h at 6 h/day
    assert due["OLD"].priority > due["YOUNG"].priority  # type: ignore[operator]
    # One technician-day a week: the same capacity limits every policy.
    tight = plan_visits([_station(tech_days_per_week=1)], hours, MONDAY, 1)
    assert len(tight.trips) == 1


def test_a_visit_does_the_work_its_value_says() -> None:
    # A due interval service and low risk: the service, no inspection, no parts changed.
    due = _machine("DUE", risks={"engine": 0.01}, engine_hours=1740.0,
                   hours_since_service=240.0, hours_per_day=8.0)
    # High risk with a worn part, service not due: the part and an inspection.
    worn = _machine("WORN", km_east=12, risks={"hydraulic_pump": 0.5}, engine_hours=1600.0,
                    hours_since_service=90.0, hours_per_day=8.0,
                    wear=(WearDue("hydraulic_hose", -30.0),))
    plan = plan_visits([_station(technicians=2)], [due, worn], MONDAY, 1)
    work = {v.machine_id: v.work for v in plan.visits}
    assert work == {"DUE": ("service",), "WORN": ("inspect", "replace_wear")}
    parts = {v.machine_id: {p.part for p in v.parts} for v in plan.visits}
    assert "engine_oil" in parts["DUE"] and "hydraulic_hose" not in parts["DUE"]
    assert "hydraulic_hose" in parts["WORN"] and "engine_oil" not in parts["WORN"]
    # Without the choice (the ablation switch), every visit does everything it can.
    same = POLICY.model_copy(update={"work_choice": False})
    plan = plan_visits([_station(technicians=2)], [due, worn], MONDAY, 1, policy=same)
    assert {v.machine_id: v.work for v in plan.visits} == {
        "DUE": ("inspect", "service", "replace_wear"), "WORN": ("inspect", "replace_wear")}


def test_with_zero_risk_the_predictive_planner_does_what_the_hour_rule_does() -> None:
    from scheduler.baselines import hours_rule_machines

    # Past warranty, no key account, middle-aged: only the hour meter speaks.
    fleet = []
    for k in range(12):
        last = 1000.0 + 250 * (k % 3)
        now = last + [60.0, 180.0, 245.0, 330.0][k % 4]
        fleet.append(_machine(f"M{k:02d}", km_east=5 + 3 * k, engine_hours=now,
                              hours_since_service=now - last, hours_per_day=6.0))
    rule = hours_rule_machines(fleet, MONDAY, 1,
                               hours_now={m.machine_id: m.engine_hours for m in fleet},
                               hours_per_day={m.machine_id: 6.0 for m in fleet},
                               last_service_hours={m.machine_id: m.engine_hours
                                                   - m.hours_since_service for m in fleet})
    rule_plan = plan_visits([_station(technicians=3)], rule, MONDAY, 1)
    mine = plan_visits([_station(technicians=3)], fleet, MONDAY, 1)
    assert {v.machine_id for v in rule_plan.visits} == {m.machine_id for m in rule}
    assert {v.machine_id for v in mine.visits} == {m.machine_id for m in rule}
    assert all(v.work == ("service",) for v in mine.visits)


def test_the_planner_never_exceeds_capacity_with_multi_day_trips() -> None:
    inst = synthetic_instance(machines=600, stations=4, seed=5, window_start=MONDAY)
    far = [replace(m, lon=m.lon + 2.5, risks={"engine": 0.6}) for m in inst.machines[::15]]
    machines = [m for k, m in enumerate(inst.machines) if k % 15] + far
    for method in ("mip", "greedy"):
        plan = plan_visits(inst.stations, machines, MONDAY, 2, method=method, peaks=inst.peaks)
        assert any(t.tech_days > 1 for t in plan.trips), method
        assert check_plan(plan, inst.stations, machines, POLICY) == [], method
        by_week: dict[tuple[str, int], int] = {}
        for t in plan.trips:
            key = (t.station_id, (t.day - MONDAY).days // 7)
            by_week[key] = by_week.get(key, 0) + t.tech_days
        caps = {s.station_id: s.tech_days_per_week for s in inst.stations}
        assert all(n <= caps[s] for (s, _), n in by_week.items()), method  # type: ignore[operator]


def test_ablation_switches_change_only_what_they_name() -> None:
    from backtest.config import ABLATIONS

    default = POLICY.model_dump()
    for switch, update in ABLATIONS.items():
        off = POLICY.model_copy(update=update).model_dump()
        changed = {k for k in default if default[k] != off[k]}
        assert changed == set(update), switch
    inst = synthetic_instance(machines=300, stations=2, seed=11, window_start=MONDAY)
    far = [replace(m, lon=m.lon + 2.5, risks={"engine": 0.6}) for m in inst.machines[:20]]
    # Quiet machines whose interval service is due: the service alone is their work.
    due = [replace(m, risks={}, wear=(), key_account=False, engine_hours=1740.0,
                   hours_since_service=240.0, hours_per_day=8.0) for m in inst.machines[20:40]]
    machines = far + due + inst.machines[40:]
    full = plan_visits(inst.stations, machines, MONDAY, 1, peaks=inst.peaks)
    no_reach = plan_visits(inst.stations, machines, MONDAY, 1, peaks=inst.peaks,
                           policy=POLICY.model_copy(update=ABLATIONS["reach"]))
    assert any(t.tech_days > 1 for t in full.trips)
    assert all(t.tech_days == 1 for t in no_reach.trips) and no_reach.unreachable
    no_work = plan_visits(inst.stations, machines, MONDAY, 1, peaks=inst.peaks,
                          policy=POLICY.model_copy(update=ABLATIONS["work"]))
    # Without the choice every visit inspects and changes worn parts; with it, only where due.
    assert all(v.work[0] == "inspect" and "replace_wear" in v.work for v in no_work.visits)
    full_work = {v.machine_id: v.work for v in full.visits}
    assert any(full_work.get(v.machine_id, v.work) != v.work for v in no_work.visits)


def test_the_pre_peak_campaign_changes_parts_due_before_the_peak_ends() -> None:
    # central's spring peak starts 1 April (catalogue): 9 March is in the campaign.
    start = date(2025, 3, 10)
    worn = _machine("SOON-WORN", risks={"engine": 0.2}, key_account=True,
                    wear=(WearDue("bucket_teeth", 120.0, date(2025, 4, 20)),))
    plan = plan_visits([_station()], [worn], start, 1)
    (visit,) = plan.visits
    assert "bucket_teeth" in {p.part for p in visit.parts}
    assert any(r.startswith("pre-peak campaign") for r in visit.reasons)
    off = POLICY.model_copy(update={"pre_peak_weeks": 0})
    (visit,) = plan_visits([_station()], [worn], start, 1, policy=off).visits
    assert "bucket_teeth" not in {p.part for p in visit.parts}
