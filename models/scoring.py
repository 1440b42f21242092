"""Score a fleet for a day with the active models: risk per component, reasons, wear due dates.

``score_frame`` works on a features frame in memory (the backtest's fast path);
``score_day`` loads that day's features from the database, scores, and (by default)
writes ``risk_scores`` and ``wear_forecasts`` for that day, replacing earlier rows of the
same day and machines, so re-running a day is idempotent.

Reasons are computed for the riskiest rows only (the top `reasons_share` of the day's
machine-components, at least `min_reasons`, at most `max_reasons`): those are the ones a
planner reads, and a contribution costs one re-scoring per feature the trees use.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from fleetcare.db import connect
from fleetcare.queries import load
from models import inputs, reasons, registry
from models import layout as lay
from models.errors import NoActiveModelError
from models.fault_detail import add_codes
from models.risk import KIND as RISK_KIND
from models.risk import RiskModel
from models.wear import KIND as WEAR_KIND
from models.wear import WearModel

log = logging.getLogger("models.scoring")
_Q = load("models", "scoring.sql")

REASONS_SHARE = 0.05
MIN_REASONS = 50
MAX_REASONS = 1500


@dataclass
class ScoreResult:
    """What one scoring run produced and how long each step took."""

    day: date
    risk: pd.DataFrame                    # machine_id, component, risk, reasons
    wear: pd.DataFrame                    # machine_id, part, used_hours, due_hours, ...
    risk_model_id: int | None = None
    wear_model_id: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(), "machines": int(self.risk["machine_id"].nunique()),
            "risk_rows": len(self.risk), "wear_rows": len(self.wear),
            "with_reasons": int((self.risk["reasons"].map(len) > 0).sum()),
            "risk_model_id": self.risk_model_id, "wear_model_id": self.wear_model_id,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def score_frame(model: RiskModel, frame: pd.DataFrame, *, reasons_share: float = REASONS_SHARE,
                min_reasons: int = MIN_REASONS, max_reasons: int = MAX_REASONS,
                timings: dict[str, float] | None = None) -> pd.DataFrame:
    """machine_id, day, component, risk, reasons for every machine-day-component of `frame`."""
    t0 = time.monotonic()
    X = model.design(frame)
    risk = model.predict_design(X)
    t1 = time.monotonic()
    out = X[[*lay.KEYS, lay.COMPONENT_COL]].copy()
    out[lay.COMPONENT_COL] = out[lay.COMPONENT_COL].astype(str)
    out["machine_id"] = out["machine_id"].astype(str)
    out["risk"] = risk
    n = min(max(int(np.ceil(reasons_share * len(out))), min_reasons), max_reasons, len(out))
    explained: list[list[dict[str, Any]]] = [[] for _ in range(len(out))]
    if n:
        top = np.argsort(-risk, kind="stable")[:n]
        for i, why in zip(top, reasons.explain(model, X.iloc[top]), strict=True):
            explained[i] = why
    out["reasons"] = explained
    if timings is not None:
        timings["predict_s"] = t1 - t0
        timings["reasons_s"] = time.monotonic() - t1
    return out


def score_day(conn_or_url: psycopg.Connection | str, day: date | None = None, *,
              machines: Sequence[str] | None = None, frame: pd.DataFrame | None = None,
              write: bool = True, risk_model: tuple[int, RiskModel] | None = None,
              wear_model: tuple[int, WearModel] | None = None,
              reasons_share: float = REASONS_SHARE) -> ScoreResult:
    """Score `machines` (default all) on `day` (default the latest feature day).

    The backtest calls this every simulated week: the active models are unpickled once
    per process (registry cache), features are read for that one day, and with
    ``write=False`` nothing is written. Pass `frame` to skip reading features.
    """
    seconds: dict[str, float] = {}
    t = time.monotonic()
    if frame is None:
        day = day or inputs.latest_feature_day(conn_or_url)
        frame = inputs.load_features(conn_or_url, days=[day], machines=machines)
    else:
        frame = frame.assign(day=pd.to_datetime(frame["day"]))
        day = day or frame["day"].max().date()
        frame = frame.loc[frame["day"] == pd.Timestamp(day)]
        if machines is not None:
            frame = frame.loc[frame["machine_id"].astype(str).isin(set(machines))]
    seconds["load_s"] = time.monotonic() - t
    t = time.monotonic()
    current = inputs.current_feature_info(frame.columns)
    risk_id, rmodel = risk_model or registry.load_active(conn_or_url, RISK_KIND,
                                                         current_features=current)
    wear_pair = wear_model
    if wear_pair is None:
        try:
            wear_pair = registry.load_active(conn_or_url, WEAR_KIND)
        except NoActiveModelError:
            log.warning("no active wear-life model: wear forecasts skipped")
    seconds["models_s"] = time.monotonic() - t
    risk = score_frame(rmodel, frame, reasons_share=reasons_share, timings=seconds)
    t = time.monotonic()
    with_reasons = [(mid, why) for mid, why in zip(risk["machine_id"], risk["reasons"],
                                                     strict=True) if why]
    if isinstance(conn_or_url, str):
        with connect(conn_or_url) as conn:
            add_codes(conn, day, with_reasons)
    else:
        add_codes(conn_or_url, day, with_reasons)
    seconds["codes_s"] = time.monotonic() - t
    t = time.monotonic()
    wear = wear_pair[1].forecast(frame, day) if wear_pair else pd.DataFrame()
    seconds["wear_s"] = time.monotonic() - t
    result = ScoreResult(day, risk, wear, risk_id, wear_pair[0] if wear_pair else None, seconds)
    if write:
        t = time.monotonic()
        write_scores(conn_or_url, result, horizon_d=rmodel.horizon_d)
        seconds["write_s"] = time.monotonic() - t
    return result


def write_scores(conn_or_url: psycopg.Connection | str, result: ScoreResult, *,
                 horizon_d: int) -> None:
    """Replace `result.day`'s rows of these machines in risk_scores and wear_forecasts."""
    if isinstance(conn_or_url, str):
        with connect(conn_or_url) as conn:
            write_scores(conn, result, horizon_d=horizon_d)
        return
    conn = conn_or_url
    ids = sorted(result.risk["machine_id"].astype(str).unique())
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_Q.clear_risks, (result.day, ids))
        cur.execute(_Q.clear_wear, (result.day, ids))
        with cur.copy(_Q.copy_risks) as copy:
            r = result.risk
            for mid, comp, risk, why in zip(r["machine_id"], r["component"], r["risk"],
                                            r["reasons"], strict=True):
                copy.write_row((result.day, mid, comp, horizon_d, float(risk),
                                result.risk_model_id, json.dumps(why, ensure_ascii=False)))
        if len(result.wear):
            with cur.copy(_Q.copy_wear) as copy:
                w = result.wear
                for row in zip(w["machine_id"], w["part"], w["used_hours"], w["due_hours"],
                               w["due_hours_p10"], w["due_date"], strict=True):
                    copy.write_row((result.day, row[0], row[1], float(row[2]), float(row[3]),
                                    float(row[4]), row[5], result.wear_model_id))
    log.info("wrote %d risk scores and %d wear forecasts for %s", len(result.risk),
             len(result.wear), result.day)
