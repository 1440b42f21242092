"""Validation and routing: one bad payload per rejection reason, generated garbage, and the
fast decoder never accepting what the JSON Schema refuses."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import fastjsonschema
import msgspec
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_helpers import (
    broker,  # noqa: F401 - fixture
    count,
    encode,
    fast_publish,
    fault,
    ingest_config,
    reading,
    seed_machines,
    service,
    topic,
)

from fleetcare import contracts
from fleetcare.queries import beside
from ingest.decode import DB_REJECTED, REASONS, Batch, Decoder
from ingest.direct import ingest_messages
from ingest.subscriber import Ingest, prepare_session

Q = beside(__file__)

M = "EX00001"
NOW = datetime.now(UTC)


def bad_corpus() -> list[tuple[str, str, bytes]]:
    """(expected reason, topic, payload): one per rejection reason."""
    return [
        ("bad_topic", "fleet/v1/EX00001/weather", encode(reading(M, 1))),
        ("bad_topic", "fleet/v2/EX00001/telemetry", encode(reading(M, 1))),
        ("oversized", topic(M), b"[" + b" " * (4 * 1024 * 1024) + b"]"),
        ("unknown_machine", topic("NOBODY"), encode(reading("NOBODY", 1))),
        ("bad_json", topic(M), b'{"machine_id": "EX00001", "seq": 1,'),
        ("bad_json", topic(M), b"\xff\xfe not utf-8"),
        ("schema", topic(M), encode({"machine_id": M, "seq": 1})),
        ("schema", topic(M, "faults"), encode(fault(M, 1, fmi=40))),
        ("schema", topic(M, "service"), encode(service(M, 1, kind="lunch"))),
        ("schema", topic(M), encode({**reading(M, 1), "ts": "yesterday"})),
        ("schema", topic(M), encode([])),
        ("machine_mismatch", topic(M), encode(reading("EX00002", 1))),
        ("future_ts", topic(M), encode(reading(M, 1, ts=NOW + timedelta(days=2)))),
        ("impossible_value", topic(M), encode(reading(M, 1, coolant_temp_c=480.0))),
        ("impossible_value", topic(M), encode(reading(M, 1, hours=1e7))),
    ]


def good_messages() -> list[tuple[str, bytes]]:
    return [(topic(M), encode(reading(M, s))) for s in range(100, 110)] + [
        (topic(M, "faults"), encode(fault(M, 1))),
        (topic(M, "service"), encode(service(M, 1))),
        (topic("EX00002"), encode([reading("EX00002", s) for s in range(5)])),
    ]


def interleave(bad: list[tuple[str, str, bytes]]) -> list[tuple[str, bytes]]:
    good = good_messages()
    out: list[tuple[str, bytes]] = []
    for i, (_reason, t, p) in enumerate(bad):
        out.append((t, p))
        if i < len(good):
            out.append(good[i])
    out.extend(good[len(bad):])
    return out


def check_outcome(url: str, bad: list[tuple[str, str, bytes]]) -> None:
    with psycopg.connect(url) as conn:
        got = sorted(r[0] for r in conn.execute(Q.dead_letters_reason))
        assert got == sorted(r for r, _, _ in bad)
        # Every reason the checks give (db_rejected is the database's, tested below).
        assert {r for r, _, _ in bad} == set(REASONS) - {DB_REJECTED}
        # The good messages around the bad ones are all stored.
        assert count(url, Q.count_telemetry) == 15
        assert count(url, Q.count_fault_codes) == 1
        assert count(url, Q.count_service_records) == 1
        # Dead letters keep the topic, bounded raw bytes and a human detail.
        for size, kept, detail in conn.execute(
                Q.dead_letters_payload_bytes):
            assert kept <= 4096 and kept == min(size, 4096) and detail


def test_bad_payloads_direct(db_url: str) -> None:
    seed_machines(db_url, [M, "EX00002"])
    bad = bad_corpus()
    counts = ingest_messages(db_url, interleave(bad), batch_messages=7)
    assert counts.dead_letters_total == len(bad)
    check_outcome(db_url, bad)


def test_bad_payloads_over_mqtt(db_url: str, broker) -> None:  # noqa: F811
    seed_machines(db_url, [M, "EX00002"])
    # fleet/v2/... is outside our subscription: the broker never delivers it.
    bad = [b for b in bad_corpus() if b[1].startswith("fleet/v1/")]
    cfg = ingest_config(broker.url, db_url, batch_messages=5, once=True)
    prepare_session(broker.url, cfg.client_id)
    fast_publish(broker.url, interleave(bad))
    counts = Ingest(cfg).run()
    assert counts.messages == len(bad) + len(good_messages())
    check_outcome(db_url, bad)


def test_array_with_some_bad_records_keeps_the_good_ones(db_url: str) -> None:
    seed_machines(db_url, [M])
    payload = encode([reading(M, 1), reading(M, 2, engine_load_pct=900.0), {"seq": "x"},
                      reading("EX00009", 3), reading(M, 4)])
    counts = ingest_messages(db_url, [(topic(M), payload)])
    assert counts.stored["telemetry"] == 2
    assert counts.dead_letters == {"impossible_value": 1, "schema": 1, "machine_mismatch": 1}


def test_schema_accepted_but_unusual_values_are_stored(db_url: str) -> None:
    """The fast decoder is strict; whatever the JSON Schema accepts is still stored."""
    seed_machines(db_url, [M])
    rec = {**reading(M, 1, coolant_temp_c=None), "seq": 1.0}  # draft-07 integer 1.0
    counts = ingest_messages(db_url, [(topic(M), encode(rec))])
    assert counts.stored["telemetry"] == 1, counts


def test_text_the_database_cannot_store_is_rejected_not_retried_forever(db_url: str) -> None:
    seed_machines(db_url, [M])
    nul = [(topic(M, "service"), encode(service(M, 2, technician="Wang\u0000Lei"))),
           (topic(M, "service"), encode(service(M, 3, **{"work\u0000order": 1})))]
    counts = ingest_messages(db_url, [*nul, (topic(M, "service"), encode(service(M, 4)))])
    assert counts.stored["service"] == 1
    assert counts.dead_letters == {"impossible_value": 1, "schema": 1}


def test_rows_the_database_refuses_become_db_rejected(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    """If a row passes every check but the database still refuses it, only that message
    is dead-lettered and the rest of its batch is stored."""
    seed_machines(db_url, [M])
    original = Decoder._service_row

    def unchecked(self, r, arrived, received):  # noqa: ANN001, ANN202
        row = original(self, r, arrived, received)
        if r.seq == 2:  # smuggle a NUL past the decoder, as a future bug might
            row = (*row[:13], "Wang\x00Lei", *row[14:])
        return row

    monkeypatch.setattr(Decoder, "_service_row", unchecked)
    messages = [(topic(M, "service"), encode(service(M, s))) for s in range(1, 5)]
    counts = ingest_messages(db_url, messages)
    assert counts.stored["service"] == 3
    assert counts.dead_letters == {DB_REJECTED: 1}
    with psycopg.connect(db_url) as conn:
        detail, payload = conn.execute(
            Q.dead_letters_detail, (DB_REJECTED,)
        ).fetchone()
    assert payload == messages[1][1] and detail


# -- generated garbage -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12)

field_values = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                         st.just("2024-02-30T00:00:00Z"), st.just("2024-03-01T00:00:00+08:00"),
                         st.just(M), st.lists(st.integers(), max_size=2))


@st.composite
def mutated_records(draw: st.DrawFn) -> dict[str, object]:
    """A valid reading with some fields dropped, changed or added."""
    rec = reading(M, draw(st.integers(0, 1000)))
    for key in draw(st.lists(st.sampled_from(sorted(rec)), max_size=3)):
        if draw(st.booleans()):
            rec.pop(key, None)
        else:
            rec[key] = draw(field_values)
    if draw(st.booleans()):
        rec[draw(st.text(min_size=1, max_size=8))] = draw(field_values)
    return rec


_validate = fastjsonschema.compile(contracts.schema("telemetry"))


def _schema_ok(obj: object) -> bool:
    try:
        _validate(obj)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated_records(), st.lists(mutated_records(), min_size=1, max_size=3),
                 json_values))
def test_fast_decoder_accepts_nothing_the_schema_refuses(obj: object) -> None:
    decoder = Decoder()
    payload = msgspec.json.encode(obj)
    try:
        decoder._decoders["telemetry"].decode(payload)
    except msgspec.ValidationError:
        return
    except msgspec.DecodeError:
        return
    assert _schema_ok(obj), obj


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), json_values.map(msgspec.json.encode),
                 mutated_records().map(msgspec.json.encode)))
def test_every_payload_is_either_stored_or_dead_lettered(payload: bytes) -> None:
    """No input raises or vanishes: each record becomes a row or a dead letter."""
    batch = Batch()
    Decoder().decode(topic(M), M, "telemetry", payload, NOW, batch)
    assert batch.rows + len(batch.dead_letters) >= 1
    for row in batch.dead_letters:
        assert row[3] in REASONS


_good_seq = itertools.count(10**15)  # beyond anything the mutations produce


@pytest.fixture(scope="module")
def _module_db():  # noqa: ANN202
    import conftest

    gen = conftest._fresh_database("postgres")
    url = next(gen)
    seed_machines(url, [M])
    yield url
    gen.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=200), mutated_records().map(msgspec.json.encode)),
                min_size=1, max_size=8))
def test_generated_garbage_goes_to_dead_letters_and_flow_continues(_module_db: str,
                                                                   payloads: list[bytes]) -> None:
    url = _module_db
    before_dead = count(url, Q.count_dead_letters)
    good = (topic(M), encode({**reading(M, 1, ts=NOW - timedelta(days=1)),
                              "seq": next(_good_seq)}))
    counts = ingest_messages(url, [(topic(M), p) for p in payloads] + [good])
    assert counts.messages == len(payloads) + 1
    assert counts.stored["telemetry"] >= 1  # the good message after the garbage
    assert (count(url, Q.count_dead_letters) - before_dead
            == counts.dead_letters_total)
    assert counts.rows + counts.dead_letters_total >= counts.messages
