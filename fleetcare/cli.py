"""The `fleetcare` command line: one sub-command per job, one-line errors, -v for detail."""

from __future__ import annotations

import json
import logging
import signal
import sys
from typing import Any

import click

from fleetcare.errors import FleetcareError
from fleetcare.logs import configure_logging
from fleetcare.settings import Settings, load_settings

log = logging.getLogger("fleetcare.cli")


class FleetcareGroup(click.Group):
    """A group whose errors print as one line (the chain of causes), traceback only with -vv."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FleetcareError as exc:
            if logging.getLogger("fleetcare").isEnabledFor(logging.DEBUG):
                raise
            causes = [str(exc)]
            cause = exc.__cause__
            while cause is not None and len(causes) < 3:
                text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
                if text and text not in causes[-1]:
                    causes.append(text)
                cause = cause.__cause__
            click.echo(f"fleetcare: error: {': '.join(causes)}", err=True)
            ctx.exit(1)


@click.group(cls=FleetcareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Fleetcare: predictive 保健 maintenance for construction machinery fleets.

    Settings come from FLEETCARE_* environment variables (or a .env file); an unset
    FLEETCARE_DATABASE_URL or FLEETCARE_MQTT_URL starts an embedded database or broker.
    """
    settings = load_settings()
    level = settings.log_level_number
    if verbose:
        level = logging.DEBUG if verbose > 1 else min(level, logging.INFO)
    configure_logging(level)
    ctx.obj = settings


def settings_of(ctx: click.Context) -> Settings:
    """The Settings the group built for this invocation."""
    return ctx.find_root().obj  # type: ignore[no-any-return]


@cli.group()
def db() -> None:
    """Manage the database schema (migrations)."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations (safe to run twice)."""
    from fleetcare.runtime import services

    with services(settings_of(ctx)) as svc:
        applied = svc.migrations_applied
        names = f": {', '.join(applied)}" if applied else ""
        click.echo(f"applied {len(applied)} migration(s){names}")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Show the backend, TimescaleDB version and applied/pending migrations."""
    from fleetcare import db as dbm
    from fleetcare.runtime import services

    with services(settings_of(ctx), migrate=False) as svc:
        info = dbm.status(svc.db)
    if as_json:
        click.echo(json.dumps(info))
    else:
        for key, value in info.items():
            click.echo(f"{key:12} {value}")


def _register_stage_commands() -> None:
    """Each stage owns its commands in its own cli module; they are attached here."""
    from fleetcare.bench import bench
    from fleetcare.catalogue_files import catalogue_group
    from fleetcare.demo import demo
    from fleetcare.web import serve

    cli.add_command(demo)
    cli.add_command(catalogue_group)
    cli.add_command(bench)
    cli.add_command(serve)

    from ingest.bench import bench_ingest
    from ingest.cli import import_, ingest

    cli.add_command(ingest)
    cli.add_command(import_)
    bench.add_command(bench_ingest)

    from scheduler.bench import plan_bench
    from scheduler.cli import jobs_group, plan_group, scheduler_command

    cli.add_command(scheduler_command)
    cli.add_command(jobs_group)
    cli.add_command(plan_group)
    bench.add_command(plan_bench)

    from gateways.cli import simulate

    cli.add_command(simulate)

    from models.bench import bench_models
    from models.cli import evaluate, score, train

    cli.add_command(train)
    cli.add_command(evaluate)
    cli.add_command(score)
    bench.add_command(bench_models)

    from features.cli import bench_features, features

    cli.add_command(features)
    bench.add_command(bench_features)

    from backtest.cli import backtest

    cli.add_command(backtest)


_register_stage_commands()


def main() -> None:
    """Entry point of the `fleetcare` console script."""
    # SIGTERM (docker stop, CI teardown) unwinds like Ctrl-C, so embedded servers are stopped
    # and open batches are not acked.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        cli.main(prog_name="fleetcare")
    except FleetcareError as exc:  # raised while building settings, before any command
        click.echo(f"fleetcare: error: {exc}", err=True)
        sys.exit(2)
