"""The risk model on a synthetic fleet: time split, calibration, leakage check, reasons."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from models import evaluate as ev
from models import layout as lay
from models import metrics, reasons, risk, timesplit
from models.errors import TimeSplitError
from models.estimators import log_odds
from models.synthetic import COMPONENTS, SyntheticFleet, label_column, make_fleet

HORIZON = 30


@pytest.fixture(scope="module")
def fleet() -> SyntheticFleet:
    return make_fleet(160, 330, seed=11, horizon_d=HORIZON)


@pytest.fixture(scope="module")
def split(fleet: SyntheticFleet) -> timesplit.TimeSplit:
    layout = lay.resolve(fleet.frame, info={})
    last = risk.last_labelled_day(fleet.frame, layout)
    return timesplit.default_split(fleet.days[0].date(), last, HORIZON)


@pytest.fixture(scope="module")
def model(fleet: SyntheticFleet, split: timesplit.TimeSplit) -> risk.RiskModel:
    return risk.train(fleet.frame, split, risk.TrainConfig(variant="single", screen=False),
                      layout=lay.resolve(fleet.frame, info={}))


def test_periods_must_be_ordered_and_an_embargo_apart() -> None:
    d = date(2025, 1, 1)
    ok = timesplit.TimeSplit(d, d + timedelta(60), d + timedelta(91), d + timedelta(150),
                             d + timedelta(181), d + timedelta(240), 30)
    assert ok.period_of(d + timedelta(70)) is None          # the embargo gap
    with pytest.raises(TimeSplitError, match="labels reach"):
        timesplit.TimeSplit(d, d + timedelta(60), d + timedelta(80), d + timedelta(150),
                            d + timedelta(181), d + timedelta(240), 30)
    with pytest.raises(TimeSplitError, match="before it starts"):
        timesplit.TimeSplit(d, d - timedelta(1), d + timedelta(91), d + timedelta(150),
                            d + timedelta(181), d + timedelta(240), 30)
    frame = pd.DataFrame({"day": pd.to_datetime([d + timedelta(10)]), "machine_id": ["M"]})
    with pytest.raises(TimeSplitError, match="must not start before"):
        timesplit.require_after(frame, d + timedelta(61), "calibration")


def test_training_never_reads_the_evaluation_period(fleet: SyntheticFleet,
                                                    split: timesplit.TimeSplit,
                                                    model: risk.RiskModel) -> None:
    # Scramble every label and feature of the evaluation period: the model must not change.
    frame = fleet.frame.copy()
    later = (frame["day"] >= pd.Timestamp(split.eval_start)).to_numpy()
    rng = np.random.default_rng(0)
    for c in COMPONENTS:
        col = label_column(c)
        frame.loc[later, col] = pd.array(rng.random(later.sum()) < 0.5, dtype="boolean")
        frame.loc[later, f"faults_7d_{c}"] = rng.poisson(5, later.sum()).astype(np.float32)
    again = risk.train(frame, split, risk.TrainConfig(variant="single", screen=False),
                       layout=lay.resolve(frame, info={}))
    probe = fleet.frame.loc[fleet.frame["day"] == pd.Timestamp(split.calib_end)]
    np.testing.assert_allclose(again.predict(probe)["risk"], model.predict(probe)["risk"])
    assert model.split.eval_start > model.split.calib_end + timedelta(HORIZON)


def test_calibration_improves_brier_on_held_out_data(fleet: SyntheticFleet,
                                                     model: risk.RiskModel) -> None:
    X = model.design(model.split.select(fleet.frame, "evaluate"), with_labels=True)
    raw = 1 / (1 + np.exp(-log_odds(model.base, X[list(model.layout.design_columns)])))
    calibrated = model.predict_design(X)
    y = X["y"].to_numpy()
    # Raw scores come from a model fitted on down-sampled negatives: too high, on purpose.
    assert metrics.brier(y, calibrated) < metrics.brier(y, raw)


def _with_leak(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A feature built from the label's future: breakdowns in the next 30 days, noisy."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for c in COMPONENTS:
        future = out[label_column(c)].fillna(False).astype(bool).to_numpy()
        noise = rng.random(len(out)) < 0.02
        out[f"breakdowns_next_30d_{c}"] = (future ^ noise).astype(np.float32)
    return out


def test_leakage_check_fails_a_feature_from_the_future(fleet: SyntheticFleet,
                                                       split: timesplit.TimeSplit) -> None:
    leaky = _with_leak(fleet.frame)
    layout = lay.resolve(leaky, info={})
    model = risk.train(leaky, split, risk.TrainConfig(variant="single", screen=False),
                       layout=layout)
    verdict = ev.evaluate(model, leaky, truth=fleet.truth()).leakage
    assert not verdict["passed"]
    flagged = {f["feature"] for f in verdict["flagged"]}
    assert "breakdowns_next_30d" in flagged and "model" in flagged
    with pytest.raises(ev.LeakageError, match="breakdowns_next_30d"):
        X = model.design(split.select(leaky, "evaluate"), with_labels=True)
        oracle = ev.oracle_risk(fleet.truth(), HORIZON)
        X = X.astype({"machine_id": str}).merge(
            ev._typed_keys(oracle), on=[*lay.KEYS, lay.COMPONENT_COL]).rename(
                columns={"p": ev.ORACLE_P})
        ev.leakage_check(X, layout, raise_on_leak=True)


def test_the_real_pipeline_passes_the_leakage_check(fleet: SyntheticFleet,
                                                    model: risk.RiskModel) -> None:
    result = ev.evaluate(model, fleet.frame, truth=fleet.truth())
    assert result.leakage["passed"], result.leakage
    assert set(result.results) == set(ev.METHODS)
    for method in ev.METHODS:
        assert set(result.results[method]["recall_at_budget"]) == {"0.01", "0.02", "0.05"}
    # The oracle is the ceiling: nothing honest beats it by much.
    assert result.results["oracle"]["pr_auc"] >= result.results["model"]["pr_auc"] - 0.02


def test_reasons_name_real_features_of_that_machine(fleet: SyntheticFleet,
                                                    model: risk.RiskModel) -> None:
    day = fleet.frame.loc[fleet.frame["day"] == fleet.frame["day"].max()]
    X = model.design(day)
    X = X.assign(p=model.predict_design(X)).sort_values("p", ascending=False).head(40)
    explained = reasons.explain(model, X)
    assert sum(map(len, explained)) > 40
    wide = day.set_index("machine_id")
    for (_, row), why in zip(X.iterrows(), explained, strict=True):
        for r in why:
            assert r["feature"] in fleet.frame.columns          # a real feature column
            comp = lay.split_component(r["feature"])
            assert comp is None or comp[1] == row["component"]   # its own component's
            value = wide.at[row["machine_id"], r["feature"]]
            if r["value"] is None:
                assert pd.isna(value)
            elif isinstance(r["value"], str):
                assert str(value) == r["value"]
            else:
                assert float(value) == pytest.approx(r["value"])
            assert r["contribution"] > 0 and r["text"]
    # Contributions are per row: two machines do not get the same list.
    assert len({tuple(r["feature"] for r in why) for why in explained}) > 3


def test_small_fits_use_one_openmp_thread() -> None:
    from threadpoolctl import threadpool_info

    from models.estimators import ONE_THREAD_BELOW, boosting_threads

    def openmp_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"}

    before = openmp_threads()
    assert before, "scikit-learn's OpenMP runtime is loaded"
    with boosting_threads(ONE_THREAD_BELOW - 1):
        assert openmp_threads() == {1}
    assert openmp_threads() == before
    with boosting_threads(ONE_THREAD_BELOW):
        assert openmp_threads() == before
    with boosting_threads(10, threads=2):
        assert openmp_threads() == {2}
    assert openmp_threads() == before
