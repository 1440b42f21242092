"""`fleetcare bench models`: training and whole-fleet scoring time, against the issue's bars.

Bars: training on 10,000 machines x 1 year in under 3 minutes; scoring the whole fleet in
under 10 seconds. Baselines measured in the same run: one plain scikit-learn
``HistGradientBoostingClassifier()`` fit (default settings) on the same training rows, and
prediction alone (no reasons, no wear, no writes) for scoring.

``--data synthetic`` (default) trains on a features-shaped frame from models.synthetic
with every column of the features catalogue (signal in some, noise in the rest), so the
figures do not depend on having simulated and ingested 10,000 machines first;
``--data db`` reads the configured database's features instead (and times the reading).
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
import numpy as np

from fleetcare.clikit import settings_of

TRAIN_BAR_S = 180.0
SCORE_BAR_S = 10.0


def run(machines: int, days: int, *, data: str = "synthetic", db_url: str | None = None,
        seed: int = 7) -> dict[str, Any]:
    """One benchmark run at one fleet size; returns the figures."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from models import jobs, risk, scoring
    from models import layout as lay

    out: dict[str, Any] = {"machines": machines, "days": days, "data": data}
    t = time.monotonic()
    if data == "db":
        from models import inputs

        assert db_url, "--data db needs a database"
        frame = inputs.load_features(db_url, labels=jobs.DEFAULT_HORIZON_D)
        out["machines"] = int(frame["machine_id"].nunique())
        out["days"] = int(frame["day"].nunique())
        out["load_s"] = round(time.monotonic() - t, 2)
    else:
        from models.synthetic import make_fleet

        frame = make_fleet(machines, days, seed=seed, catalog_shape=True).frame
        out["generate_s"] = round(time.monotonic() - t, 2)
    out["feature_rows"] = len(frame)

    t = time.monotonic()
    rmodel, wmodel, _ = jobs.train_on_frame(frame)
    train_s = time.monotonic() - t
    out["train_s"] = round(train_s + out.get("load_s", 0.0), 2)
    out["train_detail"] = {
        "risk_fit_s": rmodel.metrics.get("train_s"), "wear_fit_s": wmodel.metrics.get("train_s"),
        "variants": {k: v["fit_s"] for k, v in rmodel.metrics.get("selection", {}).items()},
        "train_rows": rmodel.metrics.get("train_rows"),
    }
    # Baseline: a plain boosted-trees fit on the same (thinned) training rows.
    layout = rmodel.layout
    rows = risk.thin_days(rmodel.split.select(frame, "train"), 7)
    X = lay.design(rows, layout, with_labels=True)
    t = time.monotonic()
    cols = list(layout.design_columns)
    from models.estimators import FrameColumns

    Xt = FrameColumns(cols, sorted(layout.categorical | {lay.COMPONENT_COL})).fit_transform(X)
    HistGradientBoostingClassifier(categorical_features="from_dtype").fit(Xt, X["y"])
    out["baseline_plain_hgb_fit_s"] = round(time.monotonic() - t, 2)

    last = frame.loc[frame["day"] == frame["day"].max()]
    timings: dict[str, float] = {}
    t = time.monotonic()
    scored = scoring.score_frame(rmodel, last, timings=timings)
    wear = wmodel.forecast(last)
    score_s = time.monotonic() - t
    if data == "db" and db_url:
        t = time.monotonic()
        result = scoring.ScoreResult(last["day"].max().date(), scored, wear)
        scoring.write_scores(db_url, result, horizon_d=rmodel.horizon_d)
        timings["write_s"] = time.monotonic() - t
        score_s += timings["write_s"]
    out["score_s"] = round(score_s, 3)
    out["score_detail"] = {k: round(v, 3) for k, v in timings.items()}
    out["score_rows"] = {"risk": len(scored), "wear": len(wear),
                         "with_reasons": int((scored["reasons"].map(len) > 0).sum())}
    out["baseline_predict_only_s"] = round(timings.get("predict_s", np.nan), 3)
    out["train_vs_bar"] = round(out["train_s"] / TRAIN_BAR_S, 3)
    out["score_vs_bar"] = round(out["score_s"] / SCORE_BAR_S, 3)
    out["train_vs_plain_hgb"] = round(out["train_s"] / max(out["baseline_plain_hgb_fit_s"],
                                                           1e-9), 2)
    out["score_vs_predict_only"] = round(out["score_s"] / max(out["baseline_predict_only_s"],
                                                              1e-9), 2)
    return out


@click.command("models")
@click.option("--machines", default="10000", show_default=True,
              help="Fleet size, or several comma-separated to show how the figures grow.")
@click.option("--days", default=365, show_default=True, help="Days of history.")
@click.option("--data", type=click.Choice(["synthetic", "db"]), default="synthetic",
              show_default=True, help="A features-shaped synthetic frame, or the database's "
                                      "features (uses FLEETCARE_DATABASE_URL).")
@click.option("--seed", default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_models(ctx: click.Context, machines: str, days: int, data: str, seed: int,
                 as_json: bool) -> None:
    """Model training (bar: 10,000 machines x 1 year < 3 min) and fleet scoring (< 10 s)."""
    sizes = [int(x) for x in str(machines).split(",") if x.strip()]
    db_url = None
    if data == "db":

        db_url = settings_of(ctx).database_url
        if not db_url:
            raise click.UsageError("--data db needs FLEETCARE_DATABASE_URL")
        sizes = sizes[:1]
    results = [run(n, days, data=data, db_url=db_url, seed=seed) for n in sizes]
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else {"runs": results}))
        return
    for r in results:
        click.echo(f"models bench: {r['machines']} machines x {r['days']} days ({r['data']})")
        click.echo(f"  train  {r['train_s']:8.1f} s   bar {TRAIN_BAR_S:.0f} s "
                   f"(x{r['train_vs_bar']:.2f} of bar; plain HGB fit "
                   f"{r['baseline_plain_hgb_fit_s']:.1f} s, x{r['train_vs_plain_hgb']:.1f})")
        click.echo(f"  score  {r['score_s']:8.2f} s   bar {SCORE_BAR_S:.0f} s "
                   f"(x{r['score_vs_bar']:.2f} of bar; predict only "
                   f"{r['baseline_predict_only_s']:.2f} s) for {r['score_rows']['risk']} risks, "
                   f"{r['score_rows']['wear']} wear forecasts")
