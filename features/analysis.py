"""The analysts' reads: the fleet, its daily use, its gateways, its work orders and the
fault codes before breakdowns, as pandas frames, plus the survival tables built from them.

The notebooks (notebooks/) call these instead of carrying SQL; the statements are in
features/sql/analysis.sql. Every function takes a connection or a libpq URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pandas as pd
import psycopg

from features.days import FLEET_TZ_NAME
from fleetcare import db, queries

ConnOrUrl = psycopg.Connection | str
_Q = queries.load("features", "analysis.sql")
# How far before a breakdown a fault code still counts as its forewarning.
CODE_WINDOW_D = 60


@contextmanager
def _conn(conn_or_url: ConnOrUrl) -> Iterator[psycopg.Connection]:
    if isinstance(conn_or_url, str):
        with db.connect(conn_or_url) as conn:
            yield conn
    else:
        yield conn_or_url


def _frame(conn_or_url: ConnOrUrl, name: str, params: Mapping[str, Any] | None = None,
           dates: tuple[str, ...] = ()) -> pd.DataFrame:
    with _conn(conn_or_url) as conn, conn.cursor() as cur:
        cur.execute(_Q[name], {"tz": FLEET_TZ_NAME, **(params or {})})
        assert cur.description is not None
        frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    for col in dates:
        frame[col] = pd.to_datetime(frame[col])
    return frame


def fleet(conn_or_url: ConnOrUrl) -> pd.DataFrame:
    """One row per machine: model, product line, region (name, climate), station,
    customer, delivery date and warranty end."""
    return _frame(conn_or_url, "fleet", dates=("delivery_date", "warranty_end"))


def fleet_size(conn_or_url: ConnOrUrl) -> int:
    """How many machines the database knows (0 also when it has no schema yet)."""
    with _conn(conn_or_url) as conn:
        try:
            row = conn.execute(_Q.fleet_size).fetchone()
        except psycopg.errors.UndefinedTable:
            conn.rollback()
            return 0
    return int(row[0]) if row else 0


def region_peaks(conn_or_url: ConnOrUrl) -> pd.DataFrame:
    """Each region's peak seasons (recurring month-day ranges)."""
    return _frame(conn_or_url, "region_peaks")


def daily_hours(conn_or_url: ConnOrUrl) -> pd.DataFrame:
    """Operating hours per machine and fleet-local day (days after a silent day left out),
    with the machine's region and product line."""
    frame = _frame(conn_or_url, "daily_hours", dates=("day",))
    frame["hours"] = frame["hours"].astype(float)
    return frame


def gateways(conn_or_url: ConnOrUrl) -> pd.DataFrame:
    """One row per machine: first and last day reported, days reported, readings, the
    longest silence and number of silences, hours logged, and `days_behind` the fleet's
    newest day (NULL: never reported). Stalest first."""
    return _frame(conn_or_url, "gateways", dates=("first_day", "last_day"))


def service_events(conn_or_url: ConnOrUrl) -> pd.DataFrame:
    """Every work order (breakdown, preventive, inspection), one row per component family
    it names, with its fleet-local day, hour meter, downtime and cost."""
    return _frame(conn_or_url, "service_events", dates=("day",))


def codes_before_breakdowns(conn_or_url: ConnOrUrl,
                            window_d: int = CODE_WINDOW_D) -> pd.DataFrame:
    """Per breakdown (machine, day, component) and each fault code (SPN, FMI) active on
    that machine in the `window_d` days before: the code's own component and `lead_days`,
    how many days before the breakdown it first showed."""
    return _frame(conn_or_url, "codes_before_breakdowns", {"window_d": window_d},
                  dates=("breakdown_day", "first_day"))


def failures_per_1000h(events: pd.DataFrame, gateways: pd.DataFrame, fleet: pd.DataFrame,
                       by: str = "product_line") -> pd.DataFrame:
    """Breakdowns per 1,000 operating hours, per component (rows) and `by` (columns):
    breakdowns of the machines in each group over the hours those machines logged."""
    lines = fleet.set_index("machine_id")[by]
    hours = gateways.assign(group=gateways["machine_id"].map(lines)).groupby("group")[
        "hours_logged"].sum()
    broken = events[(events["kind"] == "breakdown") & events["component"].notna()]
    counts = (broken.assign(group=broken["machine_id"].map(lines))
              .groupby(["component", "group"]).size().unstack("group", fill_value=0))
    counts = counts.reindex(columns=hours.index, fill_value=0)
    return (counts / hours.astype(float) * 1000.0).round(3)


def time_to_failure(events: pd.DataFrame, fleet: pd.DataFrame, gateways: pd.DataFrame, *,
                    since: str = "delivery", component: str | None = None) -> pd.DataFrame:
    """Durations for a Kaplan-Meier estimate: days to the first breakdown (of `component`,
    or any) after delivery (`since="delivery"`, one row per machine) or after each
    preventive service or inspection (`since="service"`, one row per visit, cut at the next
    visit). `observed` is False where the machine's history ends first (censored).

    Only machines observed since the starting point count: a breakdown before the first
    reported day is not in the data, so delivery times start at the first reported day
    for machines delivered before it (left truncation: `entry` is that day's age)."""
    seen = gateways.dropna(subset=["first_day"]).set_index("machine_id")
    fails = events[events["kind"] == "breakdown"]
    if component is not None:
        fails = fails[fails["component"] == component]
    fail_days = fails.groupby("machine_id")["day"].apply(sorted).to_dict()
    rows: list[dict[str, Any]] = []
    if since == "delivery":
        for m in fleet.itertuples():
            if m.machine_id not in seen.index:
                continue
            first, last = seen.at[m.machine_id, "first_day"], seen.at[m.machine_id, "last_day"]
            start = m.delivery_date
            after = [d for d in fail_days.get(m.machine_id, []) if d >= max(start, first)]
            end, observed = (after[0], True) if after else (last, False)
            rows.append({"machine_id": m.machine_id, "product_line": m.product_line,
                         "entry": max(0, (first - start).days),
                         "duration": max((end - start).days, 0), "observed": observed})
    elif since == "service":
        visits = events[events["kind"].isin(["preventive", "inspection"])]
        for machine, days in visits.groupby("machine_id")["day"]:
            if machine not in seen.index:
                continue
            last = seen.at[machine, "last_day"]
            starts = sorted(set(days))
            for i, start in enumerate(starts):
                stop = starts[i + 1] if i + 1 < len(starts) else last
                after = [d for d in fail_days.get(machine, []) if start < d <= stop]
                end, observed = (after[0], True) if after else (stop, False)
                rows.append({"machine_id": machine, "entry": 0,
                             "duration": max((end - start).days, 0), "observed": observed})
        lines = fleet.set_index("machine_id")["product_line"]
        for row in rows:
            row["product_line"] = lines.get(row["machine_id"])
    else:
        raise ValueError(f"since must be 'delivery' or 'service', not {since!r}")
    return pd.DataFrame(rows, columns=["machine_id", "product_line", "entry", "duration",
                                       "observed"])
