"""`fleetcare simulate`: generate a fleet's history and publish it like real gateways."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from fleetcare.clikit import settings_of
from gateways.simulator import BackgroundService
from gateways.uplink import Message, Messiness

log = logging.getLogger("gateways.cli")
_DEFAULT = Messiness()


# ingest's direct write path (gateways sit below ingest, so it is handed in from above).
DirectSink = Callable[[str, Iterable[Message]], dict]

_OPTIONS = (
    click.option("--machines", default=200, show_default=True, type=click.IntRange(min=1),
                 help="Fleet size."),
    click.option("--days", default=365, show_default=True, type=click.IntRange(min=1),
                 help="Days to simulate."),
    click.option("--seed", default=7, show_default=True,
                 help="Same seed, same messages and truth."),
    click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
                 help="First simulated day [default: today minus --days]."),
    click.option("--backfill", "speed", flag_value=0.0, default=True,
                 help="Publish history as fast as the broker takes it (default)."),
    click.option("--speed", "speed", type=float,
                 help="Live mode: accelerated clock (3600 = one simulated hour per second)."),
    click.option("--sink", type=click.Choice(["mqtt", "direct", "jsonl", "null"]), default="mqtt",
                 show_default=True, help="mqtt: the broker; direct: ingest's write path without a "
                 "broker; jsonl: a file (--out); null: generate only (speed tests)."),
    click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="File for --sink jsonl ('-' = stdout)."),
    click.option("--export-csv", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="Also write the fleet master data as CSV files into this folder."),
    click.option("--truth/--no-truth", default=True, show_default=True,
                 help="Write the hidden truth to the database's `truth` schema."),
    click.option("--no-db", is_flag=True,
                 help="Do not touch a database (no master data, no truth)."),
    click.option("--maker-inspections/--no-maker-inspections", default=True, show_default=True,
                 help="Today's 1/3/6/12-month warranty inspections (off: a policy decides)."),
    click.option("--customer-services/--no-customer-services", default=True, show_default=True,
                 help="Customers booking hour-interval services by themselves."),
    click.option("--gap-rate", default=_DEFAULT.gap_rate, show_default=True,
                 help="Chance per machine-day that a coverage gap starts."),
    click.option("--gap-days", default=_DEFAULT.gap_days, show_default=True,
                 help="Mean coverage gap length, days."),
    click.option("--duplicate-rate", default=_DEFAULT.duplicate_rate, show_default=True),
    click.option("--out-of-order-rate", default=_DEFAULT.out_of_order_rate, show_default=True),
    click.option("--skew-share", default=_DEFAULT.skew_share, show_default=True,
                 help="Share of gateways with a skewed clock."),
    click.option("--meter-reset-rate", default=_DEFAULT.meter_reset_rate, show_default=True,
                 help="Hour meters replaced per machine-year."),
    click.option("--malformed-rate", default=_DEFAULT.malformed_rate, show_default=True),
    click.option("--clean", is_flag=True, help="No messiness at all (all rates 0)."),
    click.option("--clients", default=4, show_default=True, help="MQTT connections."),
    click.option("--window", default=2000, show_default=True, help="Max unacknowledged messages."),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object."),
)


def simulate_command(direct_sink: DirectSink | None = None) -> click.Command:
    """`fleetcare simulate`; `direct_sink` stores messages for --sink direct."""

    def simulate(ctx: click.Context, **options: Any) -> None:
        """Simulate a fleet's machines and publish their telemetry, fault codes and work orders."""
        _simulate(ctx, direct_sink, **options)

    # The decorators' order: the last one applied is the first option listed.
    callback = click.pass_context(simulate)
    for option in reversed(_OPTIONS):
        callback = option(callback)
    return click.command("simulate")(callback)


