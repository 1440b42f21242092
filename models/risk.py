"""The component failure-risk model: train on one period, calibrate on the next, predict.

Training rows are thinned twice, both for speed on large fleets: one day per machine and
week (neighbouring days of a machine are near-copies), then negatives down-sampled to a
fixed ratio per failure. The down-sampling inflates raw probabilities on purpose; the
calibration on the later, untouched period maps them back to observed failure rates
(and absorbs the drift in base rate between seasons).
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from models import layout as lay
from models.errors import FeatureMismatchError, NotEnoughDataError
from models.estimators import (
    PerComponentClassifier,
    boosting_threads,
    fit_with_validation,
    log_odds,
    make_classifier,
)
from models.metrics import pr_auc
from models.timesplit import TimeSplit, require_after

log = logging.getLogger("models.risk")

VARIANTS = ("single", "per_component")
KIND = "component_risk"


@dataclass
class TrainConfig:
    """How to train: thinning, variant choice, calibration method, boosting parameters."""

    stride_d: int = 0                 # keep one day in N per machine; 0 = as needed for
    max_design_rows: int = 3_000_000  # ... at most this many rows before down-sampling
    neg_per_pos: float = 12.0         # negatives kept per failure row
    max_train_rows: int = 500_000     # after down-sampling: keeps 10,000 machines in bar
    max_calib_rows: int = 800_000
    max_val_rows: int = 300_000       # calibration rows that early stopping watches
    variant: str = "auto"             # auto = fit both, keep the better on calibration data
    calibration: str = "auto"         # auto = sigmoid; or "isotonic"
    # Also try the condition features only; "auto" = when failures are few (fewer than
    # `screen_below` failure rows): large fleets do not overfit that way. True also tries
    # only the features that help on later data (permutation screening, one prediction
    # of the calibration rows per feature: on the demo fleet ~90 % of training's CPU, and
    # its best variant lost to +condition, calibration PR-AUC 0.097 against 0.107).
    screen: bool | str = "auto"
    screen_below: int = 20_000
    seed: int = 0
    threads: int = 0                  # OpenMP threads; 0 = one for small fits (estimators)
    hgb: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class RiskModel:
    """A trained, calibrated risk model with everything scoring and reasons need."""

    layout: lay.Layout
    estimator: Any                     # calibrated: predict_proba on the design frame
    base: Any                          # uncalibrated, for per-row contributions
    variant: str
    horizon_d: int
    split: TimeSplit
    references: dict[str, dict[str, Any]]   # component -> design column -> typical value
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_at: float = field(default_factory=time.time)

    kind = KIND

    @property
    def features(self) -> tuple[str, ...]:
        """The real feature columns this model reads."""
        return self.layout.source_features

    @property
    def feature_hash(self) -> str:
        return lay.feature_hash(self.layout)

    def design(self, frame: pd.DataFrame, *, with_labels: bool = False) -> pd.DataFrame:
        """The long design frame of `frame`, after checking it has this model's features."""
        check_features(self.features, frame.columns)
        return lay.design(frame, self.layout, with_labels=with_labels)

    def predict_design(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated risk per design row."""
        cols = list(self.layout.design_columns)
        with boosting_threads(len(X)):
            return np.clip(self.estimator.predict_proba(X[cols])[:, 1], 0.0, 1.0)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """machine_id, day, component, risk for every machine-day-component of `frame`."""
        X = self.design(frame)
        out = X[[*lay.KEYS, lay.COMPONENT_COL]].copy()
        out["risk"] = self.predict_design(X)
        return out


def check_features(expected: tuple[str, ...] | list[str], available: object) -> None:
    """Refuse a frame that lacks any feature the model was trained on, naming them."""
    have = set(available)  # type: ignore[call-overload]
    missing = [f for f in expected if f not in have]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                          else "")
        raise FeatureMismatchError(
            f"the model needs {len(missing)} feature(s) the current features lack: {shown}; "
            "retrain with `fleetcare train`"
        )


def thin_days(design: pd.DataFrame, stride_d: int) -> pd.DataFrame:
    """Keep one day in `stride_d` per machine, staggered by machine so every weekday is seen."""
    if stride_d <= 1:
        return design
    day_no = (pd.to_datetime(design["day"]).to_numpy().astype("datetime64[D]").astype(np.int64))
    ids = design["machine_id"].astype(str)
    offsets = ids.map(lambda s: zlib.crc32(s.encode()) % stride_d).to_numpy()
    return design.loc[((day_no + offsets) % stride_d == 0)]


def downsample_negatives(design: pd.DataFrame, neg_per_pos: float, max_rows: int,
                         seed: int) -> pd.DataFrame:
    """All failure rows, and negatives at random up to `neg_per_pos` per failure."""
    rng = np.random.default_rng(seed)
    y = design["y"].to_numpy()
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    keep_neg = min(n_neg, int(neg_per_pos * max(n_pos, 1)), max(max_rows - n_pos, 0))
    rate = keep_neg / n_neg if n_neg else 0.0
    keep = (y == 1) | (rng.random(len(y)) < rate)
    return design.loc[keep]


def _fit_variant(variant: str, X: pd.DataFrame, y: np.ndarray, layout: lay.Layout,
                 hgb: dict[str, Any], X_val: pd.DataFrame | None = None,
                 y_val: np.ndarray | None = None) -> Any:
    cols = list(layout.design_columns)
    cats = sorted(layout.categorical | {lay.COMPONENT_COL})
    val = X_val[cols] if X_val is not None else None
    if variant == "single":
        return fit_with_validation(make_classifier(cols, cats, **hgb), X[cols], y, val, y_val)
    inner = make_classifier([c for c in cols if c != lay.COMPONENT_COL],
                            [c for c in cats if c != lay.COMPONENT_COL], **hgb)
    return fit_with_validation(PerComponentClassifier(inner), X[cols], y, val, y_val)


def _references(X: pd.DataFrame, layout: lay.Layout) -> dict[str, dict[str, Any]]:
    """The typical value of each design column per component: the median (numeric) or the
    most common value (categorical) over training rows. Reasons measure against it."""
    refs: dict[str, dict[str, Any]] = {}
    cols = [c for c in layout.design_columns if c != lay.COMPONENT_COL]
    for comp, part in X.groupby(lay.COMPONENT_COL, observed=True):
        ref: dict[str, Any] = {}
        for col in cols:
            values = part[col]
            if col in layout.categorical:
                mode = values.mode(dropna=True)
                ref[col] = mode.iloc[0] if len(mode) else None
            else:
                num = pd.to_numeric(values, errors="coerce").astype(float)
                ref[col] = float(num.median()) if num.notna().any() else None
        refs[str(comp)] = ref
    return refs


def train(frame: pd.DataFrame, split: TimeSplit, config: TrainConfig | None = None, *,
          layout: lay.Layout | None = None) -> RiskModel:
    """Fit on the training period, choose the variant and calibrate on the calibration period.

    `frame` is the labelled features frame (``load_features(..., labels=H)``); only rows
    of the two periods are used, so evaluation rows can be passed in without harm.
    """
    config = config or TrainConfig()
    layout = layout or lay.resolve(frame)
    if not layout.labels:
        raise NotEnoughDataError("the features frame has no label columns: load it with labels")
    started = time.monotonic()
    # Thin the wide frame before the long design is built: memory grows with the design.
    n_comp = max(len(layout.components()), 1)
    train_rows = split.select(frame, "train")
    stride = config.stride_d or int(np.ceil(len(train_rows) * n_comp / config.max_design_rows))
    Xt = lay.design(thin_days(train_rows, stride), layout, with_labels=True)
    refs = _references(Xt, layout)
    Xt = downsample_negatives(Xt, config.neg_per_pos, config.max_train_rows, config.seed)
    calib_rows = split.select(frame, "calibrate")
    calib_stride = int(np.ceil(len(calib_rows) * n_comp / config.max_calib_rows))
    Xc = lay.design(thin_days(calib_rows, calib_stride), layout, with_labels=True)
    require_after(Xc, split.train_end, "calibration")
    n_pos_t, n_pos_c = int(Xt["y"].sum()), int(Xc["y"].sum())
    if n_pos_t < 20 or n_pos_c < 10:
        raise NotEnoughDataError(
            f"{n_pos_t} failures in the training period and {n_pos_c} in the calibration "
            "period: too few to fit and calibrate a risk model (need 20 and 10)"
        )
    log.info("training on %d rows (%d failures), calibrating on %d rows (%d failures)",
             len(Xt), n_pos_t, len(Xc), n_pos_c)
    yt, yc = Xt["y"].to_numpy(), Xc["y"].to_numpy()
    # Boosting stops when the loss on the (later) calibration rows stops improving.
    Xv = Xc if len(Xc) <= config.max_val_rows else thin_days(
        Xc, int(np.ceil(len(Xc) / config.max_val_rows)))
    yv = Xv["y"].to_numpy()
    variants = VARIANTS if config.variant == "auto" else (config.variant,)
    fitted: dict[str, tuple[lay.Layout, Any]] = {}
    selection: dict[str, Any] = {}

    def fit(name: str, variant: str, use: lay.Layout) -> None:
        t0 = time.monotonic()
        log.info("fitting model variant %d: %s (%d inputs)", len(fitted) + 1, name,
                 len(use.design_columns))
        with boosting_threads(len(Xt), config.threads):
            est = _fit_variant(variant, Xt, yt, use, config.hgb, Xv, yv)
            z = log_odds(est, Xc[list(use.design_columns)])
        fitted[name] = (use, est)
        selection[name] = {"calib_pr_auc": pr_auc(yc, z), "features": len(use.design_columns),
                           "fit_s": round(time.monotonic() - t0, 2)}
        log.info("fitted %s in %.1f s (calibration PR-AUC %.3f); %.0f s of training so far",
                 name, selection[name]["fit_s"], selection[name]["calib_pr_auc"] or 0.0,
                 time.monotonic() - started)

    for variant in variants:
        fit(variant, variant, layout)
    if config.screen is True or (config.screen == "auto" and n_pos_t < config.screen_below):
        # Few failures: also try the condition features only (layout.condition_columns),
        # and the features whose shuffling hurts the later period (the others only help
        # memorise the training period). The calibration period decides.
        cond = layout.restrict(lay.condition_columns(layout))
        if len(cond.design_columns) < len(layout.design_columns):
            for variant in variants:
                fit(f"{variant}+condition", variant, cond)
    if config.screen is True:
        first = variants[0]
        with boosting_threads(len(Xt), config.threads):
            keep = screen_features(fitted[first][1], Xv, yv, layout, seed=config.seed)
        if len(keep) < len(layout.design_columns) - 1:
            screened = layout.restrict(keep)
            for variant in variants:
                fit(f"{variant}+screened", variant, screened)
            selection["screened_out"] = sorted(
                set(layout.design_columns) - set(screened.design_columns))
    names = [n for n in fitted]
    chosen = max(names, key=lambda n: selection[n]["calib_pr_auc"] or 0.0)
    layout, best = fitted[chosen]
    method = config.calibration
    if method == "auto":
        # Sigmoid (Platt): down-sampling negatives shifts the log-odds, which is exactly
        # what a sigmoid on the log-odds undoes; and it keeps the model's ranking, while
        # isotonic steps would tie the riskiest machines that the visit budget separates.
        method = "sigmoid"
    calibrated = CalibratedClassifierCV(FrozenEstimator(best), method=method)
    with boosting_threads(len(Xt), config.threads):
        calibrated.fit(Xc[list(layout.design_columns)], yc)
    metrics = {
        "selection": selection, "variant": chosen, "calibration": method,
        "train_rows": len(Xt), "train_failures": n_pos_t,
        "calib_rows": len(Xc), "calib_failures": n_pos_c,
        "train_s": round(time.monotonic() - started, 2),
    }
    log.info("kept the %s model (calibration PR-AUC %s); %s calibration", chosen,
             {n: round(selection[n]["calib_pr_auc"] or 0, 4) for n in names}, method)
    return RiskModel(layout, calibrated, best, chosen, split.horizon_d, split, refs,
                     config.to_dict(), metrics)


def screen_features(estimator: Any, X: pd.DataFrame, y: np.ndarray, layout: lay.Layout, *,
                    seed: int = 0, max_rows: int = 150_000) -> list[str]:
    """Design columns whose permutation lowers PR-AUC on the (later) rows `X`."""
    rng = np.random.default_rng(seed)
    cols = list(layout.design_columns)
    if len(X) > max_rows:
        X = X.iloc[np.sort(rng.choice(len(X), max_rows, replace=False))]
        y = X["y"].to_numpy()
    X = X[cols]
    base = pr_auc(y, log_odds(estimator, X)) or 0.0
    keep = [lay.COMPONENT_COL]
    for col in cols:
        if col == lay.COMPONENT_COL:
            continue
        shuffled = X.copy()
        shuffled[col] = X[col].to_numpy()[rng.permutation(len(X))]
        if base - (pr_auc(y, log_odds(estimator, shuffled)) or 0.0) > 0:
            keep.append(col)
    return keep


def last_labelled_day(frame: pd.DataFrame, layout: lay.Layout) -> date:
    """The last day whose whole label window is known: some label on it is False.

    Near the end of the data a failure already seen still makes a True label, while
    "no failure" cannot be known yet (NA): a day with only True labels is censored, and
    keeping it would give the evaluation a period where only failures are labelled.
    """
    labels = frame[list(layout.labels.values())]
    known = (labels == False).any(axis=1).to_numpy()  # noqa: E712 - nullable booleans
    if not known.any():
        raise NotEnoughDataError("no day in the features frame has a known label yet")
    return pd.to_datetime(frame.loc[known, "day"]).max().date()
