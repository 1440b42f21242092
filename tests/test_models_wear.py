"""Wear-part life: the Weibull AFT recovers known lives under censoring and truncation,
remaining life is right, lives are read from part-hour series, due dates follow the season."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.estimators import FrameColumns, PerComponentClassifier, make_classifier
from models.survival import WeibullAFT
from models.usage import SeasonalUse, due_dates, prior_factor
from models.wear import lifetimes


def _lives(n: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = (rng.random(n) < 0.4).astype(float)
    life = np.exp(6.5 + 0.3 * x - 0.4 * g) * rng.weibull(2.2, n)
    return np.column_stack([x, g]), life, rng.uniform(100, 1500, n)


def test_weibull_aft_recovers_lives_under_right_censoring() -> None:
    X, life, censor = _lives()
    t, event = np.minimum(life, censor), (life <= censor).astype(float)
    assert 0.2 < 1 - event.mean() < 0.8                  # a real share is censored
    model = WeibullAFT(alpha=0.0).fit(X, np.column_stack([t, event]))
    assert model.intercept_ == pytest.approx(6.5, abs=0.05)
    np.testing.assert_allclose(model.coef_, [0.3, -0.4], atol=0.05)
    assert model.shape_ == pytest.approx(2.2, rel=0.06)
    # Reading censored lives as failures (the naive way) makes parts look short-lived.
    naive = WeibullAFT(alpha=0.0).fit(X, np.column_stack([t, np.ones_like(t)]))
    assert naive.intercept_ < model.intercept_ - 0.2


def test_left_truncation_is_accounted_for() -> None:
    X, life, censor = _lives(seed=2)
    rng = np.random.default_rng(3)
    entry = rng.uniform(0, 500, len(life))
    t, event = np.minimum(life, censor), (life <= censor).astype(float)
    seen = t > entry                                      # parts already gone are never seen
    y = np.column_stack([t, event, entry])[seen]
    model = WeibullAFT(alpha=0.0).fit(X[seen], y)
    assert model.intercept_ == pytest.approx(6.5, abs=0.07)
    assert model.shape_ == pytest.approx(2.2, rel=0.08)
    ignored = WeibullAFT(alpha=0.0).fit(X[seen], y[:, :2])
    assert ignored.intercept_ > model.intercept_ + 0.05  # survivors only: lives look longer


def test_remaining_life_matches_numeric_integration() -> None:
    model = WeibullAFT()
    model.coef_, model.intercept_, model.shape_, model.n_features_in_ = (
        np.zeros(0), float(np.log(600.0)), 2.5, 0)
    used = np.array([0.0, 300.0, 900.0])
    mean_left, p10_left = model.remaining(np.zeros((3, 0)), used)
    for u, m, q in zip(used, mean_left, p10_left, strict=True):
        grid = np.linspace(u, u + 10_000, 400_001)
        s = np.exp(-(grid / 600.0) ** 2.5)
        assert m == pytest.approx(np.trapezoid(s, grid) / s[0], rel=1e-4)
        # 10 % of such parts are gone within q more hours.
        assert np.exp(-((u + q) / 600) ** 2.5) / np.exp(-(u / 600) ** 2.5) == pytest.approx(0.9)
    assert mean_left[0] > mean_left[1] > mean_left[2] > 0


def test_lives_are_read_from_part_hour_series() -> None:
    # Machine A: a part already at 100 h when seen, replaced at 400 h, then 50 h on the new
    # one. Machine B: never replaced.
    frame = pd.DataFrame({
        "machine_id": ["A"] * 5 + ["B"] * 3,
        "day": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04",
                               "2025-01-05", "2025-01-01", "2025-01-02", "2025-01-03"]),
        "part_hours_bucket_teeth": [100.0, 250, 400, 20, 50, 10, 30, 60],
        "segment": ["city"] * 8,
    })
    lives = lifetimes(frame, "bucket_teeth")
    assert lives[["machine_id", "entry", "exit", "event"]].values.tolist() == [
        ["A", 100.0, 400.0, 1], ["A", 0.0, 50.0, 0], ["B", 10.0, 60.0, 0]]


def test_due_dates_follow_the_seasons() -> None:
    assert prior_factor("northeast", date(2026, 1, 10)) < 0.3      # winter stop
    assert prior_factor("east", date(2026, 4, 15)) > 1.0           # spring peak
    use = SeasonalUse().fit(pd.DataFrame(columns=["machine_id", "day", "region_id", "hours_1d"]))
    today = date(2026, 1, 10)
    daily = use.forecast(np.array(["northeast", "south"]), np.array([30.0, 240.0]), 30, today,
                         365)
    # A northern machine idle in the winter stop is forecast to work in spring.
    assert daily[0, :30].mean() < daily[0, 120:150].mean()
    due = due_dates(daily, np.array([200.0, 200.0]), today)
    assert due[1] < due[0]
    assert due_dates(daily, np.array([1e9, 1.0]), today)[0] is None


def test_custom_estimators_follow_the_sklearn_contract() -> None:
    for est in (FrameColumns(["a"]), PerComponentClassifier(make_classifier()), WeibullAFT(2.0)):
        twin = clone(est)
        assert twin.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    X = pd.DataFrame({"component": ["engine", "cooling"] * 200,
                      "x": np.r_[np.zeros(200), np.ones(200)]})
    y = np.r_[np.zeros(190), np.ones(10), np.zeros(150), np.ones(50)]
    clf = PerComponentClassifier(make_classifier(["x"], [], max_iter=5)).fit(X, y)
    assert set(clf.estimators_) == {"engine", "cooling"} and list(clf.classes_) == [0.0, 1.0]
    proba = clf.predict_proba(X)
    assert proba.shape == (400, 2) and np.allclose(proba.sum(axis=1), 1)


def test_frame_columns_passes_the_sklearn_estimator_checks() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    failed = [r["check_name"] for r in check_estimator(FrameColumns(), on_fail=None)
              if r["status"] == "failed"]
    assert failed == []
