"""Metrics planners understand: PR-AUC, Brier, a calibration table, failures caught at a budget.

Every function takes a long frame of predictions, one row per (machine, component, day),
with the columns ``machine_id``, ``component``, ``day``, ``y`` (1 = the component fails
within the horizon after that day; censored rows already removed) and ``p`` (the method's
probability, or any score where higher means riskier for the rank-based metrics).

Recall at visit budget, precisely
---------------------------------
The service network visits a fixed share ``b`` of the fleet each week. On every decision
day ``d`` (the first day of the evaluation period, then every 7 days):

* ``n_d`` = machines with a row on ``d``; ``k_d = max(1, round(b * n_d))``;
* each machine's score is the expected number of failures, ``s_m = sum_c p(m, c, d)``
  (the ranking that maximises expected failures caught by ``k_d`` visits);
* ``failures_d = sum over machines and components of y(m, c, d)``: every component
  failure in the next H days, counted once per component and decision day;
* ``caught_d`` = the failures on the ``k_d`` top-ranked machines. Ties at the cut-off are
  broken at random, and the expectation is taken, so rules with few distinct scores are
  judged fairly and deterministically.

``recall@b = sum_d caught_d / sum_d failures_d``. Per component the same, with ``s_m`` the
risk of that component only and only its failures counted, ``k_d`` still from the fleet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

BUDGETS: tuple[float, ...] = (0.01, 0.02, 0.05)
DECISION_EVERY_D = 7
# Fixed edges fit rare events better than deciles: most risks are below 5 %.
CALIBRATION_EDGES: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0)


def pr_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Average precision (area under the precision-recall curve); None without positives."""
    y = np.asarray(y)
    if y.sum() == 0 or y.sum() == len(y):
        return None
    return float(average_precision_score(y, np.asarray(p, dtype=float)))


def brier(y: np.ndarray, p: np.ndarray) -> float | None:
    """Mean squared difference between probability and outcome (lower is better)."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        return None
    return float(np.mean((np.asarray(p, dtype=float) - y) ** 2))


def calibration_table(y: np.ndarray, p: np.ndarray,
                      edges: Sequence[float] = CALIBRATION_EDGES) -> list[dict[str, float | int]]:
    """Per risk band: rows, mean predicted risk, observed failure rate (empty bands left out)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    band = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    out: list[dict[str, float | int]] = []
    for b in range(len(edges) - 1):
        mask = band == b
        n = int(mask.sum())
        if n == 0:
            continue
        out.append({
            "lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n,
            "predicted": round(float(p[mask].mean()), 5),
            "observed": round(float(y[mask].mean()), 5),
        })
    return out


def decision_days(days: pd.Series, every_d: int = DECISION_EVERY_D) -> np.ndarray:
    """The weekly decision days among `days`: the first one, then every `every_d` days."""
    unique = np.sort(pd.to_datetime(days).unique())
    if len(unique) == 0:
        return unique
    first = unique[0]
    offset = (unique - first) // np.timedelta64(1, "D")
    return unique[offset % every_d == 0]


def _caught_at_k(scores: np.ndarray, failures: np.ndarray, k: int) -> float:
    """Expected failures on the top-k machines, ties at the cut-off broken at random."""
    if k <= 0 or len(scores) == 0:
        return 0.0
    if k >= len(scores):
        return float(failures.sum())
    order = np.argsort(-scores, kind="stable")
    s, f = scores[order], failures[order]
    cut = s[k - 1]
    above = s > cut
    tied = s == cut
    slots = k - int(above.sum())
    return float(f[above].sum() + f[tied].sum() * slots / int(tied.sum()))


def recall_at_budget(pred: pd.DataFrame, budgets: Iterable[float] = BUDGETS, *,
                     component: str | None = None,
                     every_d: int = DECISION_EVERY_D) -> dict[str, float | None]:
    """Share of the next H days' failures on the top ``b`` share of machines (see module doc).

    Keys are the budgets formatted like ``"0.02"``; None when no failure lies ahead.
    """
    budgets = tuple(budgets)
    days = decision_days(pred["day"], every_d)
    rows = pred.loc[pd.to_datetime(pred["day"]).isin(days).to_numpy()]
    fleet = rows.groupby("day", observed=True)["machine_id"].nunique()
    if component is not None:
        rows = rows.loc[(rows["component"] == component).to_numpy()]
    per_machine = rows.groupby(["day", "machine_id"], observed=True, sort=False).agg(
        s=("p", "sum"), f=("y", "sum"))
    caught = dict.fromkeys(budgets, 0.0)
    total = 0.0
    for day, group in per_machine.groupby(level="day", sort=False):
        scores = group["s"].to_numpy(dtype=float)
        fails = group["f"].to_numpy(dtype=float)
        total += fails.sum()
        n = int(fleet.loc[day])
        for b in budgets:
            caught[b] += _caught_at_k(scores, fails, max(1, round(b * n)))
    return {budget_key(b): (round(caught[b] / total, 5) if total > 0 else None) for b in budgets}


def budget_key(b: float) -> str:
    """The JSON key of a budget share: 0.02 -> "0.02"."""
    return f"{b:.2f}" if round(b, 2) == b else f"{b:g}"


def summarize(pred: pd.DataFrame, budgets: Iterable[float] = BUDGETS, *,
              by_component: bool = True, with_table: bool = True) -> dict[str, object]:
    """All metrics of one method: overall, per component, calibration table."""
    budgets = tuple(budgets)
    y = pred["y"].to_numpy(dtype=float)
    p = pred["p"].to_numpy(dtype=float)
    out: dict[str, object] = {
        "pr_auc": _round(pr_auc(y, p)),
        "brier": _round(brier(y, p), 6),
        "recall_at_budget": recall_at_budget(pred, budgets),
        "rows": int(len(pred)),
        "positives": int(y.sum()),
    }
    if with_table:
        out["calibration"] = calibration_table(y, p)
    if by_component:
        comps: dict[str, object] = {}
        for comp, part in pred.groupby("component", observed=True, sort=True):
            yc = part["y"].to_numpy(dtype=float)
            pc = part["p"].to_numpy(dtype=float)
            comps[str(comp)] = {
                "pr_auc": _round(pr_auc(yc, pc)),
                "brier": _round(brier(yc, pc), 6),
                "recall_at_budget": recall_at_budget(pred, budgets, component=str(comp)),
                "rows": int(len(part)),
                "positives": int(yc.sum()),
            }
        out["per_component"] = comps
    return out


def _round(x: float | None, digits: int = 5) -> float | None:
    return None if x is None or math.isnan(x) else round(x, digits)
