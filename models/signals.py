"""Models on the signals a fleet has: inputs that carry nothing are left out, and rules
that rank nothing are not compared against.

A fleet without hydraulic sensors or wear-part records has whole feature columns that
are empty (or one value) in every training row. They cannot help a model, and some
estimators refuse them outright; they are dropped before fitting and listed with the
model. A rule whose score is the same for every row (or whose inputs are missing) picks
machines at random; the evaluation says so instead of claiming a ratio against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models import layout as lay
from models.timesplit import TimeSplit


def uninformative(frame: pd.DataFrame, layout: lay.Layout,
                  later: pd.DataFrame | None = None) -> dict[str, str]:
    """Design columns that are empty over `frame`'s rows, or constant over them and the
    `later` rows (the calibration period, which also shapes the model): name -> why.

    A component feature is judged over every component's column together (the design
    frame stacks them). A column with one value and some missing ones is kept: whether
    a value is there can itself tell something.
    """
    out: dict[str, str] = {}
    for col in layout.design_columns:
        if col == lay.COMPONENT_COL:
            continue
        real = (list(layout.component_features[col].values())
                if col in layout.component_features else [col])
        real = [c for c in real if c in frame.columns]
        if not real:
            continue
        values = frame[real]
        present = values.notna()
        if not present.to_numpy().any():
            out[col] = "empty"
            continue
        if later is not None:
            values = pd.concat([values, later[real]], ignore_index=True)
            present = values.notna()
        if present.to_numpy().all():
            stacked = pd.concat([values[c] for c in real], ignore_index=True)
            if stacked.nunique(dropna=True) <= 1:
                out[col] = "constant"
    return out


def informative_layout(frame: pd.DataFrame, layout: lay.Layout,
                       split: TimeSplit) -> tuple[lay.Layout, dict[str, str]]:
    """`layout` without the columns that are empty in the training period, or constant
    over the training and calibration periods (estimators cannot bin an empty column; a
    constant one cannot rank anything).

    Returns the layout unchanged (the same object) when every column carries something.
    """
    left_out = uninformative(split.select(frame, "train"), layout,
                             split.select(frame, "calibrate"))
    if not left_out:
        return layout, {}
    keep = [c for c in layout.design_columns if c not in left_out]
    return layout.restrict(keep), left_out


def rule_applicability(raw: np.ndarray) -> str | None:
    """Why a rule's scores rank nothing (None if they do rank)."""
    values = np.asarray(raw, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "its inputs are missing"
    if finite.min() == finite.max() and finite.size == values.size:
        return "it gives every row the same score"
    return None


def left_out_line(left_out: dict[str, Any]) -> str:
    """One line naming the inputs a model left out, for `fleetcare train`."""
    empty = sorted(c for c, why in left_out.items() if why == "empty")
    constant = sorted(c for c, why in left_out.items() if why == "constant")
    parts = []
    if empty:
        parts.append(f"{len(empty)} empty ({', '.join(empty)})")
    if constant:
        parts.append(f"{len(constant)} constant ({', '.join(constant)})")
    return ("left out " + " and ".join(parts) + " inputs of the training data"
            if parts else "every input carries information")
