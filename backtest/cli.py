"""`fleetcare backtest`: what predictive 保健 is worth against today's practice."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from backtest.config import ALL_POLICIES, POLICIES, BacktestConfig, ablation_policies
from fleetcare.clikit import settings_of

log = logging.getLogger("fleetcare.backtest.cli")


@click.command("backtest")
@click.option("--machines", default=1000, show_default=True, help="Fleet size.")
@click.option("--weeks", default=26, show_default=True, help="Weeks in the season.")
@click.option("--seeds", default=3, show_default=True,
              help="Replications of the season (for confidence intervals).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2025-03-03",
              show_default=True, help="First day of the season (a Monday keeps weeks "
              "aligned with the planner's Mon-Sat working days).")
@click.option("--seed", default=7, show_default=True, help="Fleet and warm-up seed.")
@click.option("--first-seed", type=int, default=None,
              help="First replication's season seed (replications use S, S+1, ...) "
              "[default: --seed]; report seeds you did not tune on.")
@click.option("--warmup-days", default=364, show_default=True,
              help="History simulated before --start (trains the model; policy-independent).")
@click.option("--tech-days", type=int, default=None,
              help="Technician-days per station and week for 保健 visits, every policy "
              "[default: --preventive-share of the station's technicians x 6 days].")
@click.option("--preventive-share", default=1 / 3, show_default=True, type=float,
              help="Share of technician-days kept for 保健 when --tech-days is not given.")
@click.option("--policies", default=",".join(POLICIES), show_default=True,
              help=f"Comma-separated, from {', '.join(ALL_POLICIES)} (oracle: the "
              "simulator's own risk, a ceiling).")
@click.option("--oracle", is_flag=True, help="Also run the perfect-information policy.")
@click.option("--ablation", is_flag=True,
              help="Also run the predictive policy with each planner piece switched off "
              "(reach, alerts, work, practice, campaign): what each one is worth.")
@click.option("--method", type=click.Choice(["mip", "greedy"]), default="mip",
              show_default=True, help="Visit planner for every policy.")
@click.option("--workers", default=2, show_default=True, help="Branch processes.")
@click.option("--keep-databases", is_flag=True, help="Keep the run's databases.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Write a one-page report (.html or .png); may be given twice.")
@click.pass_context
def backtest(ctx: click.Context, machines: int, weeks: int, seeds: int, start: datetime,
             seed: int, first_seed: int | None, warmup_days: int, tech_days: int | None,
             preventive_share: float, policies: str, oracle: bool, ablation: bool,
             method: str, workers: int, keep_databases: bool, as_json: bool,
             report: tuple[Path, ...]) -> None:
    """Closed-loop backtest: reactive, calendar, hours and predictive 保健 on one fleet.

    Each week every policy decides visits from its own database (data up to the night
    before), the simulator applies them and runs the week, and the week's messages are
    ingested. The predictive policy's model is trained on a warm-up history simulated
    before --start. Databases are created on the configured (or embedded) server and
    dropped at the end.
    """
    from backtest.runner import run_backtest
    from fleetcare.runtime import services

    chosen = tuple(p.strip() for p in policies.split(",") if p.strip())
    if oracle and "oracle" not in chosen:
        chosen = (*chosen, "oracle")
    if ablation:
        if "predictive" not in chosen:
            chosen = (*chosen, "predictive")
        chosen = (*chosen, *(p for p in ablation_policies() if p not in chosen))
    try:
        config = BacktestConfig(machines=machines, weeks=weeks, seeds=seeds,
                                start=start.date(), seed=seed, first_seed=first_seed,
                                warmup_days=warmup_days,
                                tech_days=tech_days, preventive_share=preventive_share,
                                policies=chosen, method=method,
                                workers=workers, keep_databases=keep_databases)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    settings = settings_of(ctx)

    def say(text: str) -> None:
        if not as_json:
            click.echo(text, err=True)
        else:
            log.info("%s", text)

    with services(settings) as svc:
        summary = run_backtest(config, svc.db, timescaledb=settings.timescaledb, progress=say)
    if report:
        from backtest.report import write_report

        for path in report:
            write_report(summary, path)
        summary["report"] = ", ".join(str(p) for p in report)
    if as_json:
        click.echo(json.dumps(summary, default=str))
    else:
        print_table(summary)


def print_table(summary: dict[str, Any], out: Any = None) -> None:
    """The short table the demo ends with."""
    echo = (lambda s: click.echo(s, file=out)) if out is not None else click.echo
    cfg = summary["config"]
    echo(f"backtest: {cfg['machines']} machines x {cfg['weeks']} weeks from {cfg['start']}, "
         f"{cfg['seeds']} seed(s); 保健 capacity {cfg['tech_days_per_week']} technician-days a "
         f"week over {cfg['stations']} stations ({cfg['capacity']})")
    cols = ("breakdowns", "peak_breakdowns", "downtime_h", "visits", "service_cost",
            "breakdown_cost", "total_cost", "fill_rate", "technician_utilisation")
    heads = ("breakdowns", "in peak", "downtime h", "visits", "service M", "breakdown M",
             "total M", "fill", "tech use")
    echo(f"  {'policy':<11}" + "".join(f"{h:>12}" for h in heads))
    for p in cfg["policies"]:
        row = summary.get(p, {})
        cells = []
        for c in cols:
            v = row.get(c)
            if v is None:
                cells.append(f"{'-':>12}")
            elif c.endswith("_cost"):
                cells.append(f"{v / 1e6:>12.2f}")
            elif c in ("fill_rate", "technician_utilisation"):
                cells.append(f"{v:>12.0%}")
            else:
                cells.append(f"{v:>12,.0f}")
        echo(f"  {p:<11}" + "".join(cells))
    for name, diff in summary.get("differences", {}).items():
        parts = []
        for m in ("peak_breakdowns", "breakdowns", "total_cost"):
            d = diff.get(m)
            if not d:
                continue
            scale = 1e6 if m.endswith("cost") else 1
            ci = (f" [{d['ci95'][0] / scale:,.2f}, {d['ci95'][1] / scale:,.2f}]"
                  if d.get("ci95") else "")
            unit = " M" if scale > 1 else ""
            parts.append(f"{m} {d['mean'] / scale:+,.2f}{unit}{ci}")
        echo(f"  {name}: " + "; ".join(parts))
    bars = summary.get("bars")
    if bars:
        red = bars.get("peak_breakdown_reduction")
        said = ("not measured" if red is None else
                f"{abs(red) * 100:.0f} % {'fewer' if red >= 0 else 'more'}")
        echo(f"  bar: peak breakdowns {said} than {bars['best_rule']} (need 30 % fewer), "
             f"total cost vs {bars.get('cheapest_rule', bars['best_rule'])}: CI "
             f"{'excludes' if bars['lower_total_cost_ci_excludes_zero'] else 'does not exclude'}"
             f" zero on the saving side; bar {'met' if bars.get('met') else 'not met'}")
    for row in summary.get("ablation", []):
        ci = row.get("peak_breakdowns_contribution_ci95")
        echo(f"  without {row['policy'].removeprefix('predictive_no_')}: "
             f"{row.get('peak_breakdowns', 0):,.1f} peak breakdowns "
             f"({row.get('peak_breakdowns_contribution', 0):+,.1f}"
             f"{f' [{ci[0]:+,.1f}, {ci[1]:+,.1f}]' if ci else ''} against the full policy)")
    for note in summary.get("notes", [])[:1]:
        echo(f"  note: {note}")
    if "seconds" in summary:
        echo(f"  took {summary['seconds']['total']} s")


