"""A newcomer's mistakes end in one line and a non-zero exit, never a traceback.

Each case is a real command on the real database (and the real broker where one is
involved): a corrupt Parquet file, a truncated AEMP JSON, a GBK CSV, a wrong header, a
busy port, bad counts, bad scheduler settings, a secret in a bad URL, a closed broker.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql

from app.cli import cli
from fleetcare.errors import TransientError
from fleetcare.queries import beside
from ingest.subscriber import Ingest, IngestConfig

Q = beside(__file__)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "import"
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) ")


def _invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def _one_line(result: Result, *, code: tuple[int, ...] = (1, 2)) -> str:
    """The single message line of a failed command (log lines aside)."""
    assert result.exit_code in code, (result.exit_code, result.output)
    text = result.stderr if result.stderr else result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in text.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
    assert len(lines) == 1, text
    assert lines[0].startswith("fleetcare: error: "), lines[0]
    return lines[0]


def _master_data(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(Q.insert_regions)
    out = _invoke(["import", "machines", str(EXAMPLES / "machines.csv")],
                  {"FLEETCARE_DATABASE_URL": url})
    assert out.exit_code == 0, out.output


def _stored(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(Q.count_rows.format(table=sql.Identifier(table))).fetchone()[0]  # type: ignore[index]


def test_corrupt_parquet_and_truncated_aemp_json(db_url: str, tmp_path: Path) -> None:
    env = {"FLEETCARE_DATABASE_URL": db_url}
    bad = tmp_path / "telemetry.parquet"
    bad.write_bytes(b"PAR1garbage")
    line = _one_line(_invoke(["import", "telemetry", str(bad)], env))
    assert "telemetry.parquet" in line and "not a readable Parquet file" in line
    whole = (EXAMPLES / "aemp_snapshot.json").read_text("utf-8")
    cut = tmp_path / "snapshot.json"
    cut.write_text(whole[: len(whole) // 2], "utf-8")
    line = _one_line(_invoke(["import", "aemp", str(cut)], env))
    assert "snapshot.json" in line and "not valid JSON" in line
    assert _stored(db_url, "telemetry") == 0


def test_gbk_csv_is_read_detected_or_named(db_url: str, tmp_path: Path) -> None:
    _master_data(db_url)
    env = {"FLEETCARE_DATABASE_URL": db_url}
    text = ("machine_id,seq,ts,kind,work_order,technician\n"
            "HX00001,900,2025-03-01T08:00:00+08:00,inspection,保养-001,张伟\n")
    gbk = tmp_path / "service_gbk.csv"
    gbk.write_bytes(text.encode("gbk"))
    # Read as UTF-8 on purpose: one line naming the file, the line and the fix.
    line = _one_line(_invoke(["import", "service", str(gbk), "--encoding", "utf-8"], env))
    assert "service_gbk.csv" in line and "line 2" in line and "--encoding" in line
    line = _one_line(_invoke(["import", "service", str(gbk), "--encoding", "klingon"], env))
    assert "unknown encoding" in line
    # Detected without --encoding, and stored with its Chinese text intact.
    out = _invoke(["import", "service", str(gbk)], env)
    assert out.exit_code == 0 and "1 stored" in out.output, out.output
    bom = tmp_path / "service_bom.csv"
    bom.write_bytes(text.replace("900", "901").encode("utf-8-sig"))
    out = _invoke(["import", "service", str(bom), "--encoding", "gb18030"], env)
    assert out.exit_code != 0  # a UTF-8 file is not GB18030 text: said, not garbled
    out = _invoke(["import", "service", str(bom)], env)
    assert out.exit_code == 0 and "1 stored" in out.output, out.output
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(Q.service_records_work_order).fetchall()
    assert rows == [("保养-001", "张伟")] * 2


def test_wrong_header_names_the_missing_columns_and_stores_nothing(db_url: str,
                                                                    tmp_path: Path) -> None:
    _master_data(db_url)
    wrong = tmp_path / "readings.csv"
    wrong.write_text("machine_id,when,hours\nHX00001,2025-01-01T00:00:00Z,3\n", "utf-8")
    line = _one_line(_invoke(["import", "telemetry", str(wrong)],
                             {"FLEETCARE_DATABASE_URL": db_url}))
    assert "missing column(s) ts, engine_hours" in line and "when, hours" in line
    assert _stored(db_url, "telemetry") == 0 and _stored(db_url, "dead_letters") == 0


@pytest.mark.parametrize("count", ["0", "-3"])
def test_simulate_with_no_machines(count: str) -> None:
    line = _one_line(_invoke(["simulate", "--machines", count, "--days", "1", "--sink", "null",
                              "--no-db"]), code=(2,))
    assert "--machines" in line


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("FLEETCARE_SCHEDULER_JOBS", "{ingest_health: every", "not valid JSON"),
    ("FLEETCARE_SCHEDULER_JOBS", '{"nightly": "every 1h"}', "unknown job"),
    ("FLEETCARE_SCHEDULER_JOBS", '{"ingest_health": "sometimes"}', "schedule must be"),
    ("FLEETCARE_SCHEDULER_TIMEZONE", "Mars/Olympus", "unknown time zone"),
])
def test_bad_scheduler_settings(db_url: str, variable: str, value: str, expected: str) -> None:
    line = _one_line(_invoke(["scheduler", "--duration", "1"],
                             {"FLEETCARE_DATABASE_URL": db_url, variable: value}))
    assert variable in line and expected in line


def test_scheduler_stops_cleanly_while_jobs_run(db_url: str) -> None:
    env = {"FLEETCARE_DATABASE_URL": db_url,
           "FLEETCARE_SCHEDULER_JOBS": '{"ingest_health": "every 0.2s"}'}
    for _ in range(3):
        out = _invoke(["scheduler", "--duration", "1.5"], env)
        assert out.exit_code == 0, out.output
        assert "cannot schedule" not in out.output and "Traceback" not in out.output


def test_a_bad_database_url_never_shows_its_password() -> None:
    line = _one_line(_invoke(["db", "status"],
                             {"FLEETCARE_DATABASE_URL": "mysql://ops:s3cr3t@db:3306/fleet"}))
    assert "FLEETCARE_DATABASE_URL" in line and "s3cr3t" not in line and "ops:***@db" in line


def test_serve_on_a_busy_port(db_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_line(_invoke(["serve", "--port", str(port)],
                                 {"FLEETCARE_DATABASE_URL": db_url}))
    assert f"127.0.0.1:{port}" in line and "--port" in line


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ingest_against_a_closed_port_says_so_and_gives_up(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    url = f"mqtt://127.0.0.1:{_closed_port()}"
    service = Ingest(IngestConfig(mqtt_url=url, database_url=db_url, client_id="h21-closed",
                                  once=True, connect_timeout_s=4.0))
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            service.run()
        except TransientError as exc:
            outcome["error"] = str(exc)
        outcome["at"] = time.monotonic()

    caplog.set_level(logging.INFO, logger="ingest")
    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    first_error = None
    while time.monotonic() - started < 5 and first_error is None:
        first_error = next((r for r in caplog.records if r.levelno >= logging.ERROR
                            and "cannot reach the MQTT broker" in r.getMessage()), None)
        time.sleep(0.05)
    assert first_error is not None, "no error line within 5 s"
    assert url in first_error.getMessage() and "refused" in first_error.getMessage().lower()
    assert service.metrics.connected._value.get() == 0
    thread.join(30)
    assert not thread.is_alive()
    assert "no connection to the MQTT broker" in str(outcome.get("error"))
    assert float(outcome["at"]) - started < 4.0 + 5.0  # type: ignore[arg-type]
    # Attempts are repeated with a back-off, each one logged.
    failures = [r for r in caplog.records if "cannot reach" in r.getMessage()]
    assert len(failures) >= 2 and "retrying in 1 s" in failures[0].getMessage()
    assert service.metrics.connect_failures._value.get() == len(failures)


def test_ingest_once_command_exits_non_zero_when_the_broker_is_unreachable(db_url: str) -> None:
    env = {"FLEETCARE_DATABASE_URL": db_url,
           "FLEETCARE_MQTT_URL": f"mqtt://127.0.0.1:{_closed_port()}"}
    started = time.monotonic()
    line = _one_line(_invoke(["ingest", "--once", "--connect-timeout", "2"], env), code=(1,))
    assert "no connection to the MQTT broker" in line and "FLEETCARE_MQTT_URL" in line
    assert time.monotonic() - started < 15
    line = _one_line(_invoke(["ingest", "--subscribe-only"], env), code=(1,))
    assert "cannot reach the MQTT broker" in line
