"""Fleet-local days: the one place that says which time zone a feature day is in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The fleet works on China time; a feature "day" is a local calendar day there. Every
# query that turns a timestamp into a day takes this zone as its %(tz)s parameter.
FLEET_TZ_NAME = "Asia/Shanghai"
FLEET_TZ = ZoneInfo(FLEET_TZ_NAME)

# A day is built only once its end is this far in the past, so rows still being
# committed for it (ingest batches take seconds) are in before the snapshot is taken.
SETTLE = timedelta(minutes=10)


def end_of(day: date) -> datetime:
    """The instant a local day ends (exclusive): data must be in before it."""
    return datetime.combine(day + timedelta(days=1), time(0), FLEET_TZ)


def local_day(instant: datetime) -> date:
    """The local day an instant falls in."""
    return instant.astimezone(FLEET_TZ).date()


def last_settled_day(now: datetime) -> date:
    """The latest day whose end is at least SETTLE before `now`."""
    return local_day(now - SETTLE) - timedelta(days=1)


def day_range(first: date, last: date) -> list[date]:
    """Every day from first to last, inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
