"""How much machines work on a given day in a region: Spring Festival, peaks, rain, winter.

The shape follows the season table in docs/domain.md; factors multiply a machine's typical hours
on a working day, and also set the chance that a site works at all that day.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from fleetcare import catalogue as cat

# Mean ambient temperature (°C) and half the summer-winter swing, by region.
_CLIMATE: dict[str, tuple[float, float]] = {
    "south": (22.5, 7.0), "beijing": (12.5, 15.0), "north_china": (13.5, 14.5),
    "east": (17.0, 11.0), "central": (17.0, 12.0), "southwest": (16.5, 9.0),
    "xinjiang": (8.0, 18.0), "northeast": (6.0, 20.0), "hunan": (17.5, 11.5),
    "fujian": (20.0, 8.5), "northwest": (13.5, 13.0),
}
REGION_IDS: tuple[str, ...] = tuple(cat.REGIONS)


def _md(day: date) -> tuple[int, int]:
    return (day.month, day.day)


def activity_factor(region_id: str, day: date) -> float:
    """Hours multiplier for a region on a day (1.0 = an ordinary working day)."""
    region = cat.REGIONS[region_id]
    f = 1.0
    # Spring Festival trough, then the March restart surge.
    sf = cat.spring_festival(day.year)
    if day.month <= 3 and day < sf:
        sf_prev_gap = (sf - day).days
        if sf_prev_gap <= 7:
            f *= 0.15 + 0.1 * sf_prev_gap / 7      # sites wind down the week before
        elif sf_prev_gap <= 14:
            f *= 0.75
    elif sf <= day <= sf + timedelta(days=15):
        f *= 0.08 + 0.5 * max(0, (day - sf).days - 8) / 7
    elif sf + timedelta(days=16) <= day and day.month <= 4 and _md(day) <= (3, 31):
        f *= 1.3                                     # restart surge (March)
    if cat.in_peak(region_id, day):
        f *= 1.2
    if region.plum_rains and (6, 15) <= _md(day) <= (7, 15):
        f *= 0.6
    if region.summer_slump and (7, 1) <= _md(day) <= (8, 31):
        f *= 0.65
    if cat.in_winter_stop(region_id, day):
        f *= 0.12                                    # frozen ground: a few indoor/mine jobs
    for start, end in cat.GOLDEN_WEEKS:
        if start <= _md(day) <= end:
            f *= 0.7
    if day.weekday() == 6:
        f *= 0.85                                    # sites work Sundays, a little less
    return f


def ambient_temp(region_id: str, day: date) -> float:
    """Seasonal mean daytime temperature (°C); hottest around 25 July."""
    mean, amp = _CLIMATE[region_id]
    doy = day.timetuple().tm_yday
    return mean + 4.0 + amp * float(np.cos(2 * np.pi * (doy - 206) / 365.25))


def region_table(first: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(activity, ambient temperature) arrays shaped (days, regions) in REGION_IDS order."""
    act = np.empty((days, len(REGION_IDS)))
    temp = np.empty((days, len(REGION_IDS)))
    for d in range(days):
        day = first + timedelta(days=d)
        for r, rid in enumerate(REGION_IDS):
            act[d, r] = activity_factor(rid, day)
            temp[d, r] = ambient_temp(rid, day)
    return act, temp
