"""`fleetcare demo`: the whole pipeline on embedded defaults, stage by stage.

The demo runs the same commands the README documents, in order, against a fresh
database, so every run starts from nothing and ends with the same result for the same
seed. On the embedded server that is the embedded `fleetcare` database itself, so every
later command in the same data folder (`plan show`, `serve`, `db url`) finds the demo's
results; on a configured server it is a separate `fleetcare_demo` database, and the
demo ends by printing the URL to use. The planners' files go to one folder, listed at
the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
import psycopg
from psycopg import sql

from fleetcare import db
from fleetcare.clikit import settings_of
from fleetcare.queries import load
from fleetcare.runtime import Services, services
from fleetcare.settings import redact_url

log = logging.getLogger("fleetcare.demo")
_ADMIN = load("fleetcare", "admin.sql")

DEMO_DATABASE = "fleetcare_demo"
# The demo's closed-loop backtest: small enough for minutes, long enough to reach the
# spring peak (from March), greedy planner to keep each week's plan fast.
DEMO_BACKTEST: dict[str, object] = {"machines": 200, "weeks": 13, "seeds": 1,
                                    "method": "greedy", "workers": 2}


def database_name(url: str) -> str:
    """The database a libpq URL names."""
    return urlsplit(url).path.lstrip("/")


def fresh_database(url: str, name: str = DEMO_DATABASE) -> str:
    """Drop and recreate database `name` on the server of `url`; return its URL."""
    admin = url
    if database_name(url) == name:  # cannot drop the database we are connected to
        admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(_ADMIN.drop_database.format(name=sql.Identifier(name)))
        conn.execute(_ADMIN.create_database.format(name=sql.Identifier(name)))
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def demo_database(svc: Services, name: str | None = None) -> tuple[str, str]:
    """Recreate the demo's database; returns its name and URL.

    Embedded: the data folder's own database, which every later command uses.
    Configured: `name` (default `fleetcare_demo`) beside the configured one, which is
    left alone.
    """
    if name is None:
        name = database_name(svc.db) if "postgresql" in svc.embedded else DEMO_DATABASE
    return name, fresh_database(svc.db, name)


@click.command()
@click.option("--machines", default=200, show_default=True, help="Simulated fleet size.")
@click.option("--days", default=365, show_default=True, help="Days of history to simulate.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated fleet.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None,
              help="Folder for the plans (CSV/XLSX per station), the backtest report and the "
                   "evaluation plot [default: FLEETCARE_DATA_DIR/demo].")
@click.option("--backtest/--no-backtest", "with_backtest", default=True, show_default=True,
              help="End with the short closed-loop backtest and its report.")
@click.option("--database", default=None,
              help="Database the demo drops and recreates on a configured server [default: "
                   f"{DEMO_DATABASE}]; several demos can share one server under different names.")
@click.pass_context
def demo(ctx: click.Context, machines: int, days: int, seed: int, out_dir: Path | None,
         with_backtest: bool, database: str | None) -> None:
    """Run the pipeline end to end (simulate, ingest, ...) and print a summary.

    On the embedded database (FLEETCARE_DATABASE_URL unset) the demo replaces the
    contents of the embedded `fleetcare` database, so later commands in the same data
    folder see its results; with FLEETCARE_DATABASE_URL set it uses a separate
    `fleetcare_demo` database on that server.
    """

    settings = settings_of(ctx)
    out = (out_dir or settings.data_dir / "demo").absolute()
    written: list[Path] = []
    root = ctx.find_root()
    started, cpu_started = time.monotonic(), time.process_time()
    timings: list[tuple[str, float, float]] = []

    def step(title: str, run: Callable[[], object]) -> None:
        click.echo(f"\n== {title}")
        t0, c0 = time.monotonic(), time.process_time()
        run()
        timings.append((title, time.monotonic() - t0, time.process_time() - c0))

    with services(settings, broker=True, migrate=False) as svc:
        embedded = "postgresql" in svc.embedded
        name, demo_url = demo_database(svc, database)
        db.upgrade(demo_url, timescaledb=settings.timescaledb)
        info = db.status(demo_url)
        click.echo("Fleetcare demo")
        click.echo("  services    " + ", ".join(
            f"{name} (embedded)" if name in svc.embedded else f"{name} (configured)"
            for name in ("postgresql", "mqtt")))
        click.echo(f"  database    {name}: PostgreSQL {info['postgresql']}, TimescaleDB "
                   f"{info['timescaledb'] or 'not installed (plain tables)'}, "
                   f"{len(info['applied'])} migrations")
        click.echo(f"  broker      {svc.mqtt}")
        click.echo(f"  files       {out}")
        # Every stage command below reads these settings, so they all use the demo's
        # database and the broker started above.
        root.obj = settings.model_copy(update={"database_url": demo_url,
                                               "mqtt_url": svc.mqtt})
        try:
            _pipeline(ctx, step, machines=machines, days=days, seed=seed, out=out,
                      written=written, with_backtest=with_backtest)
        finally:
            root.obj = settings
    # CPU: this process's own (all its threads), not the database's or worker processes';
    # on a shared machine it shows what a stage costs when the wall clock cannot.
    click.echo("\n== Summary" + " " * 55 + "wall      cpu")
    for title, seconds, cpu in timings:
        click.echo(f"  {title:<58} {seconds:7.1f} s {cpu:7.1f} s")
    click.echo(f"  {'total':<58} {time.monotonic() - started:7.1f} s "
               f"{time.process_time() - cpu_started:7.1f} s")
    click.echo(f"\n== Results ({out})")
    for path in written:
        click.echo(f"  {path.relative_to(out) if path.is_relative_to(out) else path}")
    if embedded:
        click.echo("  the plans, scores and models are in this data folder's database: "
                   "`fleetcare plan list`, `fleetcare serve`, `fleetcare db url`")
    else:
        click.echo(f"  database: FLEETCARE_DATABASE_URL={redact_url(demo_url)}")


def _pipeline(ctx: click.Context, step: Callable[[str, Callable[[], object]], None], *,
              machines: int, days: int, seed: int, out: Path, written: list[Path],
              with_backtest: bool = True) -> None:
    from gateways.cli import simulate_command
    from ingest.cli import ingest
    from ingest.direct import ingest_direct

    simulate = simulate_command(ingest_direct)

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
    plot = out / "evaluation.png"

    def evaluate_and_plot() -> None:
        out.mkdir(parents=True, exist_ok=True)
        ctx.invoke(evaluate, plot_path=plot)
        written.append(plot)

    step("evaluate: model vs today's rules vs the oracle (held-out period)",
         evaluate_and_plot)
    step("score: risk per machine and component, wear-part due dates",
         lambda: ctx.invoke(score))

    from scheduler.demo import demo_lines, plan_for_demo

    def plans() -> None:
        url = settings_of(ctx).database_url or ""
        result = plan_for_demo(url)
        for line in demo_lines(result):
            click.echo(line)
        written.extend(export_plans(url, result, out / "plans"))

    step("plan: 保健 visits (next 4 weeks) and parts pre-stock", plans)

    if not with_backtest:
        return
    from backtest.cli import backtest

    # A short closed loop on its own fleet (the warm-up year trains its model): enough to
    # show the table; the bar's 1,000 machines x 26 weeks x 3 seeds is `fleetcare backtest`.
    bt = DEMO_BACKTEST
    reports = (out / "backtest.html", out / "backtest.png")

    def closed_loop() -> None:
        ctx.invoke(backtest, seed=seed, report=reports, **bt)
        written.extend(reports)

    step(f"backtest: {bt['machines']} machines x {bt['weeks']} weeks, four policies",
         closed_loop)


def export_plans(url: str, result: dict[str, Any], folder: Path) -> list[Path]:
    """Write the demo's visit and parts plans as CSV and XLSX per station into `folder`."""
    from scheduler import store
    from scheduler.export import PARTS_COLUMNS, VISIT_COLUMNS, export_rows, with_visit_details

    def summary(kind: str) -> dict[str, Any]:
        return {k: v for k, v in result[kind].items() if k not in ("plan_id", "status")}

    written: list[Path] = []
    with db.connect(url) as conn:
        visits = result["visits"]["plan_id"]
        rows = with_visit_details(conn, store.read_visits(conn, visits))
        written += export_rows(rows, VISIT_COLUMNS, folder, f"visits_{visits}",
                               summary=summary("visits"))
        parts = result["parts"]["plan_id"]
        if parts is not None:
            written += export_rows(store.read_parts(conn, parts), PARTS_COLUMNS, folder,
                                   f"parts_{parts}", summary=summary("parts"))
    return written
