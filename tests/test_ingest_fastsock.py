"""The paho internals ingest.fastsock relies on still behave: the read-ahead socket is
installed, buffered packets are all delivered, and batched PUBACKs empty the session."""

from __future__ import annotations

from test_ingest_helpers import (
    broker,  # noqa: F401 - fixture
    count,
    fast_publish,
    ingest_config,
    machine_ids,
    seed_machines,
    telemetry_messages,
)

from fleetcare.queries import beside
from ingest import fastsock
from ingest.subscriber import Ingest, prepare_session

Q = beside(__file__)


def test_read_ahead_socket_and_batched_acks(db_url: str, broker) -> None:  # noqa: F811
    machines = machine_ids(50)
    seed_machines(db_url, machines)
    messages = telemetry_messages(machines, 40)
    cfg = ingest_config(broker.url, db_url, client_id="fastsock", once=True)
    prepare_session(broker.url, cfg.client_id)
    fast_publish(broker.url, messages)
    service = Ingest(cfg)
    assert isinstance(service.client, fastsock.BufferedClient)
    assert service.run().stored["telemetry"] == len(messages)
    # Every PUBACK reached the broker: a second drain of the same session gets nothing.
    again = Ingest(ingest_config(broker.url, db_url, client_id="fastsock", once=True)).run()
    assert again.messages == 0
    assert count(db_url, Q.count_telemetry) == len(messages)


def test_plain_paho_path_gives_the_same_result(db_url: str, broker) -> None:  # noqa: F811
    machines = machine_ids(20)
    seed_machines(db_url, machines)
    messages = telemetry_messages(machines, 30, array=3)
    cfg = ingest_config(broker.url, db_url, client_id="plain", once=True, fast_socket=False)
    prepare_session(broker.url, cfg.client_id)
    fast_publish(broker.url, messages)
    assert Ingest(cfg).run().stored["telemetry"] == 20 * 30
