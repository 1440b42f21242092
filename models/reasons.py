"""Why a machine's component is at risk: per-prediction feature contributions, in words.

For each row, each feature in turn is replaced by its typical value (the training median
for that component, or the most common category) and the row is re-scored; the drop in
the model's log-odds is that feature's contribution to this prediction. Positive means
the feature's value on this machine raises the risk. All (rows x features) copies are
scored in one batch, so a few thousand high-risk rows take well under a second.
The log-odds come from the uncalibrated model: calibration is monotone and, being
stepwise (isotonic), would hide small but real differences.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from models import layout as lay
from models.estimators import log_odds, used_features


def contributions(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """A rows x features frame of log-odds contributions for the design rows `X`."""
    layout: lay.Layout = model.layout
    cols = list(layout.design_columns)
    used = used_features(model.base)
    feats = [c for c in cols if c != lay.COMPONENT_COL and (used is None or c in used)]
    base = X[cols].reset_index(drop=True)
    n = len(base)
    if n == 0:
        return pd.DataFrame(columns=feats)
    z0 = log_odds(model.base, base)
    comps = base[lay.COMPONENT_COL].astype(str).to_numpy()
    copies = []
    for f in feats:
        block = base.copy()
        ref = np.array([model.references.get(c, {}).get(f) for c in comps], dtype=object)
        if f in layout.categorical:
            block[f] = pd.Categorical(ref, categories=_categories(base[f], ref))
        else:
            block[f] = pd.to_numeric(pd.Series(ref), errors="coerce").to_numpy(dtype=float)
        copies.append(block)
    z = log_odds(model.base, pd.concat(copies, ignore_index=True)).reshape(len(feats), n)
    return pd.DataFrame((z0[None, :] - z).T, columns=feats)


def explain(model: Any, X: pd.DataFrame, *, top: int = 3,
            min_contribution: float = 0.05) -> list[list[dict[str, Any]]]:
    """The top reasons per design row: [{"feature","value","contribution","text"}, ...].

    ``feature`` is the real feature column of that machine (the component's own column
    for component features); ``value`` is its value on that row; only features that raise
    the risk by at least `min_contribution` in log-odds are given.
    """
    layout: lay.Layout = model.layout
    contrib = contributions(model, X)
    rows = X.reset_index(drop=True)
    out: list[list[dict[str, Any]]] = []
    values = contrib.to_numpy()
    names = list(contrib.columns)
    for i in range(len(rows)):
        comp = str(rows.at[i, lay.COMPONENT_COL])
        order = np.argsort(-values[i])[:top]
        reasons = []
        for j in order:
            c = float(values[i, j])
            if not c >= min_contribution:
                break
            generic = names[j]
            real = layout.real_name(generic, comp) or generic
            value = _plain(rows.at[i, generic])
            ref = _plain(model.references.get(comp, {}).get(generic))
            info = layout.info.get(real, lay.FeatureInfo(real))
            reasons.append({"feature": real, "value": value, "contribution": round(c, 3),
                            "text": describe(info, value, ref)})
        out.append(reasons)
    return out


def describe(info: lay.FeatureInfo, value: Any, typical: Any) -> str:
    """One line a planner reads: what the feature is, its value here, and what is typical.

    Units are turned into the planner's terms: shares as percentages, daily slopes as the
    change over their window ("+6 °C over 30 days"), hours past a service as "overdue by".
    """
    meaning = _short(info.meaning or info.name.replace("_", " "))
    unit = info.unit if info.unit not in ("", "1", "-", "bool", "count", "category") else ""
    if isinstance(value, bool) or info.kind == "boolean":
        return f"{meaning}: {'yes' if value else 'no'}"
    if isinstance(value, str):
        return f"{meaning}: {value}" + (f" (most machines: {typical})" if typical else "")
    if value is None:
        return f"{meaning}: no data"
    scale, suffix, signed = 1.0, f" {unit}" if unit else "", False
    window = re.search(r"_(\d+)d$", info.name)
    if unit.endswith("/d") and window and ("slope" in info.name or "trend" in info.name):
        days = int(window.group(1))
        scale, suffix, signed = days, f" {unit[:-2]} over {days} days", True
    elif unit == "share":
        scale, suffix = 100.0, " %"
    shown = _num(float(value) * scale, signed=signed)
    ref = (f" (typical {_num(float(typical) * scale, signed=signed)}{suffix})"
           if typical is not None and not isinstance(typical, str) else "")
    if info.name.startswith("overdue"):
        v = float(value)
        state = f"overdue by {_num(v)}{suffix}" if v > 0 else f"due in {_num(-v)}{suffix}"
        return f"{meaning}: {state}"
    return f"{meaning}: {shown}{suffix}{ref}"


def _short(meaning: str) -> str:
    """The meaning without asides: parentheses and anything after a semicolon."""
    text = re.sub(r"\s*\([^)]*\)", "", meaning.split(";")[0]).replace("_", " ")
    return text.strip().rstrip(".,") or meaning


def _num(x: Any, signed: bool = False) -> str:
    if x is None:
        return "?"
    x = float(x)
    if math.isnan(x):
        return "?"
    if abs(x) >= 100 or x == int(x):
        s = f"{x:,.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2g}" if abs(x) < 1 else f"{x:.1f}"
    return ("+" + s) if signed and x > 0 else s


def _plain(x: Any) -> Any:
    """A JSON-friendly scalar: numpy numbers to Python, NaN to None."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def _categories(column: pd.Series, ref: np.ndarray) -> list[Any]:
    known = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else []
    extra = [r for r in dict.fromkeys(ref.tolist()) if r is not None and r not in known]
    return known + extra
