"""A small stand-in for the features frame and the truth store, for tests and benchmarks.

It is not the simulator: it makes frames shaped like ``features.frame.load_features``
(one row per machine and day, typed columns, component-specific columns suffixed with the
component id, labels with explicit censoring) from a hidden health process with a known
hazard, so the models, metrics and the oracle can be tested without a database.
Vectorised over machines, one step per day: 10,000 machines x 365 days in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from fleetcare import catalogue as cat

# The components whose hidden health drives the synthetic failures, in catalogue order.
COMPONENTS = cat.COMPONENTS
_SEGMENTS = tuple(cat.SEGMENTS)
_REGIONS = tuple(cat.REGIONS)
_LINES = tuple(cat.PRODUCT_LINES)


@dataclass
class SyntheticFleet:
    """Features (with labels), per-day hazards and failures of a synthetic fleet."""

    frame: pd.DataFrame           # wide features + label columns, one row per machine-day
    hazard: np.ndarray            # [day, machine, component] daily hazard (truth)
    failed: np.ndarray            # [day, machine, component] bool: failure on that day
    machines: pd.DataFrame        # master data
    days: pd.DatetimeIndex
    horizon_d: int
    wear: pd.DataFrame            # wear-part intervals: machine, part, hours, event, covariates

    def truth(self) -> pd.DataFrame:
        """The truth in the long shape the oracle reads: machine, day, component, hazard."""
        d, m, c = self.hazard.shape
        return pd.DataFrame({
            "day": np.repeat(self.days.to_numpy(), m * c),
            "machine_id": np.tile(np.repeat(self.machines["machine_id"].to_numpy(), c), d),
            "component": np.tile(np.array(COMPONENTS), d * m),
            "hazard": self.hazard.reshape(-1),
            "failed": self.failed.reshape(-1),
        })


def label_column(component: str) -> str:
    """Name of the label column: component fails within the horizon after the day."""
    return f"fails_within_{component}"


def make_fleet(machines: int = 200, days: int = 365, *, seed: int = 7,
               start: date = date(2024, 1, 1), horizon_d: int = 30,
               signal: float = 1.0, labels: bool = True,
               catalog_shape: bool = False) -> SyntheticFleet:
    """Simulate `machines` x `days`; `signal` scales how strongly faults and sensors show wear.

    With `catalog_shape`, every feature of ``features.catalog.FEATURES`` the process does
    not make is added as noise of the right kind, so benchmarks fit as many columns as
    the real pipeline does.
    """
    rng = np.random.default_rng(seed)
    n, nc = machines, len(COMPONENTS)
    line_p = np.array([cat.PRODUCT_LINES[x].share for x in _LINES])
    region_p = np.array([cat.REGIONS[x].fleet_share for x in _REGIONS])
    seg_p = np.array([cat.SEGMENTS[x].share for x in _SEGMENTS])
    line_i = rng.choice(len(_LINES), n, p=line_p / line_p.sum())
    region_i = rng.choice(len(_REGIONS), n, p=region_p / region_p.sum())
    seg_i = rng.choice(len(_SEGMENTS), n, p=seg_p / seg_p.sum())
    lines = [cat.PRODUCT_LINES[_LINES[i]] for i in line_i]
    models = [ln.models[rng.integers(len(ln.models))] for ln in lines]
    has = np.array([[c in ln.components for c in COMPONENTS] for ln in lines])
    delivery = np.array([start - timedelta(days=int(x)) for x in rng.integers(-60, 3 * 365, n)])
    key_account = rng.random(n) < 0.15
    follows_service = rng.random(n) < 0.6
    intensity = np.array([cat.SEGMENTS[_SEGMENTS[i]].intensity for i in seg_i])
    abrasive = np.array([cat.SEGMENTS[_SEGMENTS[i]].abrasiveness for i in seg_i])
    base_hours = np.array([ln.hours_per_day for ln in lines]) * intensity
    machine_factor = rng.lognormal(0, 0.25, n)
    fragility = rng.lognormal(0, 0.35, (n, nc))          # hidden: some units wear faster
    life = np.array([cat.COMPONENT_INFO[c].nominal_life_hours for c in COMPONENTS])

    health = np.clip(1 - rng.uniform(0, 0.6, (n, nc)), 0.05, 1)
    hours_since_service = rng.uniform(0, 500, (n, nc))
    days_since_repair = rng.integers(30, 900, (n, nc)).astype(float)
    meter = rng.uniform(0, 6000, n)
    win = 30
    fault_buf = np.zeros((win, n, nc), dtype=np.float32)
    hours_buf = np.zeros((win, n), dtype=np.float32)
    temp_buf = np.zeros((win, n), dtype=np.float32)

    all_days = pd.date_range(start, periods=days, freq="D")
    hazard = np.zeros((days, n, nc), dtype=np.float32)
    failed = np.zeros((days, n, nc), dtype=bool)
    cols: dict[str, list[np.ndarray]] = {}

    def put(name: str, value: np.ndarray) -> None:
        cols.setdefault(name, []).append(np.asarray(value))

    wear_rows: list[tuple[int, str, float, int]] = []
    teeth_used = rng.uniform(0, 600, n)
    teeth_life = rng.weibull(2.5, n) * 700 / abrasive

    ids = np.array([f"M{i:05d}" for i in range(n)])
    delivery_ord = np.array([x.toordinal() for x in delivery], dtype=float)
    season_table = np.array([[_season_factor(r, day.date()) for day in all_days]
                             for r in _REGIONS])
    for t, day in enumerate(all_days):
        d = day.date()
        season = season_table[region_i, t]
        working = rng.random(n) < (6 / 7)
        hours = base_hours * machine_factor * season * working * rng.uniform(0.7, 1.2, n)
        hours = np.where(rng.random(n) < 0.01, 0.0, hours)
        load = np.clip(rng.normal(0.6, 0.1, n) * intensity, 0.2, 1.0)
        overdue = np.clip(hours_since_service - 500, 0, None) / 500
        wear = hours[:, None] / life[None, :] * fragility * (0.6 + load[:, None]) * (1 + overdue)
        health = np.clip(health - wear * 2.0, 0.0, 1.0)
        age_d = d.toordinal() - delivery_ord
        early = 0.004 * np.exp(-np.clip(age_d, 0, None) / 45)[:, None]
        lam = (0.00012 * np.exp(4.2 * (1 - health)) * (hours[:, None] / 8 + 0.15) + early) * has
        hazard[t] = lam
        fail = rng.random((n, nc)) < -np.expm1(-lam)
        failed[t] = fail
        health = np.where(fail, 1.0, health)
        days_since_repair = np.where(fail, 0.0, days_since_repair + 1)
        # Preventive service at 500 h for customers who follow the maker's intervals.
        serviced = follows_service & (hours_since_service.max(axis=1) > rng.normal(520, 40, n))
        health = np.where(serviced[:, None], np.clip(health + 0.25, 0, 1), health)
        hours_since_service = np.where(serviced[:, None], 0.0, hours_since_service + hours[:, None])
        meter = meter + hours
        faults = rng.poisson(signal * 0.8 * (1 - health) ** 3 * (hours[:, None] > 0) + 0.01) * has
        fault_buf[t % win] = faults
        hours_buf[t % win] = hours
        temp_buf[t % win] = 55 + 20 * load + signal * 12 * (1 - health[:, 1]) + rng.normal(0, 2, n)
        # Bucket teeth: replaced when worn out (event) on excavator lines.
        teeth_used += hours * abrasive
        worn = teeth_used >= teeth_life
        for m in np.flatnonzero(worn & has[:, COMPONENTS.index("undercarriage")]):
            wear_rows.append((int(m), "bucket_teeth", float(teeth_used[m]), 1))
        teeth_used = np.where(worn, 0.0, teeth_used)
        teeth_life = np.where(worn, rng.weibull(2.5, n) * 700 / abrasive, teeth_life)

        last7 = [(t - k) % win for k in range(min(7, t + 1))]
        last30 = [(t - k) % win for k in range(min(win, t + 1))]
        put("machine_id", ids)
        put("day", np.full(n, np.datetime64(d, "ns")))
        put("age_days", age_d)
        put("key_account", key_account)
        put("in_warranty", age_d < 365)
        put("engine_hours", meter)
        put("hours_7d", hours_buf[last7].sum(axis=0))
        put("hours_30d", hours_buf[last30].sum(axis=0))
        put("load_factor_30d", load + rng.normal(0, 0.03, n))
        put("hyd_oil_temp_mean_7d", temp_buf[last7].mean(axis=0))
        put("overdue_h_500", hours_since_service.max(axis=1) - 500)
        for j, c in enumerate(COMPONENTS):
            put(f"hours_since_service_{c}", np.where(has[:, j], hours_since_service[:, j], np.nan))
            put(f"days_since_repair_{c}", np.where(has[:, j], days_since_repair[:, j], np.nan))
            put(f"faults_7d_{c}", np.where(has[:, j], fault_buf[last7, :, j].sum(axis=0), np.nan))
            put(f"faults_30d_{c}",
                np.where(has[:, j], fault_buf[last30, :, j].sum(axis=0), np.nan))

    frame = pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()})
    for k in frame.columns:
        if frame[k].dtype == np.float64:
            frame[k] = frame[k].astype(np.float32)
    frame["machine_id"] = frame["machine_id"].astype("string")
    master = pd.DataFrame({
        "machine_id": [f"M{i:05d}" for i in range(n)],
        "product_line": [_LINES[i] for i in line_i],
        "model": models,
        "region_id": [_REGIONS[i] for i in region_i],
        "segment": [_SEGMENTS[i] for i in seg_i],
        "delivery_date": pd.to_datetime(delivery),
    })
    for k in ("product_line", "model", "region_id", "segment"):
        frame[k] = pd.Categorical(np.tile(master[k].to_numpy(), days))
    frame["delivery_date"] = np.tile(master["delivery_date"].to_numpy(), days)
    if labels:
        csum = np.concatenate([np.zeros((1, n, nc)), np.cumsum(failed, axis=0)], axis=0)
        for j, c in enumerate(COMPONENTS):
            ahead = np.full((days, n), np.nan)
            known = days - horizon_d
            if known > 0:
                step = np.arange(known)
                ahead[:known] = (csum[step + horizon_d + 1, :, j] - csum[step + 1, :, j]) > 0
            ahead[:, ~has[:, j]] = np.nan
            frame[label_column(c)] = pd.array(ahead.reshape(-1), dtype="Float64").astype("boolean")
    if catalog_shape:
        frame = _fill_catalog_columns(frame, rng)
    # Censored wear intervals: the teeth still on each machine at the end.
    for m in np.flatnonzero(has[:, COMPONENTS.index("undercarriage")]):
        wear_rows.append((int(m), "bucket_teeth", float(teeth_used[m]), 0))
    wear = pd.DataFrame(wear_rows, columns=["m", "part", "hours", "event"])
    wear["machine_id"] = master["machine_id"].to_numpy()[wear["m"]]
    wear["segment"] = pd.Categorical(master["segment"].to_numpy()[wear["m"]])
    wear = wear.drop(columns="m")
    return SyntheticFleet(frame, hazard, failed, master, all_days, horizon_d, wear)


def _season_factor(region_id: str, day: date) -> float:
    """Hours multiplier from the catalogue's seasons: peaks up, winter and festival down."""
    if cat.in_spring_festival(day):
        return 0.2
    if cat.in_winter_stop(region_id, day):
        return 0.15
    if cat.in_peak(region_id, day):
        return 1.2
    region = cat.REGIONS[region_id]
    if region.summer_slump and day.month in (7, 8):
        return 0.7
    return 1.0


def _fill_catalog_columns(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    try:
        from features.catalog import FEATURES
    except ImportError:
        return frame
    extra: dict[str, object] = {}
    n = len(frame)
    for f in FEATURES:
        if f.name in frame.columns:
            continue
        if f.kind == "boolean":
            extra[f.name] = rng.random(n) < 0.2
        elif f.kind == "count":
            extra[f.name] = rng.poisson(0.3, n).astype(np.float32)
        elif f.kind == "categorical":
            extra[f.name] = pd.Categorical(rng.choice(["a", "b", "c"], n))
        else:
            extra[f.name] = rng.normal(0, 1, n).astype(np.float32)
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
