"""`fleetcare features ...`: build, rebuild and status of the daily features."""

from __future__ import annotations

import json
import logging
from datetime import date

import click

from fleetcare.clikit import settings_of
from fleetcare.queries import load

log = logging.getLogger("features.cli")
_Q = load("features", "cli.sql")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@click.group("features")
def features() -> None:
    """Point-in-time machine and component features, per machine and day."""


@features.command("build")
@click.option("--from", "first", metavar="DATE",
              help="First day to build (default: the day after the watermark).")
@click.option("--to", "last", metavar="DATE",
              help="Last day to build (default: the last settled day with data).")
@click.option("--rebuild-as-of-now", "as_of_now", is_flag=True,
              help="Recompute the stored days with all data known now, late uploads included "
                   "(marks rows as_of_now; needs --from and --to).")
@click.option("--chunk-days", default=366, show_default=True, help="Days per chunk.")
@click.option("--workers", default=2, show_default=True, envvar="FLEETCARE_FEATURES_WORKERS",
              help="Chunks built in parallel (each on its own connection).")
@click.option("--full-rollups", is_flag=True, help="Rebuild the daily rollups from raw data first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def build_cmd(ctx: click.Context, first: str | None, last: str | None, as_of_now: bool,
              chunk_days: int, workers: int, full_rollups: bool, as_json: bool) -> None:
    """Build feature rows for the days not built yet (or a given range), in chunks."""
    from features.build import build, progress_reporter
    from fleetcare.errors import TerminalError
    from fleetcare.runtime import services

    if as_of_now and not (first and last):
        raise TerminalError("--rebuild-as-of-now needs --from and --to: it rewrites stored days")
    with services(settings_of(ctx)) as svc, progress_reporter("features") as progress:
        result = build(svc.db, _date(first), _date(last), as_of_now=as_of_now,
                       chunk_days=chunk_days, workers=workers, full_rollups=full_rollups,
                       progress=progress)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    elif result.first is None:
        click.echo("features are up to date")
    else:
        click.echo(f"built {result.first}..{result.last} in {result.chunks} chunk(s): "
                   f"{result.rows_written} rows written, {result.seconds:.1f} s")


@features.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_cmd(as_json: bool) -> None:
    """List every feature: name, unit, kind and meaning."""
    from features.catalog import FEATURES

    if as_json:
        click.echo(json.dumps([
            {"name": f.name, "unit": f.unit, "kind": f.kind, "meaning": f.meaning,
             "component": f.component, "source": f.source} for f in FEATURES]))
        return
    width = max(len(f.name) for f in FEATURES)
    for f in FEATURES:
        click.echo(f"{f.name:<{width}}  {f.unit:<8}  {f.meaning}")


@features.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show how far the features jobs have run."""
    from fleetcare import db
    from fleetcare.runtime import services

    with services(settings_of(ctx)) as svc, db.connect(svc.db) as conn:
        marks = {r[0]: {"watermark": r[1].isoformat(), "detail": r[2]}
                 for r in conn.execute(_Q.watermarks)}
        row = conn.execute(_Q.feature_span).fetchone()
    assert row is not None
    info = {"jobs": marks, "first_day": row[0] and row[0].isoformat(),
            "last_day": row[1] and row[1].isoformat(), "rows": row[2], "rows_as_of_now": row[3]}
    if as_json:
        click.echo(json.dumps(info))
    else:
        for key, value in info.items():
            click.echo(f"{key:15} {value}")
