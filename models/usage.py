"""Forecast a machine's operating hours per day for the coming weeks, season by season.

hours/day of machine m on future day t = base_m x profile(region of m, week of t), where
the profile is the region's relative hours by ISO week learned from the fleet's own
history (each machine's hours divided by its own mean, so a region's mix of heavy and
light machines does not shape it), and the catalogue's season calendar (peaks, northern
winter stop, Spring Festival, summer slump) for weeks the history has not seen yet.
base_m is the machine's recent hours divided by the profile over the same recent days:
a machine idle in a winter stop is not forecast idle for the spring.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from fleetcare import catalogue as cat

WEEKS = 53
# Below this many machine-days in a region-week the catalogue's prior is blended in.
MIN_SUPPORT = 200


def prior_factor(region_id: str, day: date) -> float:
    """Relative hours from the catalogue's season calendar (1 = an ordinary working day)."""
    if region_id not in cat.REGIONS:
        return 1.0
    if cat.in_spring_festival(day):
        return 0.25
    if cat.in_winter_stop(region_id, day):
        return 0.15
    if cat.in_peak(region_id, day):
        return 1.25
    region = cat.REGIONS[region_id]
    if region.summer_slump and day.month in (7, 8):
        return 0.75
    if region.plum_rains and (6, 15) <= (day.month, day.day) <= (7, 15):
        return 0.8
    return 1.0


def _week(days: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    iso = pd.DatetimeIndex(days).isocalendar().week
    return np.clip(iso.to_numpy(dtype=int), 1, WEEKS) - 1


class SeasonalUse(BaseEstimator):
    """Relative hours by region and ISO week, learned from history with a catalogue prior.

    Parameters
    ----------
    min_support : int
        Machine-days a region-week needs before history outweighs the catalogue prior.
    """

    def __init__(self, min_support: int = MIN_SUPPORT) -> None:
        self.min_support = min_support

    def fit(self, frame: pd.DataFrame, y: object = None) -> SeasonalUse:
        """`frame` has machine_id, day, region_id and hours_1d (hours run that day)."""
        rows = frame[["machine_id", "day", "region_id", "hours_1d"]].dropna()
        rows = rows.assign(day=pd.to_datetime(rows["day"]),
                           region_id=rows["region_id"].astype(str))
        mean = rows.groupby("machine_id", observed=True)["hours_1d"].transform("mean")
        rows = rows.assign(rel=np.where(mean > 0, rows["hours_1d"] / mean, np.nan),
                           week=_week(rows["day"]))
        stats = rows.dropna(subset=["rel"]).groupby(["region_id", "week"])["rel"].agg(
            ["mean", "size"])
        regions = sorted(set(cat.REGIONS) | set(rows["region_id"].unique()))
        self.regions_ = regions
        self.profile_ = np.ones((len(regions), WEEKS))
        ref_year = 2025
        for i, region in enumerate(regions):
            prior = np.array([
                np.mean([prior_factor(region, date.fromisocalendar(ref_year, w + 1, d))
                         for d in (1, 3, 5)]) if w < 52 else 1.0
                for w in range(WEEKS)])
            prior = prior / prior.mean()
            learned = np.full(WEEKS, np.nan)
            support = np.zeros(WEEKS)
            if region in stats.index.get_level_values(0):
                part = stats.loc[region]
                learned[part.index.to_numpy()] = part["mean"].to_numpy()
                support[part.index.to_numpy()] = part["size"].to_numpy()
            w = np.clip(support / self.min_support, 0, 1)
            self.profile_[i] = np.where(np.isnan(learned), prior,
                                        w * np.nan_to_num(learned) + (1 - w) * prior)
        self.profile_ = np.clip(self.profile_, 0.02, None)
        return self

    def factor(self, regions: np.ndarray, days: pd.DatetimeIndex | pd.Series) -> np.ndarray:
        """Relative hours for each (region, day) pair."""
        check_is_fitted(self, "profile_")
        index = {r: i for i, r in enumerate(self.regions_)}
        rows = np.array([index.get(str(r), -1) for r in regions])
        out = self.profile_[np.maximum(rows, 0), _week(days)]
        return np.where(rows >= 0, out, 1.0)

    def forecast(self, regions: np.ndarray, recent_hours: np.ndarray, recent_days: int,
                 today: date, horizon_days: int) -> np.ndarray:
        """Hours per day for each machine over the next `horizon_days` days (machines x days).

        `recent_hours` is each machine's hours over the `recent_days` days up to `today`.
        """
        check_is_fitted(self, "profile_")
        regions = np.asarray(regions).astype(str)
        past = pd.date_range(today - timedelta(days=recent_days - 1), today, freq="D")
        future = pd.date_range(today + timedelta(days=1), periods=horizon_days, freq="D")
        uniq, inv = np.unique(regions, return_inverse=True)
        past_f = np.stack([self.factor(np.full(len(past), r), past) for r in uniq])
        fut_f = np.stack([self.factor(np.full(len(future), r), future) for r in uniq])
        base = np.asarray(recent_hours, dtype=float) / np.maximum(past_f.sum(axis=1)[inv], 1e-6)
        return base[:, None] * fut_f[inv]


def due_dates(daily: np.ndarray, hours_left: np.ndarray, today: date) -> list[date | None]:
    """The first future day on which cumulative forecast hours reach `hours_left`."""
    cum = np.cumsum(daily, axis=1)
    reached = cum >= np.asarray(hours_left, dtype=float)[:, None]
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    return [today + timedelta(days=int(i) + 1) if i >= 0 else None for i in first]
