"""`fleetcare bench features`: full and daily builds against a count(*) scan, one run."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import click
from psycopg import sql

from fleetcare.clikit import settings_of
from fleetcare.queries import load

_ADMIN = load("fleetcare", "admin.sql")
_Q = load("bench", "features.sql")


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
    from fleetcare.runtime import services

    start = date(2025, 1, 1)
    with services(settings_of(ctx), migrate=False) as svc:
        name = f"fc_bench_features_{uuid.uuid4().hex[:8]}"
        with db.connect(svc.db, autocommit=True) as admin:
            admin.execute(_ADMIN.create_database.format(name=sql.Identifier(name)))
        url = _scratch_url(svc.db, name)
        try:
            out = _run_bench(url, machines, days, workers, start, synthetic, build, db)
        finally:
            if not keep:
                with db.connect(svc.db, autocommit=True) as admin:
                    admin.execute(_ADMIN.drop_database.format(name=sql.Identifier(name)))
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
        conn.execute(_Q.vacuum)
        generate_s = time.monotonic() - t0
        rows = conn.execute(_Q.count_telemetry).fetchone()[0]  # type: ignore[index]
        scans = []
        for _ in range(3):
            t0 = time.monotonic()
            conn.execute(_Q.count_telemetry).fetchone()
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
        feature_rows = conn.execute(_Q.count_features).fetchone()[0]  # type: ignore[index]
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
