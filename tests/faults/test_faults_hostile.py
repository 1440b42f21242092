"""Hostile input: deeply nested and oversized JSON, SQL in text fields, topic tricks, and
fuzzed topics and payloads. Nothing crashes ingest; every reject is a dead letter with a
reason; text is stored verbatim, never executed."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ingest_helpers import (
    broker,  # noqa: F401 - fixture
    count,
    encode,
    fast_publish,
    ingest_config,
    reading,
    seed_machines,
    service,
    topic,
)

from fleetcare.queries import beside
from ingest.decode import MAX_PAYLOAD_BYTES, REASONS, Batch, Decoder, parse_topic
from ingest.direct import ingest_messages
from ingest.subscriber import Ingest, prepare_session

Q = beside(__file__)

M = "EX00001"
NOW = datetime.now(UTC)

NESTED = [
    b"[" * 2_000 + b"]" * 2_000,                      # 4 KB that once raised RecursionError
    b"[" * 1_000_000 + b"]" * 1_000_000,              # 2 MB, under the size limit
    b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    encode({**reading(M, 1), "lat": None, "x": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}),
]


def test_deeply_nested_json_is_a_dead_letter_and_ingest_keeps_running(db_url: str,
                                                                       broker) -> None:
    seed_machines(db_url, [M])
    good = [(topic(M), encode(reading(M, s))) for s in range(20)]
    hostile = [(topic(M), p) for p in NESTED] + [
        (topic(M), b"[" + b" " * MAX_PAYLOAD_BYTES + b"]"),  # just over the limit
        (topic(M), encode([reading(M, 100 + s) for s in range(10_001)])),  # one too many
    ]
    messages = good[:10] + hostile + good[10:]
    cfg = ingest_config(broker.url, db_url, client_id="hostile", once=True, batch_messages=4)
    prepare_session(broker.url, cfg.client_id)
    fast_publish(broker.url, messages)
    counts = Ingest(cfg).run()  # raised RecursionError (and stopped) before the fix
    assert counts.messages == len(messages)
    assert counts.stored["telemetry"] == len(good)
    assert counts.dead_letters == {"bad_json": 3, "schema": 2, "oversized": 1}
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(Q.dead_letters_reason).fetchall()
    assert len(rows) == len(hostile)
    assert all(kept <= 4096 and size >= kept for _r, _d, kept, size in rows)
    assert sum(1 for _r, d, _k, _s in rows if d == "JSON nested too deeply") == 3


SQL_TEXTS = [
    "Robert'); DROP TABLE telemetry; --",
    "$$; DELETE FROM machines; $$",
    "\\'; TRUNCATE service_records; --",
    "E'\\x00' || pg_sleep(10)",
    "王磊'); SELECT pg_terminate_backend(pg_backend_pid()); --",
]


def test_sql_in_text_fields_is_stored_verbatim(db_url: str) -> None:
    seed_machines(db_url, [M])
    messages = [(topic(M, "service"), encode(service(
        M, i, technician=text, work_order=text, station_id=text[:40],
        components=[text], parts=[{"part": text, "qty": 1}])))
        for i, text in enumerate(SQL_TEXTS)]
    counts = ingest_messages(db_url, messages)
    assert counts.stored["service"] == len(SQL_TEXTS) and counts.dead_letters_total == 0
    with psycopg.connect(db_url) as conn:
        stored = conn.execute(Q.service_records_technician).fetchall()
    assert stored == [(t, t, t[:40], t, t) for t in SQL_TEXTS]
    assert count(db_url, Q.count_machines) == 1  # nothing was executed


TRICK_TOPICS = [
    "fleet/v1/+/telemetry", "fleet/v1/#", "fleet/v1/EX00001/#", "fleet/v1/EX+1/telemetry",
    "fleet/v1/../EX00001/telemetry", "fleet/v1/EX00001/../EX00002/telemetry",
    "fleet/v1/./telemetry", "fleet/v1//telemetry", "fleet/v1/EX00001/telemetry/",
    "fleet/v1/EX00001/telemetry/x", "/fleet/v1/EX00001/telemetry", "fleet/v1/EX00001",
    "fleet/v1/EX00001/Telemetry", "fleet/v1/EX00001/telemetry\n", "fleet/v1/EX%2F1/telemetry",
    "fleet/v1/EX\x001/telemetry", "fleet/v1/ＥＸ00001/telemetry", "fleet/v1/EX 00001/telemetry",
    "fleet/v1/" + "E" * 65 + "/telemetry", "$share/g/fleet/v1/EX00001/telemetry",
    "$SYS/broker/version", "fleet/v2/EX00001/telemetry", "",
]


def test_topics_with_wildcards_or_path_tricks_are_rejected(db_url: str) -> None:
    seed_machines(db_url, [M])
    payload = encode(reading(M, 1))
    for t in TRICK_TOPICS:
        assert parse_topic(t) is None, t
    counts = ingest_messages(db_url, [(t, payload) for t in TRICK_TOPICS])
    assert counts.dead_letters == {"bad_topic": len(TRICK_TOPICS)}
    assert count(db_url, Q.count_telemetry) == 0


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_any_accepted_topic_is_exactly_fleet_v1_id_stream(t: str) -> None:
    parsed = parse_topic(t)
    if parsed is not None:
        machine_id, stream = parsed
        assert t == f"fleet/v1/{machine_id}/{stream}"
        assert machine_id.isascii() and not set(machine_id) & set("/+#$. \x00")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(["fleet/v1/EX00001/telemetry", "fleet/v1/EX00001/faults",
                                  "fleet/v1/EX00001/service"]), st.text(max_size=40)),
       st.one_of(st.binary(max_size=400),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10)
                              | st.floats(), lambda c: st.lists(c, max_size=3)
                              | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=40).map(lambda o: encode(o) if o == o else b"null"),
                 st.integers(1, 3000).map(lambda d: b"[" * d + b"]" * d)))
def test_fuzzed_topic_and_payload_become_a_row_or_a_dead_letter(t: str, payload: bytes) -> None:
    """The whole decode path on arbitrary topics and payloads: no exception escapes, and
    every message gives rows or dead letters with a known reason."""
    decoder = Decoder()
    batch = Batch()
    envelope = decoder.check_envelope(t, payload, NOW, batch)
    if envelope is not None:
        decoder.decode(t, envelope[0], envelope[1], payload, NOW, batch)
    assert batch.rows + len(batch.dead_letters) >= 1
    assert all(row[3] in REASONS for row in batch.dead_letters)
