"""Scoring writes risk_scores with reasons and wear_forecasts, idempotently, from the registry."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import psycopg
import pytest

from features.testing import add_master
from fleetcare.queries import beside
from models import layout as lay
from models import registry, risk, scoring, timesplit, wear
from models.synthetic import make_fleet

Q = beside(__file__)


@pytest.fixture(scope="module")
def fleet_models():
    fleet = make_fleet(60, 260, seed=5, catalog_shape=False)
    frame = fleet.frame
    layout = lay.resolve(frame, info={})
    split = timesplit.default_split(fleet.days[0].date(), risk.last_labelled_day(frame, layout),
                                    30, eval_days=40, calib_days=40)
    rmodel = risk.train(frame, split, risk.TrainConfig(variant="single", screen=False),
                        layout=layout)
    # Wear parts: give every machine a bucket-teeth hour count that is replaced at ~600 h.
    rng = np.random.default_rng(0)
    hours = frame.groupby("machine_id", observed=True)["hours_7d"].transform(
        lambda s: (s / 7).cumsum())
    frame = frame.assign(part_hours_bucket_teeth=(hours + rng.uniform(0, 600)) % 600,
                         hours_1d=frame["hours_7d"] / 7)
    wmodel = wear.train(frame)
    return fleet, frame, rmodel, wmodel


def _master(db_url: str, fleet) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        add_master(conn, [(m.machine_id, m.product_line, m.model, m.delivery_date.date())
                          for m in fleet.machines.itertuples()])


def test_score_day_writes_every_machine_component_once(db_url: str, fleet_models) -> None:
    fleet, frame, rmodel, wmodel = fleet_models
    _master(db_url, fleet)
    rid = registry.store(db_url, rmodel, activate=True)
    wid = registry.store(db_url, wmodel, activate=True)
    day = frame["day"].max().date()
    result = scoring.score_day(db_url, day, frame=frame)
    expected = len(rmodel.design(frame.loc[frame["day"] == pd.Timestamp(day)]))
    assert len(result.risk) == expected
    again = scoring.score_day(db_url, day, frame=frame)          # idempotent re-run
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(Q.risk_scores_count,
                            (day,)).fetchone()
        assert rows == (expected, 60, rid, rid, 30)
        wear_rows = conn.execute(
            Q.wear_forecasts_count,
            (day,)).fetchone()
        assert wear_rows[0] == len(again.wear.query("part == 'bucket_teeth'")) > 0
        assert wear_rows[1] == wid and wear_rows[2] > 0 and wear_rows[3]
        top = conn.execute(Q.risk_scores_machine_id, (day,)).fetchall()
    wide = frame.loc[frame["day"] == pd.Timestamp(day)].set_index("machine_id")
    for machine_id, component, _risk, reasons in top:
        assert reasons, "the riskiest rows carry reasons"
        for r in reasons:
            assert set(r) == {"feature", "value", "contribution", "text"}
            assert r["feature"] in frame.columns
            json.dumps(r)
            split = lay.split_component(r["feature"])
            assert split is None or split[1] == component
            if isinstance(r["value"], float):
                assert wide.at[machine_id, r["feature"]] == pytest.approx(r["value"])


def test_backtest_path_scores_without_writing(db_url: str, fleet_models) -> None:
    fleet, frame, rmodel, wmodel = fleet_models
    registry.store(db_url, rmodel, activate=True)
    some = sorted(frame["machine_id"].astype(str).unique())[:10]
    result = scoring.score_day(db_url, frame["day"].max().date(), machines=some, frame=frame,
                               write=False)
    assert set(result.risk["machine_id"]) == set(some)
    assert result.risk["risk"].between(0, 1).all()
    with psycopg.connect(db_url) as conn:
        assert conn.execute(Q.count_risk_scores).fetchone()[0] == 0
