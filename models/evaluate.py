"""Judge the model against today's rules and the oracle on the held-out (latest) period.

Every method is scored on the same rows: each (machine, component, day) of the evaluation
period whose label is known. Rules get an isotonic map from score to probability per
component, fitted on the calibration period, so their Brier score means something; the
model is already calibrated; the oracle is a probability by construction.

The leakage check: nothing that only knows the past can predict failures better than the
simulator's own risk. If any single feature, or the model, beats the oracle's PR-AUC on
the evaluation rows by more than chance (a machine-block bootstrap), it has seen the
future, and the check fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from fleetcare import catalogue as cat
from models import baselines, metrics, signals
from models import layout as lay
from models.errors import LeakageError
from models.oracle import oracle_risk
from models.risk import RiskModel, thin_days
from models.timesplit import require_after

log = logging.getLogger("models.evaluate")

METHODS = ("model", "calendar_rule", "hours_rule", "fault_rule", "oracle")
# Column names of the model's and the oracle's risk in the leakage check's frame (not
# "model": that is a feature, the machine's model code).
MODEL_P, ORACLE_P = "_model_risk", "_oracle_risk"
PLOT_BUDGETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2)


@dataclass
class Evaluation:
    """Per-method metrics, the rows they were computed on, and the leakage verdict."""

    results: dict[str, Any]
    predictions: pd.DataFrame            # keys, component, y and one column per method
    leakage: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The `fleetcare evaluate --json` object: methods side by side, then `meta`."""
        return {**self.results, "meta": {**self.meta, "leakage": self.leakage}}


def evaluate(model: RiskModel, frame: pd.DataFrame, *, truth: pd.DataFrame | None = None,
             budgets: tuple[float, ...] = metrics.BUDGETS, check_leakage: bool = True,
             extra_models: dict[str, RiskModel] | None = None,
             max_rows_all_days: int = 300_000) -> Evaluation:
    """Score every method on `model`'s evaluation period of the labelled `frame`."""
    split = model.split
    ev_rows = split.select(frame, "evaluate")
    cal_rows = split.select(frame, "calibrate")
    # Large fleets: every metric on the weekly decision days only (recall uses only those
    # anyway); an unbiased subsample that keeps memory and time in bounds.
    all_days = len(ev_rows) <= max_rows_all_days
    if not all_days:
        ev_rows = ev_rows.loc[pd.to_datetime(ev_rows["day"]).isin(
            metrics.decision_days(ev_rows["day"])).to_numpy()]
        cal_rows = thin_days(cal_rows, metrics.DECISION_EVERY_D)
    Xe = model.design(ev_rows, with_labels=True)
    Xc = model.design(cal_rows, with_labels=True)
    require_after(Xe, split.calib_end, "evaluation")
    pred = Xe[[*lay.KEYS, lay.COMPONENT_COL, "y"]].copy()
    pred["model"] = model.predict_design(Xe)
    for name, other in (extra_models or {}).items():
        pred[name] = other.predict_design(other.design(ev_rows, with_labels=True))
    # Rules read their own inputs (hour intervals, fault counts, age), whatever features
    # the model kept: score them on the full layout's rows, aligned to the model's rows.
    full = lay.resolve(frame)
    Rc = _aligned(lay.design(cal_rows, full, with_labels=True), Xc)
    Re = _aligned(lay.design(ev_rows, full, with_labels=True), Xe)
    not_applicable: dict[str, str] = {}
    for rule in baselines.RULES:
        try:
            raw_c, raw_e = baselines.score(rule, Rc), baselines.score(rule, Re)
        except KeyError as exc:
            log.warning("%s left out: %s", rule, exc)
            not_applicable[rule] = "its inputs are missing"
            continue
        if why := signals.rule_applicability(raw_e):
            not_applicable[rule] = why
        pred[rule] = calibrate_rule(raw_c, Xc, raw_e, Xe)
    if truth is not None:
        oracle = oracle_risk(truth, model.horizon_d)
        left = pred[[*lay.KEYS, lay.COMPONENT_COL]].astype({"machine_id": str})
        merged = left.merge(
            _typed_keys(oracle), on=[*lay.KEYS, lay.COMPONENT_COL], how="left")
        pred["oracle"] = merged["p"].to_numpy()
    results: dict[str, Any] = {}
    for method in [*METHODS, *(extra_models or {})]:
        if method not in pred:
            continue
        rows = pred.dropna(subset=[method])
        results[method] = metrics.summarize(rows.assign(p=rows[method]), budgets)
        if len(rows) < len(pred):
            results[method]["rows_missing"] = int(len(pred) - len(rows))
    for rule in baselines.RULES:
        if rule in results:
            results[rule]["applicable"] = rule not in not_applicable
        if rule in not_applicable:
            results.setdefault(rule, {"applicable": False})
            results[rule]["not_applicable"] = not_applicable[rule]
    leak: dict[str, Any] = {}
    if check_leakage and "oracle" in pred:
        leak = leakage_check(Xe.assign(**{MODEL_P: pred["model"].to_numpy(),
                                          ORACLE_P: pred["oracle"].to_numpy()}), model.layout)
    meta = {
        "split": split.to_dict(), "horizon_d": model.horizon_d, "variant": model.variant,
        "budgets": [metrics.budget_key(b) for b in budgets],
        "machines": int(pred["machine_id"].nunique()), "rows": int(len(pred)),
        "eval_days": "all" if all_days else "weekly decision days",
        "failure_rows": int(pred["y"].sum()),
        "selection": model.metrics.get("selection"),
        "bars": bars(results),
    }
    return Evaluation(results, pred, leak, meta)


