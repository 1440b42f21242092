"""Where the models get their inputs: the features stage's frame, and nothing else.

One adapter around ``features.frame.load_features`` so every command and the backtest
read features the same way, and a test can hand in a frame instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from fleetcare.db import connect
from models.errors import NotEnoughDataError


def load_features(conn_or_url: Any, *, days: Sequence[date] | tuple[date, date] | None = None,
                  machines: Sequence[str] | None = None,
                  labels: int | bool = False) -> pd.DataFrame:
    """The features frame (one row per machine and day), with labels for horizon `labels`."""
    from features.frame import load_features as _load  # the features stage's agreed API

    frame = _load(conn_or_url, machines=machines, days=days, labels=labels)
    if frame.empty:
        raise NotEnoughDataError(
            "no feature rows for the requested days: run `fleetcare features build` first")
    return frame


def feature_span(conn_or_url: Any) -> tuple[date, date]:
    """(first, last) day that has feature rows."""
    from fleetcare import queries

    if isinstance(conn_or_url, str):
        with connect(conn_or_url) as conn:
            return feature_span(conn)
    row = conn_or_url.execute(queries.load("features", "frame.sql").day_span).fetchone()
    if row is None or row[0] is None:
        raise NotEnoughDataError("no feature rows yet: run `fleetcare features build` first")
    return row[0], row[1]


def latest_feature_day(conn_or_url: Any) -> date:
    """The last day with feature rows (what `fleetcare score` scores by default)."""
    return feature_span(conn_or_url)[1]


def current_feature_info(columns: Any) -> dict[str, Any]:
    """The current features with kind and unit (features catalogue), restricted to `columns`:
    what the registry checks a stored model's feature list against."""
    cols = list(columns)
    try:
        from features.catalog import BY_NAME
    except ImportError:
        return dict.fromkeys(cols)
    return {c: BY_NAME.get(c) for c in cols}
