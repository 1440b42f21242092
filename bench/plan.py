"""`fleetcare bench plan`: the visit MIP against greedy on the same instance and capacity."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from fleetcare.clikit import settings_of

if TYPE_CHECKING:
    from scheduler.problem import Machine, PeakRange, Station


def run_plan_bench(stations: list[Station], machines: list[Machine], window_start: date,
                   weeks: int, peaks: dict[str, list[PeakRange]], workers: int
                   ) -> dict[str, Any]:
    """Plan the same instance with greedy and with the MIP; report both."""
    from scheduler.check import capacity_violations
    from scheduler.policy import load_policy
    from scheduler.visits import plan_visits

    policy = load_policy()
    t0 = time.perf_counter()
    greedy = plan_visits(stations, machines, window_start, weeks, policy=policy,
                         method="greedy", peaks=peaks)
    greedy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mip = plan_visits(stations, machines, window_start, weeks, policy=policy, method="mip",
                      peaks=peaks, workers=workers)
    solve_s = time.perf_counter() - t0
    violations = (capacity_violations(mip, stations, machines, policy)
                  + capacity_violations(greedy, stations, machines, policy))
    fallbacks = sum(1 for s in mip.stations if s.method == "greedy-fallback")
    return {
        "machines": len(machines),
        "stations": len(stations),
        "weeks": weeks,
        "window_start": window_start.isoformat(),
        "workers": workers,
        "solve_s": round(solve_s, 2),
        "gap": round(mip.gap, 5),
        "value_solver": round(mip.value, 0),
        "value_greedy": round(greedy.value, 0),
        "value_ratio": round(mip.value / greedy.value, 4) if greedy.value else None,
        "avoided_solver": round(mip.avoided, 0),
        "avoided_greedy": round(greedy.avoided, 0),
        "avoided_ratio": round(mip.avoided / greedy.avoided, 4) if greedy.avoided else None,
        "objective_solver": round(mip.objective, 0),
        "objective_greedy": round(greedy.objective, 0),
        "visits_solver": len(mip.visits),
        "visits_greedy": len(greedy.visits),
        "trips_solver": len(mip.trips),
        "trips_greedy": len(greedy.trips),
        "travel_km_solver": round(sum(t.km for t in mip.trips), 0),
        "travel_km_greedy": round(sum(t.km for t in greedy.trips), 0),
        "candidates": sum(s.candidates for s in mip.stations),
        "unreachable": len(mip.unreachable),
        "greedy_s": round(greedy_s, 2),
        "slowest_station_s": round(max((s.solve_s for s in mip.stations), default=0.0), 2),
        "stations_not_optimal": sum(1 for s in mip.stations
                                    if s.method == "mip" and not s.status.startswith("Optimal")),
        "greedy_fallbacks": fallbacks,
        "capacity_violations": violations,
    }


@click.command("plan")
@click.option("--machines", default=10_000, show_default=True, help="Synthetic fleet size.")
@click.option("--stations", default=50, show_default=True, help="Synthetic stations.")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1, 12))
@click.option("--seed", default=7, show_default=True)
@click.option("--window-start", type=click.DateTime(["%Y-%m-%d"]), default="2025-03-17",
              show_default=True, help="First day (the synthetic default spans a peak start).")
@click.option("--preventive-share", default=1 / 3, show_default=True, type=float,
              help="Share of technician-days kept for 保健 (the rest answer breakdowns).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--from-db", is_flag=True,
              help="Plan the database's stations and latest scores instead of a synthetic fleet.")
@click.option("--scale", is_flag=True, help="Also run at 1/4 and 1/2 of the size (growth).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def plan_bench(ctx: click.Context, machines: int, stations: int, weeks: int, seed: int,
               window_start: Any, preventive_share: float, workers: int, from_db: bool,
               scale: bool, as_json: bool) -> None:
    """Visit MIP vs greedy: solve time, gap, value, capacity violations."""
    from scheduler.policy import load_policy
    from scheduler.synthetic import synthetic_instance

    start = window_start.date()
    runs: list[dict[str, Any]] = []
    if from_db:
        from fleetcare.runtime import services
        from scheduler.service import load_inputs

        workdays = len(load_policy().workdays)
        with services(settings_of(ctx)) as svc:
            inputs = load_inputs(svc.db, start)
        sts = [replace(s, tech_days_per_week=max(1, round(s.technicians * workdays
                                                          * preventive_share)))
               for s in inputs.stations]
        result = run_plan_bench(sts, inputs.machines, start, weeks, inputs.peaks, workers)
        result["source"] = f"database (scores of {inputs.scored_on})"
        runs.append(result)
    else:
        sizes = [(machines // 4, max(1, stations // 4)), (machines // 2, max(1, stations // 2))] \
            if scale else []
        for n_m, n_s in [*sizes, (machines, stations)]:
            inst = synthetic_instance(n_m, n_s, seed=seed, window_start=start,
                                      preventive_share=preventive_share)
            result = run_plan_bench(inst.stations, inst.machines, start, weeks, inst.peaks,
                                    workers)
            result["source"] = f"synthetic (seed {seed})"
            runs.append(result)
    out = dict(runs[-1])
    if scale and len(runs) > 1:
        out["scale"] = [{k: r[k] for k in ("machines", "stations", "solve_s", "gap",
                                           "value_ratio")} for r in runs]
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"bench plan: {out['machines']} machines, {out['stations']} stations, "
               f"{out['weeks']} weeks ({out['source']})")
    for key in ("solve_s", "gap", "value_solver", "value_greedy", "value_ratio",
                "avoided_ratio", "visits_solver", "visits_greedy", "travel_km_solver",
                "travel_km_greedy", "greedy_s", "capacity_violations"):
        click.echo(f"  {key:<20} {out[key]}")
    for r in out.get("scale", []):
        click.echo(f"  scale {r['machines']:>6} machines / {r['stations']:>3} stations: "
                   f"{r['solve_s']} s, gap {r['gap']}, value x{r['value_ratio']}")
