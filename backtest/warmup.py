"""The warm-up: the fleet's history before the season, the same for every policy.

A year (by default) of simulated use, failures and customer-booked services goes
through the gateways and ingest into the warm-up database; the daily features are
built over it and, when the predictive policy runs, the risk and wear-life models are
trained on it and stored in its registry, exactly as `fleetcare features` and
`fleetcare train` would. Every branch database starts as a copy of this one, and every
branch simulator from the state at its end. The stations' starting shelves follow
today's stock rule on the warm-up's last weeks of work orders.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import psycopg

from backtest.config import BacktestConfig
from backtest.databases import Databases
from backtest.loop import BACKGROUND, StartState
from backtest.publish import BATCH_MESSAGES, received_at
from backtest.stock import Warehouse
from fleetcare import db
from gateways.fleet import build_fleet
from gateways.master import write_master_data
from gateways.simulator import SimConfig, Simulator
from gateways.sinks import pairs
from gateways.uplink import Messiness, Uplink
from ingest.direct import ingest_messages
from ingest.pipeline import MachineCache

log = logging.getLogger("fleetcare.backtest.warmup")

WARM = "warm"
# Held out after training, to report the learned model's quality before the season.
EVAL_DAYS = 30

Progress = Callable[[str], None]


def run_warmup(config: BacktestConfig, dbs: Databases, *, timescaledb: str = "auto",
               train: bool = True, progress: Progress | None = None) -> StartState:
    """Simulate and store the history; build features; train the models if asked."""
    say = progress or (lambda text: log.info("%s", text))
    info: dict[str, Any] = {"days": config.warmup_days,
                            "first_day": config.warmup_start.isoformat(),
                            "last_day": (config.start - timedelta(days=1)).isoformat()}
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    fleet = build_fleet(config.machines, config.seed, config.warmup_start, config.sim_days)
    sim = Simulator(fleet, SimConfig(seed=config.seed, background=BACKGROUND),
                    horizon_days=config.sim_days)
    uplink = Uplink(fleet, config.seed, Messiness(), days=config.sim_days)
    url = dbs.create(WARM)
    db.upgrade(url, timescaledb=timescaledb)
    warehouse = Warehouse()
    with db.connect(url) as conn:
        write_master_data(conn, fleet)
        say(f"warm-up: simulating {config.warmup_days} days of {config.machines} machines "
            f"from {config.warmup_start} and ingesting them")
        _history(sim, uplink, warehouse, conn, config.warmup_days, seconds)
        info["messages"] = seconds.pop("messages")
        # Starting shelves: today's rule on the warm-up's last weeks, the same everywhere.
        warehouse.on_hand.update(warehouse.usage_targets())
        warehouse.fill.clear()
        warehouse.stock_value_weeks.clear()
        t = time.perf_counter()
        say("warm-up: building daily features")
        from features.build import build
        from features.days import SETTLE

        built = build(conn, config.warmup_start, config.start - timedelta(days=1),
                      now=received_at(config.start) + SETTLE, workers=2)
        seconds["features_s"] = time.perf_counter() - t
        info["feature_rows"] = built.rows_written
        state = StartState(sim, uplink, warehouse, info=info)
        if train:
            t = time.perf_counter()
            say("warm-up: training the risk and wear-life models on the warm-up history")
            state.risk_model, state.wear_model, info["model"] = _train(conn, config)
            seconds["train_s"] = time.perf_counter() - t
    dbs.freeze(WARM)
    seconds["warmup_s"] = time.perf_counter() - t0
    info["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    return state


def _history(sim: Simulator, uplink: Uplink, warehouse: Warehouse, conn: psycopg.Connection,
             days: int, seconds: dict[str, float]) -> None:
    """Simulate day by day; store each week in a thread while the next one simulates."""
    cache = MachineCache()
    pending: Future[Any] | None = None
    messages = 0
    t_sim = 0.0
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = 0
        while done < days:
            t = time.perf_counter()
            batch = []
            for _ in range(min(7, days - done)):
                rec = sim.step()
                for order in rec.service:
                    warehouse.issue(order.get("station_id"), order["parts"], "history")
                batch.extend(uplink.feed(rec))
                done += 1
            warehouse.close_week()
            t_sim += time.perf_counter() - t
            if pending is not None:
                pending.result()
            messages += len(batch)
            pending = pool.submit(_store, conn, batch, cache, received_at(sim.day))
        if pending is not None:
            pending.result()
    seconds["simulate_s"] = t_sim
    seconds["messages"] = messages


def _store(conn: psycopg.Connection, batch: list, cache: MachineCache,
           at: datetime) -> None:
    ingest_messages(conn, pairs(batch), batch_messages=BATCH_MESSAGES, received_at=at,
                    machines=cache)


def _train(conn: psycopg.Connection, config: BacktestConfig
           ) -> tuple[tuple[int, Any], tuple[int, Any], dict[str, Any]]:
    """Fit and store the models on the warm-up's labelled features (as `fleetcare train`
    does, with a shorter held-out period so most of the history trains)."""
    from models import inputs, registry, risk, timesplit
    from models import layout as lay
    from models.jobs import train_on_frame

    first, last = config.warmup_start, config.start - timedelta(days=1)
    frame = inputs.load_features(conn, days=(first, last), labels=config.horizon_d)
    layout = lay.resolve(frame)
    split = timesplit.default_split(pd_first(frame), risk.last_labelled_day(frame, layout),
                                    config.horizon_d, eval_days=EVAL_DAYS)
    rmodel, wmodel, evaluation = train_on_frame(frame, horizon_d=config.horizon_d, split=split,
                                                config=risk.TrainConfig(**config.train))
    risk_id = registry.store(
        conn, rmodel, metrics=rmodel.metrics,
        params={"horizon_d": config.horizon_d, "variant": rmodel.variant, **rmodel.config,
                "split": split.to_dict(), "trained_by": "backtest warm-up"},
        train_start=split.train_start, train_end=split.train_end, calib_end=split.calib_end,
        activate=True)
    wear_id = registry.store(
        conn, wmodel, metrics=wmodel.metrics, params={"until": split.calib_end},
        train_start=split.train_start, train_end=split.calib_end, activate=True)
    conn.commit()
    model_info = {
        "risk_model_id": risk_id, "wear_model_id": wear_id, "variant": rmodel.variant,
        "split": split.to_dict(),
        "held_out": {m: _plain({k: r.get(k) for k in ("pr_auc", "brier", "recall_at_budget")})
                     for m, r in (evaluation.get("methods") or evaluation).items()
                     if isinstance(r, dict) and "pr_auc" in r},
    }
    return (risk_id, rmodel), (wear_id, wmodel), model_info


def _plain(value: Any) -> Any:
    """numpy scalars inside nested dicts as plain floats (for JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return value


def pd_first(frame: Any) -> Any:
    import pandas as pd

    return pd.to_datetime(frame["day"]).min().date()
