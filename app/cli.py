"""The `fleetcare` command line: the root command, composed from every stage's commands.

The stages own their commands (each stage's `cli.py`, the benchmarks in `bench/`); this
module sits above them all and attaches them, so no stage imports the root back.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from app.demo import demo
from app.notebook import notebook
from app.web import serve
from backtest.cli import backtest
from bench.cli import bench
from features.cli import features
from fleetcare.catalogue_files import catalogue_group
from fleetcare.clikit import ENV_PREFIX, FleetcareGroup, show_envvars
from fleetcare.dbcli import db
from fleetcare.errors import FleetcareError
from fleetcare.logs import configure_logging
from fleetcare.settings import load_settings
from gateways.cli import simulate_command
from ingest.cli import import_, ingest
from ingest.direct import ingest_direct
from models.cli import evaluate, score, train
from scheduler.cli import jobs_group, plan_group, scheduler_command

log = logging.getLogger("fleetcare.cli")


@click.group(cls=FleetcareGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                   "auto_envvar_prefix": ENV_PREFIX})
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


for _command in (db, demo, catalogue_group, bench, serve, ingest, import_, scheduler_command,
                 jobs_group, plan_group, simulate_command(ingest_direct), train, evaluate,
                 score, features, backtest, notebook):
    cli.add_command(_command)
show_envvars(cli)


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
