"""Where the models get their inputs: the features stage's frame, and nothing else.

One adapter around ``features.frame.load_features`` so every command and the backtest
read features the same way, and a test can hand in a frame instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
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
            "no feature rows for the requested days: run `fleetcare features` first")
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def feature_days(conn_or_url: Any) -> tuple[date, date]:
    """(first, last) day that has feature rows."""
    from features.frame import feature_span  # type: ignore[attr-defined,unused-ignore]

    first, last = feature_span(conn_or_url)
    if first is None or last is None:
        raise NotEnoughDataError("no feature rows yet: run `fleetcare features` first")
    return first, last


def latest_feature_day(conn_or_url: Any) -> date:
    """The last day with feature rows (what `fleetcare score` scores by default)."""
    try:
        return feature_days(conn_or_url)[1]
    except ImportError:
        pass
    with (connect(conn_or_url) if isinstance(conn_or_url, str) else _nullctx(conn_or_url)) as c:
        row = c.execute("SELECT max(day) FROM features_daily").fetchone()
    if row is None or row[0] is None:
        raise NotEnoughDataError("no feature rows yet: run `fleetcare features` first")
    return row[0]


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class _nullctx:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def __enter__(self) -> Any:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None
