"""Averages over replications and paired differences with confidence intervals.

Policies of one replication share every random draw, so predictive minus another
policy is a paired difference per replication; its mean gets a Student-t interval over
replications (no interval from a single replication).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# Metrics summarised per policy (means over replications) and compared in differences.
METRICS: tuple[str, ...] = (
    "breakdowns", "peak_breakdowns", "component_failures", "downtime_h",
    "breakdown_downtime_h", "visit_downtime_h", "visits", "visits_planned", "defects_found",
    "service_cost", "visit_cost", "visit_parts_cost", "visit_labour_travel_cost",
    "other_service_cost", "express_parts_cost", "breakdown_cost", "breakdown_repair_cost",
    "breakdown_downtime_cost", "total_cost", "fill_rate", "mean_stock_value",
    "parts_ordered_value", "tech_days_used", "tech_days_available", "technician_utilisation",
    "visits_dispatched", "lodging_cost",
)
COMPARED: tuple[str, ...] = ("breakdowns", "peak_breakdowns", "downtime_h", "service_cost",
                             "breakdown_cost", "total_cost", "fill_rate")
CONFIDENCE = 0.95


def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def mean_ci(values: Sequence[float]) -> dict[str, Any]:
    """Mean, standard deviation and the two-sided t interval of the mean."""
    n = len(values)
    mean = sum(values) / n
    out: dict[str, Any] = {"mean": mean, "n": n, "sd": None, "ci95": None}
    if n >= 2:
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = t_quantile(n - 1) * sd / math.sqrt(n)
        out.update(sd=sd, ci95=[mean - half, mean + half])
    return out


def policy_means(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per policy, each metric's mean over replications."""
    out = {}
    for policy, results in runs.items():
        row: dict[str, Any] = {}
        for m in METRICS:
            values = [r[m] for r in results if r.get(m) is not None]
            row[m] = _round(sum(values) / len(values)) if values else None
        out[policy] = row
    return out


def differences(runs: Mapping[str, Sequence[Mapping[str, Any]]], focus: str = "predictive"
                ) -> dict[str, dict[str, Any]]:
    """`focus` minus each other policy, paired by replication, per compared metric."""
    if focus not in runs:
        return {}
    out = {}
    base = runs[focus]
    for other, results in runs.items():
        if other == focus:
            continue
        per_metric = {}
        for m in COMPARED:
            pairs = [(a[m], b[m]) for a, b in zip(base, results, strict=True)
                     if a.get(m) is not None and b.get(m) is not None]
            if not pairs:
                continue
            diff = mean_ci([a - b for a, b in pairs])
            ref = sum(b for _, b in pairs) / len(pairs)
            entry = {"mean": _round(diff["mean"]),
                     "ci95": [_round(x) for x in diff["ci95"]] if diff["ci95"] else None,
                     "relative": _round(diff["mean"] / ref, 4) if ref else None,
                     # bool(): numpy metrics compare to numpy bools, which JSON spells "True"
                     "excludes_zero": bool(diff["ci95"] is not None
                                           and (diff["ci95"][0] > 0 or diff["ci95"][1] < 0))}
            per_metric[m] = entry
        out[f"{focus}_vs_{other}"] = per_metric
    return out


def bars(means: Mapping[str, Mapping[str, Any]], diffs: Mapping[str, Mapping[str, Any]],
         runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """The bar: predictive against the best rule on each measure. Peak breakdowns are
    compared with the rule that has fewest (calendar or hours), total cost with the
    cheapest rule, so neither half can be met by picking the weaker rule."""
    rules = [p for p in ("calendar", "hours") if p in means]
    if "predictive" not in means or not rules:
        return {}
    best = min(rules, key=lambda p: (means[p]["peak_breakdowns"], means[p]["total_cost"]))
    cheapest = min(rules, key=lambda p: means[p]["total_cost"])
    peak = diffs.get(f"predictive_vs_{best}", {}).get("peak_breakdowns", {})
    cost = diffs.get(f"predictive_vs_{cheapest}", {}).get("total_cost", {})
    peak_ref = means[best]["peak_breakdowns"] or 0
    peak_red = (1 - means["predictive"]["peak_breakdowns"] / peak_ref) if peak_ref else None
    per_rep = [1 - a["peak_breakdowns"] / b["peak_breakdowns"]
               for a, b in zip(runs["predictive"], runs[best], strict=True)
               if b["peak_breakdowns"]]
    out = {
        "best_rule": best,
        "cheapest_rule": cheapest,
        "peak_breakdown_reduction": _round(peak_red, 4),
        "peak_breakdown_reduction_by_replication": [_round(x, 4) for x in per_rep],
        "peak_breakdowns_diff_ci95": peak.get("ci95"),
        "total_cost_diff": cost.get("mean"),
        "total_cost_diff_ci95": cost.get("ci95"),
        "peak_reduction_at_least_30pct": peak_red is not None and peak_red >= 0.30,
        "lower_total_cost_ci_excludes_zero": bool(cost.get("ci95") and cost["ci95"][1] < 0),
        "peak_reduction_ci_excludes_zero": bool(peak.get("ci95") and peak["ci95"][1] < 0),
    }
    out["met"] = bool(out["peak_reduction_at_least_30pct"]
                      and out["lower_total_cost_ci_excludes_zero"]
                      and out["peak_reduction_ci_excludes_zero"])
    return out


def ablation(runs: Mapping[str, Sequence[Mapping[str, Any]]], ablated: Sequence[str],
             full: str = "predictive") -> list[dict[str, Any]]:
    """What each switched-off piece was worth: the ablated policy minus the full one,
    paired by replication (positive: the piece prevents that many / saves that much)."""
    rows = []
    base = runs[full]
    for name in ablated:
        row: dict[str, Any] = {"policy": name}
        for m in ("peak_breakdowns", "breakdowns", "total_cost", "tech_days_used"):
            pairs = [(a[m], b[m]) for a, b in zip(runs[name], base, strict=True)
                     if a.get(m) is not None and b.get(m) is not None]
            if not pairs:
                continue
            diff = mean_ci([a - b for a, b in pairs])
            row[m] = _round(sum(a for a, _ in pairs) / len(pairs))
            row[f"{m}_contribution"] = _round(diff["mean"])
            row[f"{m}_contribution_ci95"] = ([_round(x) for x in diff["ci95"]]
                                             if diff["ci95"] else None)
        rows.append(row)
    return rows


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(float(x), digits)
