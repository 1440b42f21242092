"""Where messages go besides MQTT: (topic, bytes) pairs, JSON lines, the direct ingest path."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO

from gateways.uplink import STREAMS, Message, local_date  # noqa: F401 - re-exported


def pairs(messages: Iterable[Message]) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) in publishing order: the direct path's input, and tests'."""
    for m in messages:
        yield m.topic, m.payload


def write_jsonl(messages: Iterable[Message], fh: IO[str]) -> Iterator[Message]:
    """Write one JSON object per message (topic, payload text, publish time, defect)."""
    for m in messages:
        fh.write(json.dumps({"publish_at": m.publish_at, "topic": m.topic,
                             "payload": m.payload.decode("utf-8", "replace"),
                             "defect": m.defect}, ensure_ascii=False) + "\n")
        yield m


def ingest_direct(url: str, messages: Iterable[Message], batch_messages: int = 2000) -> dict:
    """Store the messages through ingest's decode → validate → write path, no broker."""
    from ingest.direct import ingest_messages

    counts = ingest_messages(url, pairs(messages), batch_messages=batch_messages)
    return {"stored": dict(counts.stored), "duplicates": dict(counts.duplicates),
            "dead_letters": dict(counts.dead_letters), "meter_resets": counts.meter_resets}
