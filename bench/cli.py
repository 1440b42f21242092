"""`fleetcare bench ...`: benchmarks that measure a baseline and a ceiling in the same run."""

from __future__ import annotations

import click

from bench.features import bench_features
from bench.ingest import bench_ingest
from bench.models import bench_models
from bench.plan import plan_bench
from bench.soak import bench_soak


@click.group()
def bench() -> None:
    """Benchmarks: each prints its figure with baseline and ceiling ratios (--json for scripts)."""


for _command in (bench_ingest, bench_soak, plan_bench, bench_models, bench_features):
    bench.add_command(_command)