def _simulate(ctx: click.Context, direct_sink: DirectSink | None, machines: int, days: int,
              seed: int, start: object, speed: float | None, sink: str, out: Path | None,
              export_csv: Path | None,
              truth: bool, no_db: bool, maker_inspections: bool, customer_services: bool,
              gap_rate: float, gap_days: float, duplicate_rate: float, out_of_order_rate: float,
              skew_share: float, meter_reset_rate: float, malformed_rate: float, clean: bool,
              clients: int, window: int, as_json: bool) -> None:
    from fleetcare.runtime import services
    from gateways.master import export_csv as write_csv
    from gateways.master import write_master_data
    from gateways.run import SimulationRun

    if sink == "jsonl" and out is None:
        raise click.UsageError("--sink jsonl needs --out FILE")
    if no_db and sink == "direct":
        raise click.UsageError("--sink direct needs the database")
    if sink == "direct" and direct_sink is None:
        raise click.UsageError("--sink direct needs ingest's write path, which this "
                               "command was built without")
    messiness = Messiness.clean() if clean else Messiness(
        gap_rate, gap_days, duplicate_rate, out_of_order_rate, skew_share, meter_reset_rate,
        malformed_rate)
    background = BackgroundService(customer_services=customer_services,
                                   maker_inspections=maker_inspections)
    first = start.date() if start is not None else None  # type: ignore[attr-defined]
    t0 = time.monotonic()
    run = SimulationRun(machines, days, seed, first, messiness=messiness, background=background)
    if export_csv:
        paths = write_csv(run.fleet, export_csv)
        log.info("master data CSV: %s", ", ".join(p.name for p in paths))

    settings = settings_of(ctx)
    with ExitStack() as stack:
        svc = stack.enter_context(services(settings, database=not no_db,
                                           broker=sink == "mqtt"))
        on_day = _Progress(days, stack)
        writer = None
        if not no_db:
            from fleetcare import db
            from gateways.truth import TruthWriter

            conn = stack.enter_context(db.connect(svc.db))
            counts = write_master_data(conn, run.fleet)
            log.info("master data upserted: %s", counts)
            if truth:
                writer = TruthWriter(conn, [m.machine_id for m in run.fleet.machines])
                writer.begin(seed, run.start, days, {
                    "machines": machines, "messiness": messiness.__dict__,
                    "background": background.__dict__})

        def day_hook(rec: object) -> None:
            if writer is not None:
                writer.write_day(rec)  # type: ignore[arg-type]
            on_day(rec)

        messages = run.messages(day_hook)
        if speed:
            from gateways.publisher import paced

            messages = paced(messages, speed)
        result: dict = {}
        if sink == "mqtt":
            from gateways.publisher import Publisher

            with Publisher(svc.mqtt, clients=clients, window=window,
                           username=settings.mqtt_username,
                           password=settings.mqtt_password) as pub:
                result["published"] = pub.publish(messages)
        elif sink == "direct":
            assert direct_sink is not None   # checked with the other arguments above
            result["ingest"] = direct_sink(svc.db, messages)
        elif sink == "jsonl":
            from gateways.sinks import write_jsonl

            fh = sys.stdout if str(out) == "-" else stack.enter_context(
                open(out, "w", encoding="utf-8"))  # type: ignore[arg-type]
            for _ in write_jsonl(messages, fh):
                pass
        else:
            for _ in messages:
                pass
        if writer is not None:
            writer.write_resets(run.uplink)
        on_day.close()
    elapsed = time.monotonic() - t0
    summary = {
        "machines": machines, "days": days, "seed": seed, "start": run.start.isoformat(),
        "sink": sink, "messages": dict(run.counts), **result, **run.stats.summary(),
        "seconds": round(elapsed, 1),
        "machine_days_per_s": round(machines * days / elapsed),
    }
    if as_json:
        click.echo(json.dumps(summary, default=str))
    else:
        _print_summary(summary)


class _Progress:
    """A rich progress bar on a terminal; a log line every ~10 % otherwise."""

    def __init__(self, days: int, stack: ExitStack) -> None:
        self.days = days
        self.done = 0
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress

            self.bar = stack.enter_context(Progress(transient=True))
            self.task = self.bar.add_task("simulating", total=days)

    def __call__(self, rec: object) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1,
                            description=f"simulating {rec.day}")  # type: ignore[attr-defined]
        elif self.done == self.days or self.done % max(1, self.days // 10) == 0:
            log.info("simulated %d/%d days (up to %s)", self.done, self.days,
                     rec.day)  # type: ignore[attr-defined]

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_summary(s: dict) -> None:
    click.echo(f"simulated {s['machines']} machines x {s['days']} days from {s['start']} "
               f"(seed {s['seed']}) in {s['seconds']} s: {s['machine_days_per_s']} machine-days/s")
    click.echo("  messages  " + ", ".join(f"{k} {v}" for k, v in sorted(s["messages"].items())))
    if "published" in s:
        click.echo(f"  published {s['published']} (all acknowledged)")
    if "ingest" in s:
        click.echo(f"  ingest    {s['ingest']}")
    click.echo(f"  hours     {s['operating_hours']}  failures {s['failures']} "
               f"({s['failures_per_machine_year']} per machine-year)")
    click.echo("  per 1000h " + ", ".join(f"{k} {v}" for k, v in s["failures_per_1000h"].items()))
    click.echo(f"  failures preceded by a related fault code within 14 days: "
               f"{s['preceded_by_related_code_14d']:.0%}; related codes with no failure "
               f"within 14 days: {s['related_codes_without_failure_14d']:.0%}")
    click.echo(f"  service   {s['service_records']}")


