"""`fleetcare backtest` end to end on a tiny fleet: JSON, report, forked branches, cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from click.testing import CliRunner
from conftest import ADMIN_URL

from app.cli import cli
from fleetcare.queries import beside

Q = beside(__file__)


def _backtest_databases(prefix: str) -> list[str]:
    with psycopg.connect(ADMIN_URL) as conn:
        return [r[0] for r in conn.execute(
            Q.pg_database_datname, (prefix + "%",))]


def test_backtest_json_and_report(db_url: str, tmp_path: Path) -> None:
    report = tmp_path / "backtest.png"
    runner = CliRunner()
    result = runner.invoke(cli, [
        "backtest", "--machines", "40", "--weeks", "2", "--seeds", "2", "--warmup-days", "70",
        "--policies", "reactive,calendar,hours", "--tech-days", "2", "--method", "greedy",
        "--workers", "2", "--json", "--report", str(report)],
        env={"FLEETCARE_DATABASE_URL": db_url, "FLEETCARE_TIMESCALEDB": "off"})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for policy in ("reactive", "calendar", "hours"):
        row = summary[policy]
        for key in ("breakdowns", "peak_breakdowns", "downtime_h", "total_cost", "fill_rate"):
            assert key in row, (policy, key)
    assert summary["reactive"]["visits"] == 0
    assert summary["hours"]["visits"] > 0
    diff = summary["differences"]
    assert diff == {}  # no predictive policy in this run: nothing to compare it with
    assert summary["config"]["replication_seeds"] == [7, 8]
    assert len(summary["replications"]) == 6
    assert report.stat().st_size > 20_000
    # The run's databases are gone.
    dbname = db_url.rsplit("/", 1)[1]
    assert _backtest_databases(f"{dbname}_bt_") == []