def calibrate_rule(raw_calib: np.ndarray, Xc: pd.DataFrame, raw_eval: np.ndarray,
                   Xe: pd.DataFrame) -> np.ndarray:
    """Map rule scores to probabilities: isotonic per component, fitted on calibration rows."""
    out = np.full(len(Xe), np.nan)
    comps_c = Xc[lay.COMPONENT_COL].astype(str).to_numpy()
    comps_e = Xe[lay.COMPONENT_COL].astype(str).to_numpy()
    y_c = Xc["y"].to_numpy(dtype=float)
    overall = float(y_c.mean()) if len(y_c) else 0.0
    for comp in np.unique(comps_e):
        me, mc = comps_e == comp, comps_c == comp
        if mc.sum() < 50 or len(np.unique(y_c[mc])) < 2:
            out[me] = y_c[mc].mean() if mc.any() else overall
            continue
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0, y_max=1)
        iso.fit(np.nan_to_num(raw_calib[mc]), y_c[mc])
        out[me] = iso.predict(np.nan_to_num(raw_eval[me]))
    return out


def bars(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's bars: recall at 2 % vs the best *applicable* rule (one whose scores rank
    something), and share of the PR-AUC gap closed."""
    rules = [r for r in baselines.RULES
             if r in results and results[r].get("applicable", True)]
    if "model" not in results:
        return {}
    if not rules:
        return {"best_rule_recall_0.02": None, "recall_0.02_ratio_vs_best_rule": None,
                "best_rule_pr_auc": None, "pr_auc_gap_closed": None,
                "recall_bar_met": False, "gap_bar_met": False,
                "note": "no rule ranks anything on this fleet: no ratio to report"}

    def recall2(m: str) -> float:
        return results[m]["recall_at_budget"].get("0.02") or 0.0

    def ap(m: str) -> float:
        return results[m]["pr_auc"] or 0.0

    best_recall_rule = max(rules, key=recall2)
    best_ap_rule = max(rules, key=ap)
    out: dict[str, Any] = {
        "best_rule_recall_0.02": best_recall_rule,
        "recall_0.02_ratio_vs_best_rule": (round(recall2("model") / recall2(best_recall_rule), 3)
                                           if recall2(best_recall_rule) > 0 else None),
        "best_rule_pr_auc": best_ap_rule,
    }
    if "oracle" in results:
        gap = ap("oracle") - ap(best_ap_rule)
        out["pr_auc_gap_closed"] = (round((ap("model") - ap(best_ap_rule)) / gap, 3)
                                    if gap > 0 else None)
    out["recall_bar_met"] = bool((out["recall_0.02_ratio_vs_best_rule"] or 0) >= 2.0)
    out["gap_bar_met"] = bool((out.get("pr_auc_gap_closed") or 0) >= 0.7)
    return out


def leakage_check(X: pd.DataFrame, layout: lay.Layout, *, margin: float = 0.02,
                  n_boot: int = 200, seed: int = 0, raise_on_leak: bool = False
                  ) -> dict[str, Any]:
    """Flag every feature (and the model) whose PR-AUC beats the oracle's beyond chance.

    `X` is the labelled design frame of the evaluation period with the oracle's and the
    model's risk in columns ``ORACLE_P`` and ``MODEL_P``. A feature is tried in both
    directions (missing = least risky).
    Beating the oracle needs the 5th percentile of the machine-block bootstrap of
    (feature AP - oracle AP) above `margin`. Returns the verdict and the worst offenders.
    """
    rows = X.dropna(subset=[ORACLE_P])
    y = rows["y"].to_numpy(dtype=float)
    oracle = rows[ORACLE_P].to_numpy(dtype=float)
    ap_oracle = metrics.pr_auc(y, oracle) or 0.0
    candidates: dict[str, np.ndarray] = {}
    for col in layout.design_columns:
        if col == lay.COMPONENT_COL or col in layout.categorical or col not in rows:
            continue
        v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
        if np.all(np.isnan(v)):
            continue
        # Missing is the least risky value in both directions.
        candidates[col] = np.where(np.isnan(v), np.nanmin(v) - 1.0, v)
        candidates[f"-{col}"] = -np.where(np.isnan(v), np.nanmax(v) + 1.0, v)
    if MODEL_P in rows:
        candidates["model"] = rows[MODEL_P].to_numpy(dtype=float)
    scored = {name: metrics.pr_auc(y, s) or 0.0 for name, s in candidates.items()}
    suspects = sorted((n for n in scored if scored[n] > ap_oracle + margin),
                      key=lambda n: -scored[n])
    rng = np.random.default_rng(seed)
    machines = rows["machine_id"].astype(str).to_numpy()
    uniq, inverse = np.unique(machines, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(uniq))]
    flagged = []
    for name in suspects[:10]:
        diffs = []
        for _ in range(n_boot):
            pick = np.concatenate([members[i] for i in rng.integers(len(uniq), size=len(uniq))])
            diffs.append((metrics.pr_auc(y[pick], candidates[name][pick]) or 0.0)
                         - (metrics.pr_auc(y[pick], oracle[pick]) or 0.0))
        low = float(np.quantile(diffs, 0.05))
        if low > margin:
            flagged.append({"feature": name.lstrip("-"), "pr_auc": round(scored[name], 4),
                            "oracle_pr_auc": round(ap_oracle, 4), "lower_5pct_gain": round(low, 4)})
    top = sorted(scored.items(), key=lambda kv: -kv[1])[:5]
    verdict = {
        "passed": not flagged, "oracle_pr_auc": round(ap_oracle, 4),
        "model_pr_auc": round(scored.get("model", 0.0), 4),
        "flagged": flagged,
        "best_single_features": [{"feature": n.lstrip("-"), "pr_auc": round(v, 4)}
                                 for n, v in top if n != "model"],
    }
    if flagged and raise_on_leak:
        raise LeakageError(
            "features predict failures better than the simulator's own risk (they see the "
            f"future): {', '.join(str(f['feature']) for f in flagged)}")
    return verdict


def _aligned(rows: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """`rows` reordered to the (machine, day, component) rows of `like`."""
    keys = [*lay.KEYS, lay.COMPONENT_COL]
    left = like[keys].astype({"machine_id": str, lay.COMPONENT_COL: str})
    right = rows.drop(columns=["y"]).astype({"machine_id": str, lay.COMPONENT_COL: str})
    out = left.merge(right, on=keys, how="left", validate="one_to_one")
    out["y"] = like["y"].to_numpy()
    return out


def _typed_keys(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["day"] = pd.to_datetime(out["day"])
    out["machine_id"] = out["machine_id"].astype(str)
    out[lay.COMPONENT_COL] = pd.Categorical(out[lay.COMPONENT_COL].astype(str),
                                            categories=list(cat.COMPONENTS))
    return out
