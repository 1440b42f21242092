"""`fleetcare demo`: the whole pipeline on embedded defaults, stage by stage."""

from __future__ import annotations

import time

import click

from fleetcare.runtime import services


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the pipeline end to end on embedded (or configured) services and summarise."""
    from fleetcare import db as dbm
    from fleetcare.cli import settings_of

    settings = settings_of(ctx)
    started = time.monotonic()
    summary: list[tuple[str, str]] = []
    with services(settings, broker=True) as svc:
        info = dbm.status(svc.db)
        summary.append(("services", ", ".join(
            f"{name} (embedded)" if name in svc.embedded else name
            for name in ("postgresql", "mqtt"))))
        summary.append(("database", f"PostgreSQL {info['postgresql']}, TimescaleDB "
                        f"{info['timescaledb'] or 'not installed'}"))
        summary.append(("broker", svc.mqtt))
        summary.append(("migrations", f"{len(info['applied'])} applied "
                        f"({len(svc.migrations_applied)} new this run)"))
    summary.append(("took", f"{time.monotonic() - started:.1f} s"))
    click.echo("Fleetcare demo")
    for key, value in summary:
        click.echo(f"  {key:<11} {value}")
