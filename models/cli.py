"""`fleetcare train`, `fleetcare evaluate`, `fleetcare score`: the models stage's commands."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from fleetcare.clikit import settings_of
from models import metrics, signals

log = logging.getLogger("models.cli")

_METHOD_ORDER = ("model", "calendar_rule", "hours_rule", "fault_rule", "oracle")


@click.command()
@click.option("--horizon", "horizon_d", default=30, show_default=True,
              help="Days ahead a risk looks (label: fails within H days).")
@click.option("--variant", type=click.Choice(["auto", "single", "per_component"]),
              default="auto", show_default=True,
              help="One model with the component as a feature, one per component, or "
                   "fit both and keep the better on the calibration period.")
@click.option("--activate/--no-activate", default=True, show_default=True,
              help="Make the new versions the active ones.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def train(ctx: click.Context, horizon_d: int, variant: str, activate: bool,
          as_json: bool) -> None:
    """Train the component risk and wear-part life models and store them in the registry."""
    from fleetcare.runtime import services
    from models import jobs
    from models.risk import TrainConfig

    with services(settings_of(ctx)) as svc:
        result = jobs.train(svc.db, horizon_d=horizon_d, config=TrainConfig(variant=variant),
                            activate=activate)
    out = {
        "risk_model_id": result.risk_model_id, "wear_model_id": result.wear_model_id,
        "variant": result.risk.variant, "split": result.risk.split.to_dict(),
        "selection": result.risk.metrics.get("selection"),
        "left_out": result.risk.metrics.get("left_out"),
        "held_out": result.risk.metrics.get("evaluation"),
        "wear_parts": result.wear.metrics.get("parts"),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
    }
    if as_json:
        click.echo(json.dumps(out, default=str))
        return
    click.echo(f"risk model {result.risk_model_id} ({result.risk.variant}), wear model "
               f"{result.wear_model_id}{' (active)' if activate else ''}")
    if left_out := result.risk.metrics.get("left_out"):
        click.echo(f"  {signals.left_out_line(left_out)}")
    split = result.risk.split
    click.echo(f"  train {split.train_start}..{split.train_end}, calibrate {split.calib_start}.."
               f"{split.calib_end}, held out {split.eval_start}..{split.eval_end}")
    _print_table(result.evaluation)


@click.command()
@click.option("--model-id", type=int, default=None, help="A stored version (default: active).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by method.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write a PNG of recall vs visit budget per method.")
@click.option("--no-oracle", is_flag=True, help="Leave out the oracle (no truth store read).")
@click.pass_context
def evaluate(ctx: click.Context, model_id: int | None, as_json: bool, plot_path: Path | None,
             no_oracle: bool) -> None:
    """Compare the model with today's rules and the oracle on the held-out period."""
    from fleetcare.runtime import services
    from models import jobs

    with services(settings_of(ctx)) as svc:
        result = jobs.evaluate(svc.db, model_id=model_id, with_oracle=not no_oracle)
    if plot_path is not None:
        from models.evaluate import PLOT_BUDGETS
        from models.plot import plot_recall

        methods = [m for m in _METHOD_ORDER if m in result.results]
        plot_recall(result.predictions, plot_path, methods, PLOT_BUDGETS)
        result.meta["plot"] = str(plot_path)
    if as_json:
        click.echo(json.dumps(result.as_json(), default=str))
        return
    _print_table(result.as_json())
    if result.leakage:
        verdict = "passed" if result.leakage["passed"] else "FAILED"
        click.echo(f"leakage check {verdict}: model PR-AUC {result.leakage['model_pr_auc']} vs "
                   f"oracle {result.leakage['oracle_pr_auc']}")
    if plot_path is not None:
        click.echo(f"plot: {plot_path}")


@click.command()
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Day to score [default: the latest day with features].")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_context
def score(ctx: click.Context, day: datetime | None, as_json: bool) -> None:
    """Score every machine with the active models: risk_scores (with reasons), wear_forecasts."""
    from fleetcare.runtime import services
    from models.scoring import score_day

    with services(settings_of(ctx)) as svc:
        result = score_day(svc.db, day.date() if day else None)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, default=str))
        return
    click.echo(f"scored {summary['machines']} machines on {summary['day']}: "
               f"{summary['risk_rows']} risks ({summary['with_reasons']} with reasons), "
               f"{summary['wear_rows']} wear forecasts, "
               f"{sum(summary['seconds'].values()):.2f} s")
    top = result.risk.sort_values("risk", ascending=False).head(5)
    for row in top.itertuples():
        why = "; ".join(r["text"] for r in row.reasons[:2])
        click.echo(f"  {row.machine_id:>10} {row.component:<15} {row.risk:6.1%}  {why}")


def _print_table(evaluation: dict[str, Any]) -> None:
    """Methods side by side: PR-AUC, Brier, recall at each budget."""
    keys = [metrics.budget_key(b) for b in metrics.BUDGETS]
    head = f"  {'method':<14}{'PR-AUC':>8}{'Brier':>9}" + "".join(
        f"{'recall@' + k:>13}" for k in keys)
    click.echo(head)
    for m in _METHOD_ORDER:
        r = evaluation.get(m)
        if not r:
            continue
        if r.get("applicable") is False:
            click.echo(f"  {m:<14}not applicable: {r.get('not_applicable')}")
            continue
        rec = r["recall_at_budget"]
        click.echo(f"  {m:<14}{_f(r['pr_auc']):>8}{_f(r['brier'], 4):>9}" + "".join(
            f"{_f(rec.get(k)):>13}" for k in keys))
    bars = evaluation.get("meta", {}).get("bars")
    if bars and bars.get("note"):
        click.echo(f"  {bars['note']}")
    elif bars:
        ratio = bars.get("recall_0.02_ratio_vs_best_rule")
        closed = bars.get("pr_auc_gap_closed")
        click.echo("  model vs best rule at 2%: "
                   + ("not measured (no rule found a failure at 2 %)" if ratio is None
                      else f"x{ratio:.2f}")
                   + "; PR-AUC gap to oracle closed: "
                   + ("not measured (no oracle, or it ranks no better than the rules)"
                      if closed is None else f"{closed:.0%}"))


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _day(x: Any) -> date | None:
    return x.date() if isinstance(x, datetime) else x
