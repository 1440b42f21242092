"""Today's rules as risk scores, so they are judged by the same metrics as the model.

Each rule gives a score per (machine, component, day) row of the long design frame,
higher = visit sooner. The evaluator maps scores to probabilities with an isotonic fit
per component on the calibration period (a rule has no probabilities of its own; this
is the most favourable reading of it, and monotone, so its ranking is unchanged).

* calendar_rule: the routine inspections 1, 3, 6 and 12 months after delivery, warranty
  machines only. Score = 1 / (1 + days until the next inspection still ahead); 0 once all
  four are past or the warranty has ended. Same for every component of a machine.
* hours_rule: the maker's hour intervals. For each component, the smallest interval
  whose service covers it (engine 250 h; pump and travel drive 1000 h; valve, swing,
  cooling 2000 h; others the 250 h service): score = hours past that service (the
  features' ``overdue_h_<interval>``; negative = hours left) / interval, i.e. how
  overdue, in intervals.
* fault_rule: any related active J1939 code in the last 7 days: 1 if so, else 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fleetcare import catalogue as cat

RULES = ("calendar_rule", "hours_rule", "fault_rule")
_INSPECTION_DAYS = tuple(round(m * 365.25 / 12) for m in cat.CALENDAR_INSPECTION_MONTHS)

# Column names the features stage may use for each input, first found wins.
AGE = ("age_days", "days_since_delivery", "machine_age_days", "age_d")
WARRANTY = ("in_warranty", "under_warranty", "warranty_active", "warranty")
HOURS_SINCE_SERVICE = ("hours_since_service", "hours_since_preventive",
                       "hours_since_last_service", "service_hours_since")
MACHINE_HOURS_SINCE_SERVICE = ("hours_since_service", "hours_since_preventive",
                               "hours_since_last_service")
FAULTS_7D = ("faults_7d", "active_faults_7d", "fault_codes_7d", "codes_7d", "active_codes_7d",
             "fault_count_7d")


def component_interval(component: str) -> int:
    """The smallest maker interval (h) whose service covers `component` (250 h if none)."""
    for interval in cat.SERVICE_INTERVALS:
        if component in interval.components:
            return interval.hours
    return cat.SERVICE_INTERVALS[0].hours


def first_column(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    """The first of `names` that `frame` has."""
    return next((n for n in names if n in frame.columns), None)


def calendar_rule(X: pd.DataFrame) -> np.ndarray:
    """Score of the 1/3/6/12-month calendar inspections (see module doc)."""
    age_col = first_column(X, AGE)
    if age_col is None:
        raise KeyError(f"calendar rule needs a machine age column, one of {AGE}")
    age = pd.to_numeric(X[age_col], errors="coerce").to_numpy(dtype=float)
    ahead = np.full(len(X), np.inf)
    for due in _INSPECTION_DAYS:
        until = due - age
        ahead = np.where((until >= 0) & (until < ahead), until, ahead)
    score = np.where(np.isfinite(ahead), 1.0 / (1.0 + ahead), 0.0)
    warranty_col = first_column(X, WARRANTY)
    if warranty_col is not None:
        in_warranty = X[warranty_col].fillna(False).astype(bool).to_numpy()
        score = np.where(in_warranty, score, 0.0)
    return score


def hours_rule(X: pd.DataFrame) -> np.ndarray:
    """How overdue each component's maker service is, in intervals (see module doc).

    Reads ``overdue_h_<interval>`` (hours past that maker service) when the features have
    it, else hours since the component's last service minus the interval.
    """
    interval = X["component"].astype(str).map(component_interval).to_numpy(dtype=float)
    overdue_cols = {h: f"overdue_h_{h}" for h in cat.SERVICE_INTERVAL_HOURS}
    if all(c in X.columns for c in overdue_cols.values()):
        overdue = np.full(len(X), np.nan)
        for hours, col in overdue_cols.items():
            mask = interval == hours
            overdue[mask] = pd.to_numeric(X.loc[mask, col], errors="coerce").to_numpy(float)
        score = overdue / interval
    else:
        since_col = (first_column(X, HOURS_SINCE_SERVICE)
                     or first_column(X, MACHINE_HOURS_SINCE_SERVICE))
        if since_col is None:
            raise KeyError(f"hours rule needs overdue_h_<interval> or hours since service, "
                           f"one of {HOURS_SINCE_SERVICE}")
        since = pd.to_numeric(X[since_col], errors="coerce").to_numpy(dtype=float)
        score = (since - interval) / interval
    # No service on record: as overdue as the machine's hours allow (worst case first).
    return np.where(np.isnan(score), np.nanmax(score, initial=0.0), score)


def fault_rule(X: pd.DataFrame) -> np.ndarray:
    """1 if the component had any active fault code in the last 7 days, else 0."""
    col = first_column(X, FAULTS_7D)
    if col is None:
        raise KeyError(f"fault rule needs 7-day fault counts, one of {FAULTS_7D}")
    counts = pd.to_numeric(X[col], errors="coerce").fillna(0).to_numpy(dtype=float)
    return (counts > 0).astype(float)


def score(rule: str, X: pd.DataFrame) -> np.ndarray:
    """The raw score of rule `rule` for each design row."""
    return {"calendar_rule": calendar_rule, "hours_rule": hours_rule,
            "fault_rule": fault_rule}[rule](X)
