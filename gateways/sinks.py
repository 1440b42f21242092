"""Where messages go besides MQTT: (topic, bytes) pairs and JSON lines.

The direct ingest path (``--sink direct``) is ingest's ``ingest.direct.ingest_direct``,
handed to ``simulate`` from above: gateways import no higher stage.
"""

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

