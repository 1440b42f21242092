"""`fleetcare bench ingest --history-days`: the generated history and the bench's own
readings form one consistent fleet, and the run accounts for every row at each size."""

from __future__ import annotations

import psycopg
from click.testing import CliRunner
from conftest import ADMIN_URL
from test_ingest_helpers import seed_machines

from bench.ingest import (
    HISTORY_SEQ0,
    T0,
    bench_ingest,
    bench_messages,
    fill_history,
    parse_history_days,
    run_history_bench,
)
from fleetcare.queries import beside
from ingest.direct import ingest_messages

Q = beside(__file__)

MACHINES = 30


def test_history_then_bench_readings_are_one_clean_series(db_url: str) -> None:
    seed_machines(db_url, [f"B{m:05d}" for m in range(MACHINES)])
    fill_history(db_url, MACHINES, 1, 10)
    with psycopg.connect(db_url) as conn:
        readings, machines, before_t0, top_seq = conn.execute(
            Q.telemetry_count, (T0,)).fetchone()
    # 10 days, Sundays off, 5-9 readings a working day.
    assert machines == MACHINES and before_t0 and top_seq < HISTORY_SEQ0
    assert MACHINES * 8 * 5 <= readings <= MACHINES * 9 * 9
    counts = ingest_messages(db_url, bench_messages(MACHINES * 4, machines=MACHINES,
                                                    seq0=HISTORY_SEQ0))
    assert counts.stored["telemetry"] == MACHINES * 4 and counts.duplicates_total == 0
    with psycopg.connect(db_url) as conn:
        # The hour meter climbs across the join: no reading steps backwards, no reset.
        assert conn.execute(Q.count_meter_resets).fetchone()[0] == 0
        steps_back = conn.execute(
            Q.meter_steps_back
        ).fetchone()[0]
        assert steps_back == 0


def test_history_bench_accounts_for_every_row_at_each_size() -> None:
    result = run_history_bench(ADMIN_URL, messages=600, mix="telemetry", array=1,
                               processes=1, machines=MACHINES, history_days=[3, 8])
    sizes = result["history"]
    assert [f["history_days"] for f in sizes] == [0, 3, 8]
    assert sizes[0]["history_readings"] == 0
    assert 0 < sizes[1]["history_readings"] < sizes[2]["history_readings"]
    for f in sizes:
        assert f["stored"] == result["rows_published"] == 600
        assert f["lost"] == 0 and f["duplicates_stored"] == 0
        assert f["batches"] >= 1 and f["ms_per_batch"] > 0
    assert sizes[0]["ratio_rows_per_s_to_empty"] == 1.0
    assert result["ok"] is True


def test_history_days_are_checked() -> None:
    assert parse_history_days("365") == [365]
    assert parse_history_days("365,90,0") == [90, 365]
    out = CliRunner().invoke(bench_ingest, ["--history-days", "a year"])
    assert out.exit_code == 2
    assert "--history-days wants days like 365 or 90,365, got 'a year'" in out.output
    out = CliRunner().invoke(bench_ingest, ["--history-days", "-5"])
    assert out.exit_code == 2 and "between 0 and 3650" in out.output
