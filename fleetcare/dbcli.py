"""`fleetcare db ...`: the schema's migrations, status and connection URL."""

from __future__ import annotations

import json
import signal

import click

from fleetcare.clikit import settings_of


@click.group()
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
