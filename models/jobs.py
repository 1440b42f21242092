"""The models stage's jobs as functions: train, evaluate, score (the CLI and scheduler call these).

Training reads the labelled features, splits by date (train, then calibrate, then hold
out the latest period), fits and calibrates the risk model, measures it on the held-out
period against the rules, fits the wear-part lives on the same history, and stores both
as versions in the registry (active unless told otherwise).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from models import evaluate as ev
from models import inputs, registry, risk, signals, timesplit, wear
from models import layout as lay
from models.errors import NoActiveModelError

log = logging.getLogger("models.jobs")

DEFAULT_HORIZON_D = 30


@dataclass
class TrainResult:
    risk_model_id: int | None
    wear_model_id: int | None
    risk: risk.RiskModel
    wear: wear.WearModel
    evaluation: dict[str, Any]
    seconds: dict[str, float]


def train_on_frame(frame: pd.DataFrame, *, horizon_d: int = DEFAULT_HORIZON_D,
                   config: risk.TrainConfig | None = None,
                   split: timesplit.TimeSplit | None = None) -> tuple[risk.RiskModel,
                                                                      wear.WearModel,
                                                                      dict[str, Any]]:
    """Fit both models on a labelled features frame; evaluate the risk model (no oracle)."""
    layout = lay.resolve(frame)
    if split is None:
        first = pd.to_datetime(frame["day"]).min().date()
        split = timesplit.default_split(first, risk.last_labelled_day(frame, layout), horizon_d)
    log.info("time split: train %s..%s, calibrate %s..%s, evaluate %s..%s",
             split.train_start, split.train_end, split.calib_start, split.calib_end,
             split.eval_start, split.eval_end)
    # A fleet without some signals (no sensors, no wear-part records): leave out the
    # inputs that are empty or constant in the training period, and say which.
    layout, left_out = signals.informative_layout(frame, layout, split)
    if left_out:
        log.info("%s", signals.left_out_line(left_out))
    rmodel = risk.train(frame, split, config, layout=layout)
    rmodel.metrics["left_out"] = left_out
    evaluation = ev.evaluate(rmodel, frame, truth=None, check_leakage=False)
    rmodel.metrics["evaluation"] = {
        m: {k: v for k, v in r.items() if k not in ("calibration", "per_component")}
        for m, r in evaluation.results.items()}
    # Part lives are not judged on a held-out window: they learn from the whole history.
    wmodel = wear.train(frame)
    return rmodel, wmodel, evaluation.as_json()


def train(conn_or_url: psycopg.Connection | str, *, horizon_d: int = DEFAULT_HORIZON_D,
          config: risk.TrainConfig | None = None, activate: bool = True,
          days: tuple[date, date] | None = None) -> TrainResult:
    """Load labelled features, fit, evaluate, store (and activate) both models."""
    seconds: dict[str, float] = {}
    t = time.monotonic()
    frame = inputs.load_features(conn_or_url, days=days, labels=horizon_d)
    seconds["load_s"] = time.monotonic() - t
    t = time.monotonic()
    rmodel, wmodel, evaluation = train_on_frame(frame, horizon_d=horizon_d, config=config)
    seconds["fit_s"] = time.monotonic() - t
    split = rmodel.split
    risk_id = registry.store(
        conn_or_url, rmodel, metrics=rmodel.metrics,
        params={"horizon_d": horizon_d, "variant": rmodel.variant, **rmodel.config,
                "split": split.to_dict()},
        train_start=split.train_start, train_end=split.train_end, calib_end=split.calib_end,
        activate=activate)
    wear_id = registry.store(
        conn_or_url, wmodel, metrics=wmodel.metrics, params={"history": "all"},
        train_start=pd.to_datetime(frame["day"]).min().date(),
        train_end=pd.to_datetime(frame["day"]).max().date(), activate=activate)
    return TrainResult(risk_id, wear_id, rmodel, wmodel, evaluation, seconds)


def evaluate(conn_or_url: psycopg.Connection | str, *, model_id: int | None = None,
             with_oracle: bool = True) -> ev.Evaluation:
    """Evaluate a stored risk model (default the active one) on its held-out period."""
    if model_id is None:
        model_id, rmodel = registry.load_active(conn_or_url, risk.KIND)
    else:
        rmodel = registry.load(conn_or_url, model_id)
    split = rmodel.split
    frame = inputs.load_features(conn_or_url, days=(split.calib_start, split.eval_end),
                                 labels=rmodel.horizon_d)
    truth = None
    if with_oracle:
        from models.oracle_store import load_truth

        truth = load_truth(conn_or_url, split.eval_start, split.eval_end)
        if truth is None:
            log.warning("no truth store in this database: the oracle is left out")
    result = ev.evaluate(rmodel, frame, truth=truth)
    result.meta["model_id"] = model_id
    return result


def held_out_scores(model: risk.RiskModel, frame: pd.DataFrame,
                    split: timesplit.TimeSplit) -> dict[str, Any]:
    """PR-AUC, Brier and recall at budget of `model` on `split`'s evaluation period."""
    from models import metrics

    X = model.design(split.select(frame, "evaluate"), with_labels=True)
    return metrics.summarize(X.assign(p=model.predict_design(X)), with_table=False,
                             by_component=False)


def retrain_and_promote(conn_or_url: psycopg.Connection | str, *,
                        horizon_d: int = DEFAULT_HORIZON_D, budget: str = "0.02",
                        config: risk.TrainConfig | None = None) -> dict[str, Any]:
    """Train new versions; make them active only if the new risk model catches more failures
    at `budget` than the active one on the new model's held-out window (the latest one).

    For the scheduler's weekly retraining. The active model is judged on the same rows;
    its own training ended before that window, so the comparison is fair to both.
    """
    result = train(conn_or_url, horizon_d=horizon_d, config=config, activate=False)
    try:
        old_id, old = registry.load_active(conn_or_url, risk.KIND)
    except NoActiveModelError:
        old_id, old = None, None
    split = result.risk.split
    frame = inputs.load_features(conn_or_url, days=(split.eval_start, split.eval_end),
                                 labels=horizon_d)
    new_scores = held_out_scores(result.risk, frame, split)
    old_scores = None
    if old is not None:
        try:
            old_scores = held_out_scores(old, frame, split)
        except Exception as exc:  # noqa: BLE001 - e.g. its features no longer exist
            log.warning("active model %s cannot be judged on the new window: %s", old_id, exc)
    new_recall = new_scores["recall_at_budget"].get(budget) or 0.0
    old_recall = (old_scores or {}).get("recall_at_budget", {}).get(budget) or 0.0
    promote = bool(old_scores is None or new_recall > old_recall)
    if promote:
        registry.activate(conn_or_url, result.risk_model_id)  # type: ignore[arg-type]
        registry.activate(conn_or_url, result.wear_model_id)  # type: ignore[arg-type]
    log.info("retrained: new recall@%s %.4f vs active %.4f: %s", budget, new_recall,
             old_recall, "promoted" if promote else "kept the active model")
    return {"promoted": promote, "new_model_id": result.risk_model_id,
            "active_model_id": result.risk_model_id if promote else old_id,
            "new": new_scores, "active_before": old_scores, "window": split.to_dict()}
