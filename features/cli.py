"""`fleetcare features ...` and `fleetcare bench features`."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import click
from psycopg import sql

log = logging.getLogger("features.cli")


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
    from fleetcare.cli import settings_of
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
    from fleetcare.cli import settings_of
    from fleetcare.runtime import services

    with services(settings_of(ctx)) as svc, db.connect(svc.db) as conn:
        marks = {r[0]: {"watermark": r[1].isoformat(), "detail": r[2]} for r in conn.execute(
            "SELECT job, watermark, detail FROM job_watermarks WHERE job LIKE 'features.%'")}
        row = conn.execute("SELECT min(day), max(day), count(*), count(*) FILTER "
                           "(WHERE as_of_now) FROM features_daily").fetchone()
    assert row is not None
    info = {"jobs": marks, "first_day": row[0] and row[0].isoformat(),
            "last_day": row[1] and row[1].isoformat(), "rows": row[2], "rows_as_of_now": row[3]}
    if as_json:
        click.echo(json.dumps(info))
    else:
        for key, value in info.items():
            click.echo(f"{key:15} {value}")


# --- bench ---------------------------------------------------------------------------


def _scratch_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@click.command("features")
@click.option("--machines", default=10_000, show_default=True)
@click.option("--days", default=365, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Parallel chunk builders.")
@click.option("--keep", is_flag=True, help="Keep the scratch database (its name is printed).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_features(ctx: click.Context, machines: int, days: int, workers: int, keep: bool,
                   as_json: bool) -> None:
    """Full build and daily incremental build against a count(*) scan of the same telemetry.

    Runs in a scratch database on the configured server, filled with synthetic raw data
    (SQL generate_series: readings, late uploads, fault codes, services; no wear model).
    """
    from features import synthetic
    from features.build import build
    from fleetcare import db
    from fleetcare.cli import settings_of
    from fleetcare.runtime import services

    start = date(2025, 1, 1)
    with services(settings_of(ctx), migrate=False) as svc:
        name = f"fc_bench_features_{uuid.uuid4().hex[:8]}"
        with db.connect(svc.db, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = _scratch_url(svc.db, name)
        try:
            out = _run_bench(url, machines, days, workers, start, synthetic, build, db)
        finally:
            if not keep:
                with db.connect(svc.db, autocommit=True) as admin:
                    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                                  .format(sql.Identifier(name)))
    out["database"] = name if keep else None
    if as_json:
        click.echo(json.dumps(out))
    else:
        for key, value in out.items():
            click.echo(f"{key:22} {value}")


def _run_bench(url: str, machines: int, days: int, workers: int, start: date,
               synthetic, build, db) -> dict[str, object]:  # type: ignore[no-untyped-def]
    db.upgrade(url)
    with db.connect(url, autocommit=True) as conn:
        t0 = time.monotonic()
        synthetic.write_master(conn, machines, start)
        synthetic.write_days(conn, machines, start, 0, days - 2)
        conn.execute("VACUUM ANALYZE")
        generate_s = time.monotonic() - t0
        rows = conn.execute("SELECT count(*) FROM telemetry").fetchone()[0]  # type: ignore[index]
        scans = []
        for _ in range(3):
            t0 = time.monotonic()
            conn.execute("SELECT count(*) FROM telemetry").fetchone()
            scans.append(time.monotonic() - t0)
        count_scan_s = sorted(scans)[1]
        t0 = time.monotonic()
        full = build(conn, None, start + timedelta(days=days - 2), workers=workers)
        full_s = time.monotonic() - t0
        # The next day arrives (received now), then the daily run: rollups + one day.
        synthetic.write_days(conn, machines, start, days - 1, days - 1, received="now")
        t0 = time.monotonic()
        incr = build(conn, None, start + timedelta(days=days - 1), workers=workers)
        incr_s = time.monotonic() - t0
        feature_rows = conn.execute("SELECT count(*) FROM features_daily").fetchone()[0]  # type: ignore[index]
    return {
        "machines": machines, "days": days,
        "data": "synthetic (SQL generate_series; no simulator)",
        "telemetry_rows": rows, "feature_rows": feature_rows, "generate_s": round(generate_s, 1),
        "count_scan_s": round(count_scan_s, 3),
        "full_build_s": round(full_s, 1),
        "full_rollup_s": round(full.rollup.seconds if full.rollup else 0.0, 1),
        "incremental_day_s": round(incr_s, 2),
        "incremental_rollup_s": round(incr.rollup.seconds if incr.rollup else 0.0, 2),
        "full_vs_count_scan": round(full_s / count_scan_s, 1) if count_scan_s else None,
        "incremental_vs_count_scan": round(incr_s / count_scan_s, 1) if count_scan_s else None,
        "workers": workers, "cpus": os.cpu_count(),
        "bars": {"full_build_s": 300, "incremental_day_s": 20},
    }
