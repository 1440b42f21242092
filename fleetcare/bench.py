"""`fleetcare bench ...`: benchmarks that measure a baseline and a ceiling in the same run."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Benchmarks: each prints its figure with baseline and ceiling ratios (--json for scripts)."""
