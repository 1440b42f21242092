"""The model registry on the real database: round trip, one active per kind, refusals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import psycopg
import pytest

from fleetcare.queries import beside
from models import layout as lay
from models import registry, risk, timesplit
from models.errors import ChecksumError, FeatureMismatchError, NoActiveModelError
from models.synthetic import make_fleet

Q = beside(__file__)


@pytest.fixture(scope="module")
def trained() -> tuple[risk.RiskModel, pd.DataFrame]:
    fleet = make_fleet(100, 260, seed=3)
    layout = lay.resolve(fleet.frame, info={})
    split = timesplit.default_split(fleet.days[0].date(),
                                    risk.last_labelled_day(fleet.frame, layout), 30,
                                    eval_days=40, calib_days=40)
    model = risk.train(fleet.frame, split, risk.TrainConfig(variant="single", screen=False),
                       layout=layout)
    return model, fleet.frame.loc[fleet.frame["day"] == fleet.frame["day"].max()]


def test_round_trip_gives_the_same_predictions(db_url: str, trained) -> None:
    model, day = trained
    model_id = registry.store(db_url, model, metrics={"note": "test"},
                              train_start=model.split.train_start,
                              train_end=model.split.train_end, activate=True)
    registry.clear_cache()
    active_id, loaded = registry.load_active(db_url, risk.KIND, current_features=day.columns)
    assert active_id == model_id
    pd.testing.assert_frame_equal(loaded.predict(day), model.predict(day))
    (version,) = registry.versions(db_url, risk.KIND)
    assert version.features == model.features and version.feature_hash == model.feature_hash
    assert version.active and version.metrics == {"note": "test"}
    assert version.train_end == model.split.train_end and version.params["sklearn"]


def test_one_active_version_per_kind(db_url: str, trained) -> None:
    model, _ = trained
    first = registry.store(db_url, model, activate=True)
    second = registry.store(db_url, model, activate=True)
    assert registry.active_version(db_url, risk.KIND).model_id == second
    registry.activate(db_url, first)
    actives = [v.model_id for v in registry.versions(db_url, risk.KIND) if v.active]
    assert actives == [first]


def test_no_active_model_is_a_clear_error(db_url: str) -> None:
    with pytest.raises(NoActiveModelError, match="fleetcare train"):
        registry.load_active(db_url, risk.KIND)


def test_a_mismatched_feature_list_is_refused(db_url: str, trained) -> None:
    model, day = trained
    model_id = registry.store(db_url, model, activate=True)
    missing = model.features[3]
    with pytest.raises(FeatureMismatchError, match=missing):
        registry.load(db_url, model_id, current_features=[f for f in model.features
                                                          if f != missing])
    # Same names, but a feature's unit changed meaning since training.
    info = {name: dataclasses.replace(model.layout.info[name]) for name in model.features}
    name = "hours_7d"
    info[name] = dataclasses.replace(info[name], unit="min")
    model.layout.info[name] = dataclasses.replace(model.layout.info[name], unit="h")
    try:
        other = registry.store(db_url, model)
        with pytest.raises(FeatureMismatchError, match="hours_7d unit"):
            registry.load(db_url, other, current_features=info)
    finally:
        model.layout.info[name] = dataclasses.replace(model.layout.info[name], unit="")
    # Scoring a frame that lacks a feature fails before predicting.
    with pytest.raises(FeatureMismatchError, match=missing):
        model.predict(day.drop(columns=[missing]))


def test_a_corrupt_blob_is_refused(db_url: str, trained) -> None:
    model, _ = trained
    model_id = registry.store(db_url, model)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.update_model_versions, (model_id,))
    with pytest.raises(ChecksumError, match="SHA-256"):
        registry.load(db_url, model_id)
    assert np.isfinite(model.predict_design(model.design(trained[1]))).all()
