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
        except click.UsageError as exc:  # a bad argument: one line, and where to read more
            where = " ".join(exc.ctx.command_path.split()[1:]) if exc.ctx else ""
            hint = f"fleetcare {where} --help" if where else "fleetcare --help"
            click.echo(f"fleetcare: error: {exc.format_message()} (see '{hint}')", err=True)
            ctx.exit(2)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a case no stage mapped yet: still one line, not a traceback
            if logging.getLogger("fleetcare").isEnabledFor(logging.DEBUG):
                raise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            click.echo(f"fleetcare: error: {type(exc).__name__}"
                       + (f": {text}" if text else "")
                       + " (unexpected; run with -vv for the traceback)", err=True)
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
        shown = {**info, "timescaledb": info["timescaledb"] or "not installed (plain tables)",
                 "applied": ", ".join(map(str, info["applied"])) or "none",
                 "pending": ", ".join(map(str, info["pending"])) or "none"}
        for key, value in shown.items():
            click.echo(f"{key:12} {value}")


@db.command("url")
@click.option("--wait/--no-wait", default=None,
              help="Keep an embedded server this command started running until Ctrl-C "
                   "[default: wait when the server was not already running].")
@click.pass_context
def db_url(ctx: click.Context, wait: bool | None) -> None:
    """Print the database's connection URL (for psql, pandas, notebooks).

    With FLEETCARE_DATABASE_URL set, that URL. Otherwise the embedded database of this
    data folder (`fleetcare demo` leaves its results there); its server listens only
    while a Fleetcare command runs, so if none does this command keeps it running until
    Ctrl-C. The URL carries the embedded server's generated password.
    """
    import threading

    from fleetcare.embedded import started_here
    from fleetcare.runtime import services

    settings = settings_of(ctx)
    with services(settings, migrate=False) as svc:
        click.echo(svc.db)
        ours = "postgresql" in svc.embedded and started_here(settings.data_dir)
        if wait if wait is not None else ours:
            if not ours:
                return
            click.echo("embedded PostgreSQL started for this URL; it stops when you press "
                       "Ctrl-C (or keep `fleetcare serve` running instead)", err=True)
            stop = threading.Event()
            previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                while not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                pass
            finally:
                signal.signal(signal.SIGTERM, previous)


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
    from ingest.soak import bench_soak

    cli.add_command(ingest)
    cli.add_command(import_)
    bench.add_command(bench_ingest)
    bench.add_command(bench_soak)

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
