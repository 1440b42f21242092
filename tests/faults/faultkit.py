"""Simulated gateway traffic with its exact expected rows, for the fault suite.

(Imported by name, not a conftest.py: a second conftest module would shadow
tests/conftest.py, which other tests import as `conftest`.)

Every fault case publishes the simulator's messages (with its duplicates, late uploads
and malformed payloads) and compares what the faulted pipeline stored with what a clean
run of the same messages through ingest's direct path stores in a fresh database: the
same rows (all but the server receive time), the same dead letters, exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

import psycopg
import pytest
from test_ingest_helpers import stored_rows

from fleetcare.queries import beside
from gateways.master import write_master_data
from gateways.run import SimulationRun
from gateways.sinks import pairs
from ingest.direct import ingest_messages

Q = beside(__file__)

TABLES = ("telemetry", "fault_codes", "service_records")


@dataclass
class Traffic:
    """Simulated gateway messages and the rows a fault-free ingest stores for them."""

    run: SimulationRun
    messages: list[tuple[str, bytes]]
    expected: dict[str, object]

    def seed(self, url: str) -> None:
        with psycopg.connect(url) as conn:
            write_master_data(conn, self.run.fleet)
            conn.commit()

    def rows(self, table: str) -> int:
        return len(self.expected[table])  # type: ignore[arg-type]


def snapshot(url: str) -> dict[str, object]:
    """Stored rows of every table (not receive times) and the dead letters' essentials."""
    out: dict[str, object] = {t: stored_rows(url, t) for t in TABLES}
    with psycopg.connect(url) as conn:
        out["meter_resets"] = conn.execute(
            Q.meter_resets_machine_id).fetchall()
        out["dead_letters"] = sorted(conn.execute(
            Q.dead_letters_topic).fetchall(), key=repr)
    return out


def assert_same_as_clean_run(url: str, traffic: Traffic, *,
                             redelivered_rejects_ok: bool = False) -> None:
    """Exactly the clean run's rows. Dead letters: exactly the same ones; with
    ``redelivered_rejects_ok`` (ingest killed between commit and ack) a reject may be
    recorded again when the broker redelivers its message (dead letters have no unique
    key), so every clean-run dead letter must be there and nothing else, copies allowed."""
    got = snapshot(url)
    for key, rows in traffic.expected.items():
        if key == "dead_letters" and redelivered_rejects_ok:
            assert sorted(set(got[key])) == sorted(set(rows)), key  # type: ignore[arg-type]
            continue
        assert len(got[key]) == len(rows), (  # type: ignore[arg-type]
            f"{key}: {len(got[key])} stored, {len(rows)} expected")  # type: ignore[arg-type]
        assert got[key] == rows, key


@cache
def _simulate(machines: int, days: int, seed: int) -> tuple[SimulationRun, list]:
    run = SimulationRun(machines, days, seed, date(2025, 3, 3))
    return run, list(pairs(run.messages()))


@pytest.fixture
def traffic_factory() -> Iterator:
    """traffic(machines, days, seed): messages + their clean-run rows (own scratch db)."""
    import conftest

    gens = []

    def make(machines: int = 40, days: int = 45, seed: int = 11) -> Traffic:
        run, messages = _simulate(machines, days, seed)
        gen = conftest._fresh_database("timescaledb" if conftest.timescaledb_available()
                                       else "postgres")
        gens.append(gen)
        url = next(gen)
        traffic = Traffic(run, messages, {})
        traffic.seed(url)
        ingest_messages(url, messages)
        traffic.expected = snapshot(url)
        assert traffic.rows("telemetry") > 1000
        return traffic

    yield make
    for gen in gens:
        gen.close()
