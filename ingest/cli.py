"""`fleetcare ingest` (the MQTT service) and `fleetcare import` (historical archives)."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Any

import click

log = logging.getLogger("ingest.cli")


@click.command("ingest")
@click.option("--once", is_flag=True,
              help="Drain what is queued for this client's session, then exit.")
@click.option("--idle", "idle_exit_s", type=float, default=2.0, show_default=True,
              help="With --once: seconds without a message that mean drained.")
@click.option("--connect-timeout", "connect_timeout_s", type=click.FloatRange(min=0.1),
              default=30.0, show_default=True,
              help="With --once: exit with an error when the broker cannot be reached for "
                   "this many seconds (the service keeps retrying, logging each attempt).")
@click.option("--client-id", envvar="FLEETCARE_INGEST_CLIENT_ID", default="fleetcare-ingest",
              show_default=True, show_envvar=True,
              help="Stable MQTT client id: the persistent session (and its queue) is keyed "
                   "by it. Give each process of a shared group its own.")
@click.option("--shared", "shared_group", envvar="FLEETCARE_INGEST_SHARED_GROUP",
              default=None, show_envvar=True, is_flag=False, flag_value="fleetcare",
              help="Join the shared subscription $share/GROUP/fleet/v1/+/+ (default group "
                   "'fleetcare') so several processes split the load. Without it one process "
                   "receives everything.")
@click.option("--batch", "batch_messages", type=click.IntRange(1, 9000), default=2000,
              show_default=True, help="Messages per transaction.")
@click.option("--max-latency", "max_latency_s", type=float, default=0.5, show_default=True,
              help="Seconds a received message may wait before its batch is written.")
@click.option("--metrics-port", type=int, envvar="FLEETCARE_INGEST_METRICS_PORT",
              default=None, show_envvar=True,
              help="Serve Prometheus metrics on this port (service default 9108; 0 = any).")
@click.option("--log-every", "log_every_s", type=float, default=None,
              help="Seconds between summary log lines [default: 5 with --once, else 30].")
@click.option("--subscribe-only", is_flag=True,
              help="Create the persistent session and subscription, then exit, so the "
                   "broker queues messages published before ingest first runs.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the counts as JSON.")
@click.pass_context
def ingest(ctx: click.Context, once: bool, idle_exit_s: float, connect_timeout_s: float,
           client_id: str, shared_group: str | None, batch_messages: int,
           max_latency_s: float, metrics_port: int | None, log_every_s: float | None,
           subscribe_only: bool, as_json: bool) -> None:
    """Store MQTT telemetry, fault codes and service records: validated, once, acked after commit.

    Runs until SIGTERM/SIGINT (a second one exits without waiting for the database);
    with --once it exits when the session's queue is drained.
    """
    from fleetcare.cli import settings_of
    from fleetcare.runtime import services
    from ingest.subscriber import Ingest, IngestConfig, prepare_session

    settings = settings_of(ctx)
    with services(settings, database=not subscribe_only, broker=True) as svc:
        if subscribe_only:
            prepare_session(svc.mqtt, client_id, shared_group=shared_group,
                            username=settings.mqtt_username, password=settings.mqtt_password)
            click.echo(f"session {client_id!r} subscribed on {svc.mqtt}")
            return
        if metrics_port is None and not once:
            metrics_port = 9108
        config = IngestConfig(
            mqtt_url=svc.mqtt, database_url=svc.db, client_id=client_id,
            shared_group=shared_group, username=settings.mqtt_username,
            password=settings.mqtt_password, batch_messages=batch_messages,
            max_latency_s=max_latency_s, max_pending=max(4 * batch_messages, 8000),
            once=once, idle_exit_s=idle_exit_s, connect_timeout_s=connect_timeout_s,
            metrics_port=metrics_port,
            log_every_s=log_every_s if log_every_s is not None else 5.0 if once else 30.0)
        service = Ingest(config)
        signals = {"n": 0}

        def on_signal(signum: int, _frame: Any) -> None:
            signals["n"] += 1
            log.info("%s: stopping%s", signal.Signals(signum).name,
                     "" if signals["n"] == 1 else " now")
            service.stop(now=signals["n"] > 1)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            counts = service.run()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    if as_json:
        click.echo(json.dumps(counts.as_dict()))
    elif once:
        click.echo(f"ingested {counts.messages} messages: {counts.stored_total} rows stored, "
                   f"{counts.duplicates_total} duplicates, {counts.dead_letters_total} "
                   "dead letters")


@click.command("import")
@click.argument("kind", type=click.Choice(["machines", "telemetry", "faults", "service",
                                           "aemp"]))
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", default=None, metavar="NAME",
              help="Text encoding of CSV/JSON files, e.g. gbk or gb18030 (default: UTF-8 "
                   "with or without BOM, else GB18030, detected).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@click.pass_context
def import_(ctx: click.Context, kind: str, files: tuple[Path, ...], encoding: str | None,
            as_json: bool) -> None:
    """Load a historical archive: CSV or Parquet exports, or AEMP 2.0 fleet snapshots (JSON).

    KIND is machines, telemetry, faults, service (CSV or Parquet, by extension) or aemp
    (ISO 15143-3 fleet snapshot JSON). Column layouts: examples/import/README.md. Rows go
    through the same validation, dead letters and idempotent writes as MQTT ingest, so
    importing a file twice changes nothing. A file that cannot be read (corrupt, wrong
    encoding, missing columns) stops the command with one line and stores nothing.
    """
    from fleetcare.cli import settings_of
    from fleetcare.runtime import services
    from ingest.importer import import_file

    with services(settings_of(ctx)) as svc:
        for path in files:
            result = import_file(svc.db, kind, path, encoding=encoding)
            if as_json:
                click.echo(json.dumps({"file": str(path), **result}))
            else:
                dead = result["dead_letters"]
                click.echo(f"{path}: {result['rows']} rows read, {result['stored']} stored, "
                           f"{result['duplicates']} already there, "
                           f"{sum(dead.values())} dead letters"
                           + (f" ({', '.join(f'{k} {v}' for k, v in dead.items())})"
                              if dead else ""))
