"""`fleetcare ingest` (the MQTT service) and `fleetcare import` (historical archives)."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Any

import click

from fleetcare.clikit import settings_of

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


KINDS = ("regions", "customers", "stations", "machines", "telemetry", "faults", "service",
         "aemp")


def _pairs(args: tuple[str, ...]) -> list[tuple[str, Path]]:
    """``KIND FILE... [KIND FILE...]`` as (kind, file) pairs, master data first."""
    from ingest.master import in_load_order

    if not args or args[0] not in KINDS:
        raise click.UsageError(f"start with a kind: {', '.join(KINDS)}")
    kind, pairs = args[0], []
    for arg in args[1:]:
        if arg in KINDS:
            kind = arg
            continue
        path = Path(arg)
        if not path.exists() or (path.is_dir() and kind != "aemp"):
            raise click.BadParameter(f"{arg}: no such file", param_hint="FILES")
        pairs.append((kind, path))
    if not pairs or pairs[-1][0] != kind:
        raise click.UsageError(f"no file given for {kind}")
    return in_load_order(pairs)


def summary_line(path: Path, kind: str, result: dict[str, Any]) -> str:
    """``file: N rows in = S stored + D already there + X dead letters`` and per stream."""
    dead = result["dead_letters"]
    n_dead = sum(dead.values())
    line = (f"{path} ({kind}): {result['rows']} rows in = {result['stored']} stored + "
            f"{result['duplicates']} already there + {n_dead} dead letters"
            + (f" ({', '.join(f'{k} {v}' for k, v in dead.items())})" if dead else ""))
    streams = result.get("streams") or {}
    if len(streams) > 1 or (streams and kind == "aemp"):
        line += "".join(f"\n  {name}: {c['rows']} = {c['stored']} + {c['duplicates']} + "
                        f"{c['dead_letters']}" for name, c in streams.items())
    arrival = result.get("arrival") or {}
    if arrival.get("event_time"):
        line += (f"\n  {arrival['event_time']} rows had no sent_at: arrival = event time "
                 "(use --arrived-at to say when the archive became known)")
    if arrival.get("given"):
        line += f"\n  {arrival['given']} rows had no sent_at: arrival = --arrived-at"
    if fields := result.get("fields"):
        line += (f"\n  fields: {fields['seen']} seen = {sum(fields['landed'].values())} "
                 f"stored in columns + {fields['used']} used as key or time + "
                 f"{sum(fields['no_home'].values())} with no home"
                 + (f" ({', '.join(f'{k} {v}' for k, v in fields['no_home'].items())})"
                    if fields["no_home"] else "")
                 + f"; pages {', '.join(fields['pages'])}")
        for href in fields["links_not_followed"]:
            line += f"\n  next page not found beside the file: {href}"
    for what, info in (result.get("unknown") or {}).items():
        name = "fault codes (SPN)" if what == "spn" else "component names"
        line += (f"\n  {info['rows']} {'rows' if what == 'spn' else 'mentions'} of "
                 f"{info['distinct']} {name} the catalogue "
                 f"does not know, e.g. {', '.join(map(str, info['examples']))}: kept, "
                 "counted once the catalogue knows them")
    return line


@click.command("import", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True, metavar="KIND FILE... [KIND FILE...]")
@click.option("--arrived-at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
              default=None,
              help="When the archive became known to you: the arrival of rows without "
                   "sent_at (default: their event time).")
@click.option("--encoding", default=None, metavar="NAME",
              help="Text encoding of CSV/JSON files, e.g. gbk or gb18030 (default: UTF-8 "
                   "with or without BOM, else GB18030, detected).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@click.pass_context
def import_(ctx: click.Context, args: tuple[str, ...], arrived_at: Any, encoding: str | None,
            as_json: bool) -> None:
    """Load master data and historical archives: CSV or Parquet, or AEMP 2.0 snapshots.

    KIND is regions, customers, stations, machines (master data, upserted), telemetry,
    faults, service (CSV or Parquet, by extension) or aemp (ISO 15143-3 fleet snapshot
    JSON: a file whose next-page links are followed, or a folder of pages). Several kinds
    may follow in one call, in any order: master data is loaded first, in reference
    order. Column layouts: examples/import/README.md. History rows go through the same
    validation, dead letters and idempotent writes as MQTT ingest, so importing a file
    twice changes nothing; each file prints rows in = stored + already there + dead
    letters. A file that cannot be read (corrupt, wrong encoding, missing columns) stops
    the command with one line and stores nothing.
    """
    from datetime import UTC

    from fleetcare.runtime import services
    from ingest.importer import import_file

    pairs = _pairs(args)
    if arrived_at is not None and arrived_at.tzinfo is None:
        arrived_at = arrived_at.replace(tzinfo=UTC)
    with services(settings_of(ctx)) as svc:
        for kind, path in pairs:
            result = import_file(svc.db, kind, path, arrived_at=arrived_at, encoding=encoding)
            if as_json:
                click.echo(json.dumps({"file": str(path), "kind": kind, **result}))
            else:
                click.echo(summary_line(path, kind, result))
