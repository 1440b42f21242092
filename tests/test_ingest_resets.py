"""Meter resets: recorded when hours go backwards by event time, whatever the arrival
order; telemetry_hours stays monotonic per machine. On TimescaleDB and plain PostgreSQL."""

from __future__ import annotations

import psycopg
from test_ingest_helpers import encode, reading, seed_machines, topic

from fleetcare.queries import beside
from ingest.direct import ingest_messages

Q = beside(__file__)

M = "RS00001"


def _msg(seq: int, hours: float) -> tuple[str, bytes]:
    return topic(M), encode(reading(M, seq, hours=hours))


def _state(url: str) -> tuple[list[tuple], list[float]]:
    with psycopg.connect(url) as conn:
        resets = conn.execute(Q.meter_resets_ts, (M,)).fetchall()
        hours = [r[0] for r in conn.execute(
            Q.telemetry_hours_hours, (M,))]
    return [(h_before, h_after) for _ts, h_before, h_after in resets], hours


def test_resets_in_order_out_of_order_and_late(backend_db_url: str) -> None:
    url = backend_db_url
    seed_machines(url, [M, "RS00002"])
    # 0..4 climb to 108, the meter is replaced, 5..7 count from 1 again.
    ingest_messages(url, [_msg(s, 100 + 2 * s) for s in range(5)]
                    + [_msg(5, 1.0), _msg(6, 3.0), _msg(7, 5.0)])
    resets, hours = _state(url)
    assert resets == [(108.0, 1.0)]
    assert hours == [100, 102, 104, 106, 108, 108, 110, 112]

    # A second replacement arrives in separate batches, newest first (store-and-forward).
    ingest_messages(url, [_msg(10, 0.5)])
    ingest_messages(url, [_msg(9, 9.0)])
    ingest_messages(url, [_msg(8, 7.0)])
    resets, hours = _state(url)
    assert resets == [(108.0, 1.0), (9.0, 0.5)]
    assert hours == sorted(hours) and hours[-1] == 112 + 2 + 2 + 0

    # A late reading lands between the reset's two readings: the reset moves to it.
    ingest_messages(url, [(topic(M), encode({**reading(M, 50, hours=0.5),
                                             "ts": "2024-03-01T13:30:00+00:00"}))])
    resets, hours = _state(url)
    assert resets == [(108.0, 0.5), (9.0, 0.5)]
    assert hours == sorted(hours)

    # Redelivering everything changes nothing; another machine is unaffected.
    ingest_messages(url, [_msg(s, 100 + 2 * s) for s in range(5)] + [_msg(5, 1.0)])
    assert _state(url) == (resets, hours)
    with psycopg.connect(url) as conn:
        assert conn.execute(Q.meter_resets_count,
                            (M,)).fetchone()[0] == 0


def test_resets_across_long_silences(backend_db_url: str) -> None:
    """A machine silent for months: its previous reading lies beyond the batch's recent
    window and is still found, before and after the reset, in order and late."""
    from datetime import timedelta

    from test_ingest_helpers import T0

    url = backend_db_url
    seed_machines(url, [M])

    def at(seq: int, days: int, hours: float) -> tuple[str, bytes]:
        return topic(M), encode(reading(M, seq, hours=hours, ts=T0 + timedelta(days=days)))

    ingest_messages(url, [at(0, 0, 500.0), at(1, 1, 510.0)])
    ingest_messages(url, [at(2, 120, 3.0)])            # new meter after four silent months
    resets, hours = _state(url)
    assert resets == [(510.0, 3.0)]
    assert hours == [500.0, 510.0, 510.0]
    ingest_messages(url, [at(3, 60, 520.0)])           # a late reading from the silence
    resets, hours = _state(url)
    assert resets == [(520.0, 3.0)]
    assert hours == [500.0, 510.0, 520.0, 520.0]
