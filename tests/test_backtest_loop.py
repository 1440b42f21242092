"""The closed loop on a small fleet against the real database.

One warm-up (history, features, a small trained model) serves every test of the module;
each test runs branches on fresh clones of its database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from conftest import ADMIN_URL

from backtest.config import POLICIES, BacktestConfig
from backtest.databases import Databases
from backtest.loop import BranchResult, StartState, run_branch
from backtest.policies import Week
from backtest.runner import branch_specs, run_branches, summarize
from backtest.warmup import run_warmup
from fleetcare.queries import beside
from scheduler.policy import load_policy

Q = beside(__file__)

# Small, but a year of history (the model needs labelled failures in three periods) and a
# season that crosses into the spring peak (April).
CONFIG = BacktestConfig(machines=100, weeks=5, seeds=1, start=date(2025, 3, 24),
                        warmup_days=300, tech_days=2, workers=1, method="greedy",
                        train={"variant": "single", "screen": False,
                               "hgb": {"max_iter": 40}})
# One alert night a week (Wednesday's, for Thursday morning) keeps the tests quick.
PLANNING = load_policy().model_copy(update={"alert_days": (3,)})
# What a planned visit or a shelf can change; the fleet outcome is everything else.
FLEET_OUTCOME = ("breakdowns", "peak_breakdowns", "component_failures", "downtime_h",
                 "breakdown_downtime_h", "breakdown_cost", "visits", "visit_cost",
                 "other_service_cost", "defects_found")


@pytest.fixture(scope="module")
def warm() -> Iterator[tuple[Databases, StartState]]:
    dbs = Databases(ADMIN_URL)
    try:
        state = run_warmup(CONFIG, dbs, timescaledb="off")
        yield dbs, state
    finally:
        dbs.drop_all()


def _run(warm: tuple[Databases, StartState], config: BacktestConfig, tag: str
         ) -> dict[str, BranchResult]:
    dbs, state = warm
    results = run_branches(branch_specs(config, dbs, tag), state, config, PLANNING)
    return {r.policy: r for r in results}


def _strip(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.items() if k != "seconds"}


def test_zero_capacity_equals_reactive(warm: tuple[Databases, StartState]) -> None:
    config = replace(CONFIG, tech_days=0, policies=POLICIES)
    out = _run(warm, config, "zero")
    ref = out["reactive"].results
    assert ref["breakdowns"] > 0
    for policy in POLICIES:
        res = out[policy].results
        assert res["visits"] == 0 and res["tech_days_used"] == 0
        assert {k: res[k] for k in FLEET_OUTCOME} == {k: ref[k] for k in FLEET_OUTCOME}, policy
        # Parts stocking is the one decision left: it moves express shipments only.
        assert res["total_cost"] - res["express_parts_cost"] == pytest.approx(
            ref["total_cost"] - ref["express_parts_cost"]), policy


def test_same_seed_same_result(warm: tuple[Databases, StartState]) -> None:
    # audit: every week, nothing in a branch database was received after the night before.
    config = replace(CONFIG, policies=("calendar", "hours", "predictive"), audit=True)
    first = _run(warm, config, "a")
    again = _run(warm, config, "b")
    for policy in config.policies:
        assert first[policy].results == again[policy].results, policy
    assert first["predictive"].results["visits"] > 0
    # A different seed draws a different season.
    other = _run(warm, replace(config, seed=CONFIG.seed + 1, policies=("calendar",)), "c")
    assert other["calendar"].results != first["calendar"].results


def test_perfect_information_beats_the_learned_model(
        warm: tuple[Databases, StartState]) -> None:
    config = replace(CONFIG, seeds=2, policies=("reactive", "predictive", "oracle"))
    out: dict[str, int] = {"reactive": 0, "predictive": 0, "oracle": 0}
    dbs, state = warm
    for r in run_branches(branch_specs(config, dbs, "o"), state, config, PLANNING):
        out[r.policy] += r.results["breakdowns"]
    assert out["oracle"] < out["predictive"] <= out["reactive"], out


def test_future_rows_change_no_decision(warm: tuple[Databases, StartState]) -> None:
    """Rows from after the night before are planted in the branch database (readings,
    fault codes, breakdowns, services); the week's decisions stay the same."""
    from backtest.loop import make_policy
    from fleetcare import db

    dbs, state = warm
    week = Week(0, CONFIG.start, {s.station_id: CONFIG.capacity(s.technicians)
                                  for s in state.sim.fleet.stations})
    for policy_name in ("calendar", "hours", "predictive"):
        url = dbs.create(f"future_{policy_name}", template="warm")
        stock = dict(state.warehouse.snapshot_stock())
        with db.connect(url) as conn:
            before = make_policy(policy_name, PLANNING, "greedy", state).decide(conn, week, stock)
            _plant_future(conn, week)
            after = make_policy(policy_name, PLANNING, "greedy", state).decide(conn, week, stock)
        assert before.visits == after.visits, policy_name
        assert before.orders == after.orders, policy_name


def _plant_future(conn: psycopg.Connection, week: Week) -> None:
    """Copies of the last week's readings moved a week on (hours that jump, hot oil),
    a storm of fault codes, a breakdown and an oil change for every machine: all of it
    a day or more after the cutoff."""
    shift = timedelta(days=8)
    with conn.transaction():
        conn.execute(
            Q.plant_reading,
            {"shift": shift, "cut": week.cutoff})
        conn.execute(
            Q.plant_fault,
            {"t": week.cutoff + timedelta(days=1)})
        conn.execute(
            Q.plant_breakdown, {"t": week.cutoff + timedelta(days=1)})
        conn.execute(
            Q.plant_oil_change, {"t": week.cutoff + timedelta(days=2)})


def test_summary_has_the_issue_fields(warm: tuple[Databases, StartState]) -> None:
    config = replace(CONFIG, seeds=2, weeks=2, policies=POLICIES)
    dbs, state = warm
    results = run_branches(branch_specs(config, dbs, "s"), state, config, PLANNING)
    summary = summarize(config, state, results)
    for policy in POLICIES:
        for key in ("breakdowns", "peak_breakdowns", "downtime_h", "total_cost", "fill_rate"):
            assert key in summary[policy], (policy, key)
    diff = summary["differences"]["predictive_vs_calendar"]["total_cost"]
    assert len(diff["ci95"]) == 2 and diff["ci95"][0] <= diff["mean"] <= diff["ci95"][1]
    assert set(summary["bars"]) >= {"best_rule", "peak_breakdown_reduction"}
    assert len(summary["weekly"]["predictive"]["breakdowns"]) == 2


def test_a_branch_does_not_touch_the_start_state(warm: tuple[Databases, StartState]) -> None:
    dbs, state = warm
    day, meter = state.sim.day, state.sim.state.meter.copy()
    spec = branch_specs(replace(CONFIG, weeks=1, policies=("reactive",)), dbs, "t")[0]
    run_branch(spec, state, replace(CONFIG, weeks=1), PLANNING)
    assert state.sim.day == day and (state.sim.state.meter == meter).all()
