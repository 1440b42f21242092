"""`fleetcare demo`: the whole pipeline on embedded defaults, stage by stage.

The demo runs the same commands the README documents, in order, against a fresh
`fleetcare_demo` database on the server it was given (the embedded one by default), so
every run starts from nothing and ends with the same result for the same seed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import click
import psycopg

from fleetcare import db
from fleetcare.runtime import services

log = logging.getLogger("fleetcare.demo")

DEMO_DATABASE = "fleetcare_demo"
# The demo's closed-loop backtest: small enough for minutes, long enough to reach the
# spring peak (from March), greedy planner to keep each week's plan fast.
DEMO_BACKTEST: dict[str, object] = {"machines": 200, "weeks": 13, "seeds": 1,
                                    "method": "greedy", "workers": 2}


def fresh_database(url: str, name: str = DEMO_DATABASE) -> str:
    """Drop and recreate database `name` on the server of `url`; return its URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@click.command()
@click.option("--machines", default=200, show_default=True, help="Simulated fleet size.")
@click.option("--days", default=365, show_default=True, help="Days of history to simulate.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated fleet.")
@click.option("--database", default=DEMO_DATABASE, show_default=True,
              help="Database the demo drops and recreates on the server (several demos "
                   "can share one server under different names).")
@click.pass_context
def demo(ctx: click.Context, machines: int, days: int, seed: int, database: str) -> None:
    """Run the pipeline end to end (simulate, ingest, ...) and print a summary."""
    from fleetcare.cli import settings_of

    settings = settings_of(ctx)
    root = ctx.find_root()
    started, cpu_started = time.monotonic(), time.process_time()
    timings: list[tuple[str, float, float]] = []

    def step(title: str, run: Callable[[], object]) -> None:
        click.echo(f"\n== {title}")
        t0, c0 = time.monotonic(), time.process_time()
        run()
        timings.append((title, time.monotonic() - t0, time.process_time() - c0))

    with services(settings, broker=True) as svc:
        demo_url = fresh_database(svc.db, database)
        db.upgrade(demo_url, timescaledb=settings.timescaledb)
        info = db.status(demo_url)
        click.echo("Fleetcare demo")
        click.echo("  services    " + ", ".join(
            f"{name} (embedded)" if name in svc.embedded else f"{name} (configured)"
            for name in ("postgresql", "mqtt")))
        click.echo(f"  database    {database}: PostgreSQL {info['postgresql']}, TimescaleDB "
                   f"{info['timescaledb'] or 'not installed (plain tables)'}, "
                   f"{len(info['applied'])} migrations")
        click.echo(f"  broker      {svc.mqtt}")
        # Every stage command below reads these settings, so they all use the demo's
        # database and the broker started above.
        root.obj = settings.model_copy(update={"database_url": demo_url,
                                               "mqtt_url": svc.mqtt})
        try:
            _pipeline(ctx, step, machines=machines, days=days, seed=seed)
        finally:
            root.obj = settings
    # CPU: this process's own (all its threads), not the database's or worker processes';
    # on a shared machine it shows what a stage costs when the wall clock cannot.
    click.echo("\n== Summary" + " " * 55 + "wall      cpu")
    for title, seconds, cpu in timings:
        click.echo(f"  {title:<58} {seconds:7.1f} s {cpu:7.1f} s")
    click.echo(f"  {'total':<58} {time.monotonic() - started:7.1f} s "
               f"{time.process_time() - cpu_started:7.1f} s")


def _pipeline(ctx: click.Context, step: Callable[[str, Callable[[], object]], None], *,
              machines: int, days: int, seed: int) -> None:
    from gateways.cli import simulate
    from ingest.cli import ingest

    step("ingest: create the persistent MQTT session",
         lambda: ctx.invoke(ingest, subscribe_only=True))
    step(f"simulate: {machines} machines x {days} days, seed {seed}, over MQTT",
         lambda: ctx.invoke(simulate, machines=machines, days=days, seed=seed, sink="mqtt"))
    step("ingest: broker -> validate -> database, until drained",
         lambda: ctx.invoke(ingest, once=True))

    from features.cli import build_cmd as build
    from models.cli import evaluate, score, train

    step("features: point-in-time daily features for the simulated year",
         lambda: ctx.invoke(build))
    step("train: component risk and wear-part life models", lambda: ctx.invoke(train))
    step("evaluate: model vs today's rules vs the oracle (held-out period)",
         lambda: ctx.invoke(evaluate))
    step("score: risk per machine and component, wear-part due dates",
         lambda: ctx.invoke(score))

    from fleetcare.cli import settings_of
    from scheduler.demo import demo_lines, plan_for_demo

    def plans() -> None:
        for line in demo_lines(plan_for_demo(settings_of(ctx).database_url or "")):
            click.echo(line)

    step("plan: 保健 visits (next 4 weeks) and parts pre-stock", plans)

    from backtest.cli import backtest

    # A short closed loop on its own fleet (the warm-up year trains its model): enough to
    # show the table; the bar's 1,000 machines x 26 weeks x 3 seeds is `fleetcare backtest`.
    bt = DEMO_BACKTEST
    step(f"backtest: {bt['machines']} machines x {bt['weeks']} weeks, four policies",
         lambda: ctx.invoke(backtest, seed=seed, **bt))
