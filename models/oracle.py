"""The oracle: the simulator's own failure risk, the best any model can do.

Only the evaluator (and tests) may use this module: it reads the simulator's truth store
(schema ``truth``), which no production stage reads.

The risk of component c of machine m failing within H days after day d:

* when the truth store holds the simulator's own ``risk30`` (its state on day d, with the
  expected hours of the next 30 days), that is the oracle for H = 30;
* otherwise ``1 - exp(-sum of the daily hazard over d+1..d+H)``, where, after the first
  failure in the window, the hazard of the failure day is held: a repair resets the
  hazard, and integrating the repaired part's low hazard would make the oracle blind
  exactly where failures happen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def oracle_risk(truth: pd.DataFrame, horizon_d: int) -> pd.DataFrame:
    """machine_id, day, component, p from a long truth frame.

    `truth` has machine_id, day, component and either ``risk{horizon_d}`` or ``hazard``
    (daily probability-scale hazard), optionally ``failed`` (bool, failure that day).
    """
    risk_col = f"risk{horizon_d}"
    keys = ["machine_id", "day", "component"]
    if risk_col in truth.columns:
        out = truth[keys].copy()
        out["p"] = pd.to_numeric(truth[risk_col], errors="coerce").to_numpy(dtype=float)
        out["day"] = pd.to_datetime(out["day"])
        return out.dropna(subset=["p"])
    return _integrate(truth, horizon_d)


def _integrate(truth: pd.DataFrame, horizon_d: int) -> pd.DataFrame:
    frame = truth.copy()
    frame["day"] = pd.to_datetime(frame["day"])
    days = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D")
    series = frame.set_index(["machine_id", "component", "day"])
    hz = series["hazard"].unstack("day").reindex(columns=days)
    failed = (series["failed"].astype(bool).unstack("day").reindex(columns=days)
              if "failed" in series.columns else None)
    h = np.nan_to_num(hz.to_numpy(dtype=float))
    n, t = h.shape
    f = (np.zeros_like(h, dtype=bool) if failed is None
         else failed.fillna(False).to_numpy(dtype=bool))
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(h, axis=1)], axis=1)
    # next_fail[:, d] = first failure day index > d (t = none), by a backward scan.
    next_fail = np.full((n, t), t, dtype=np.int64)
    upcoming = np.full(n, t, dtype=np.int64)
    for d in range(t - 1, -1, -1):
        next_fail[:, d] = upcoming
        upcoming = np.where(f[:, d], d, upcoming)
    p = np.full((n, t), np.nan)
    last = t - horizon_d
    if last > 0:
        start = np.arange(last)[None, :]
        end = start + horizon_d                          # last day of the window
        stop = np.minimum(next_fail[:, :last], end)      # integrate up to the failure day
        rows = np.arange(n)[:, None]
        integral = cs[rows, stop + 1] - cs[rows, start + 1]
        held = np.where(next_fail[:, :last] <= end,
                        (end - stop) * h[rows, np.minimum(stop, t - 1)], 0.0)
        p[:, :last] = -np.expm1(-(integral + held))
    out = pd.DataFrame(p, index=hz.index, columns=days).stack(future_stack=True)
    out = out.rename("p").reset_index().rename(columns={"level_2": "day"})
    out.columns = ["machine_id", "component", "day", "p"]
    return out.dropna(subset=["p"])[["machine_id", "day", "component", "p"]]
