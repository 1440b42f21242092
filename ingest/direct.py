"""The direct path: the subscriber's decode → validate → route → batched write, no broker.

For the simulator's ``--sink direct`` and the backtest, which need the same stored rows
as MQTT ingest without paying for the transport. ``tests/test_ingest_direct.py`` shows
both paths store identical rows for the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import islice

import psycopg

from fleetcare import db
from gateways.sinks import pairs
from gateways.uplink import Message
from ingest.decode import Decoder
from ingest.pipeline import Counts, MachineCache, Pipeline

# Same default as the subscriber's batch size, so both paths commit alike.
DEFAULT_BATCH_MESSAGES = 2000


def ingest_messages(conn_or_url: psycopg.Connection | str,
                    messages: Iterable[tuple[str, bytes]], *,
                    batch_messages: int = DEFAULT_BATCH_MESSAGES,
                    received_at: datetime | None = None,
                    source: str = "mqtt",
                    machines: MachineCache | None = None) -> Counts:
    """Store (topic, payload) messages exactly as ``fleetcare ingest`` would; return counts.

    One transaction per ``batch_messages`` messages. ``received_at`` fixes the server
    receive time (default: now, per batch); ``machines`` lets repeated calls share the
    known-machine cache. A connection passed in must not be inside a transaction; it is
    left open. Safe to repeat: stored rows are deduplicated by their unique keys.
    """
    counts = Counts()
    if isinstance(conn_or_url, str):
        with db.connect(conn_or_url) as conn:
            return ingest_messages(conn, messages, batch_messages=batch_messages,
                                   received_at=received_at, source=source, machines=machines)
    pipeline = Pipeline(conn_or_url, decoder=Decoder(source=source), machines=machines)
    iterator = iter(messages)
    while chunk := list(islice(iterator, batch_messages)):
        batch, result = pipeline.process(chunk, received_at)
        counts.add(batch, result)
    return counts


def ingest_direct(url: str, messages: Iterable[Message],
                  batch_messages: int = DEFAULT_BATCH_MESSAGES) -> dict:
    """Store simulated gateway messages through this path; the counts as plain dicts.

    The simulator's ``--sink direct``: gateways sit below ingest, so the root command
    hands this to ``gateways.cli.simulate_command`` rather than gateways importing it.
    """
    counts = ingest_messages(url, pairs(messages), batch_messages=batch_messages)
    return {"stored": dict(counts.stored), "duplicates": dict(counts.duplicates),
            "dead_letters": dict(counts.dead_letters), "meter_resets": counts.meter_resets}
