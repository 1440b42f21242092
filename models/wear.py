"""Wear-part life: hours and days until each fitted wear part is due for replacement.

Lifetimes come from the features themselves: ``part_hours_<part>`` is the engine hours on
the part fitted now, so a drop in it is a replacement, the value before the drop a
completed life (event), the last value a life still running (right-censored), and the
first value of a machine's window a part already part-worn when observation began (left
truncation). A Weibull AFT per part (models.survival) learns life from those, with the
customer segment (abrasive ground), product line and hours per day as covariates; parts
with too few observed replacements use the catalogue's nominal life as a Weibull with a
wear-out shape. The usage forecast turns hours left into a due date.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from fleetcare import catalogue as cat
from models.survival import WeibullAFT
from models.usage import SeasonalUse, due_dates

log = logging.getLogger("models.wear")

KIND = "wear_life"
PART_PREFIX = "part_hours_"
COVARIATES = ("segment", "product_line")
MIN_EVENTS = 15
PRIOR_SHAPE = 3.0            # catalogue fallback: wear-out, replacement near nominal life
FORECAST_DAYS = 730          # due dates further out than two years are left empty
# A drop in a part's hours counts as a replacement only if it loses this much.
_DROP_H = 5.0


@dataclass
class PartLife:
    """One part's fitted life model and how it was obtained."""

    part: str
    model: WeibullAFT | None          # None: catalogue prior
    columns: list[str]                # design columns of the covariates
    events: int
    censored: int
    source: str                       # "fitted" or "catalogue"

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        return _covariates(frame, self.columns)

    def remaining(self, frame: pd.DataFrame, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.model is not None:
            return self.model.remaining(self.design(frame), used)
        prior = WeibullAFT()
        nominal = cat.PARTS[self.part].life_hours or 1000.0
        # A Weibull whose mean is the nominal life: scale = nominal / Gamma(1 + 1/k).
        from scipy.special import gamma
        prior.coef_ = np.zeros(0)
        prior.intercept_ = float(np.log(nominal / gamma(1 + 1 / PRIOR_SHAPE)))
        prior.shape_ = PRIOR_SHAPE
        prior.n_features_in_ = 0
        return prior.remaining(np.zeros((len(used), 0)), used)


@dataclass
class WearModel:
    """Per-part life models plus the seasonal usage forecast."""

    parts: dict[str, PartLife]
    usage: SeasonalUse
    feature_list: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_at: float = field(default_factory=time.time)

    kind = KIND

    @property
    def features(self) -> tuple[str, ...]:
        return self.feature_list

    @property
    def feature_hash(self) -> str:
        import hashlib
        return hashlib.sha256("\n".join(self.feature_list).encode()).hexdigest()

    def forecast(self, frame: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
        """machine_id, part, used_hours, due_hours, due_hours_p10, due_date for the rows of
        `frame` (one day per machine: the latest row of each machine is used)."""
        rows = frame.sort_values("day").groupby("machine_id", observed=True).tail(1)
        rows = rows.reset_index(drop=True)
        if rows.empty:
            return _empty_forecast()
        day = today or pd.to_datetime(rows["day"]).max().date()
        recent = pd.to_numeric(rows.get("hours_30d", pd.Series(np.nan, index=rows.index)),
                               errors="coerce").to_numpy(dtype=float)
        if "hours_per_day_life" in rows:
            life = pd.to_numeric(rows["hours_per_day_life"], errors="coerce").to_numpy(float)
            recent = np.where(np.isnan(recent), life * 30, recent)
        daily = self.usage.forecast(rows["region_id"].astype(str).to_numpy(),
                                    np.nan_to_num(recent), 30, day, FORECAST_DAYS)
        out = []
        for part, life_model in self.parts.items():
            col = PART_PREFIX + part
            if col not in rows:
                continue
            used = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
            have = ~np.isnan(used)
            if not have.any():
                continue
            sub = rows.loc[have]
            mean_left, p10_left = life_model.remaining(sub, used[have])
            out.append(pd.DataFrame({
                "machine_id": sub["machine_id"].astype(str).to_numpy(), "part": part,
                "used_hours": used[have], "due_hours": mean_left, "due_hours_p10": p10_left,
                "due_date": due_dates(daily[have], mean_left, day),
            }))
        return pd.concat(out, ignore_index=True) if out else _empty_forecast()


def part_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(PART_PREFIX)
            and c[len(PART_PREFIX):] in cat.PARTS]


def lifetimes(frame: pd.DataFrame, part: str) -> pd.DataFrame:
    """Observed lives of `part`: machine_id, entry, exit hours, event, and covariates.

    Built from the daily ``part_hours_<part>`` series of each machine (see module doc).
    """
    col = PART_PREFIX + part
    keep = ["machine_id", "day", col, *[c for c in (*COVARIATES, "hours_30d") if c in frame]]
    rows = frame[keep].dropna(subset=[col]).sort_values(["machine_id", "day"])
    if rows.empty:
        return pd.DataFrame(columns=["machine_id", "entry", "exit", "event"])
    ids = rows["machine_id"].astype(str).to_numpy()
    h = rows[col].to_numpy(dtype=float)
    new_machine = np.r_[True, ids[1:] != ids[:-1]]
    dropped = np.r_[False, (h[1:] < h[:-1] - _DROP_H) & ~new_machine[1:]]
    # Each life runs from a machine's first row or a replacement to the row before the
    # next replacement or the machine's last row.
    starts = np.flatnonzero(new_machine | dropped)
    ends = np.r_[starts[1:] - 1, len(h) - 1]
    last_of_machine = np.r_[new_machine[1:], True]
    event = ~last_of_machine[ends]
    out = pd.DataFrame({
        "machine_id": ids[starts],
        "entry": np.where(new_machine[starts], h[starts], 0.0),
        "exit": h[ends],
        "event": event.astype(int),
    })
    for c in (*COVARIATES, "hours_30d"):
        if c in rows:
            out[c] = rows[c].to_numpy()[starts]
    return out.loc[out["exit"] > out["entry"] + 1.0].reset_index(drop=True)


def _covariate_columns(lives: pd.DataFrame) -> list[str]:
    cols = []
    for c in COVARIATES:
        if c in lives:
            values = lives[c].astype(str).value_counts()
            # Levels with few lives would only add noise; they share the reference level.
            cols += [f"{c}={v}" for v in values.index[1:] if values[v] >= 20]
    if "hours_30d" in lives:
        cols.append("log_hours_per_day")
    return cols


def _covariates(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    out = np.zeros((len(frame), len(columns)))
    for j, col in enumerate(columns):
        if col == "log_hours_per_day":
            hpd = pd.to_numeric(frame["hours_30d"], errors="coerce").to_numpy(float) / 30
            out[:, j] = np.log1p(np.nan_to_num(hpd, nan=6.0))
        else:
            name, value = col.split("=", 1)
            if name in frame:
                out[:, j] = (frame[name].astype(str).to_numpy() == value).astype(float)
    return out


def train(frame: pd.DataFrame, *, until: date | None = None, alpha: float = 1.0) -> WearModel:
    """Fit each wear part's life on `frame` (rows up to `until`) and the usage profile."""
    started = time.monotonic()
    if until is not None:
        frame = frame.loc[pd.to_datetime(frame["day"]) <= pd.Timestamp(until)]
    parts: dict[str, PartLife] = {}
    summary: dict[str, Any] = {}
    for col in part_columns(frame):
        part = col[len(PART_PREFIX):]
        if cat.PARTS[part].kind != "wear":
            continue
        lives = lifetimes(frame, part)
        events = int(lives["event"].sum()) if len(lives) else 0
        censored = int(len(lives) - events)
        if events >= MIN_EVENTS:
            columns = _covariate_columns(lives)
            X = _covariates(lives, columns)
            y = lives[["exit", "event", "entry"]].to_numpy(dtype=float)
            model = WeibullAFT(alpha=alpha).fit(X, y)
            parts[part] = PartLife(part, model, columns, events, censored, "fitted")
            scale = float(np.exp(model.intercept_))
            summary[part] = {"source": "fitted", "events": events, "censored": censored,
                             "shape": round(model.shape_, 3), "scale_h": round(scale, 1)}
        else:
            parts[part] = PartLife(part, None, [], events, censored, "catalogue")
            summary[part] = {"source": "catalogue", "events": events, "censored": censored,
                             "nominal_h": cat.PARTS[part].life_hours}
    usage = SeasonalUse().fit(frame) if "hours_1d" in frame else SeasonalUse().fit(
        frame.assign(hours_1d=pd.to_numeric(frame.get("hours_7d", 0), errors="coerce") / 7))
    feats = tuple(c for c in ("region_id", "hours_30d", *COVARIATES) if c in frame) + tuple(
        PART_PREFIX + p for p in parts)
    log.info("wear-part lives fitted for %d parts (%d from the catalogue)",
             sum(p.source == "fitted" for p in parts.values()),
             sum(p.source == "catalogue" for p in parts.values()))
    return WearModel(parts, usage, feats, {"parts": summary,
                                           "train_s": round(time.monotonic() - started, 2)})


def _empty_forecast() -> pd.DataFrame:
    return pd.DataFrame(columns=["machine_id", "part", "used_hours", "due_hours",
                                 "due_hours_p10", "due_date"])
