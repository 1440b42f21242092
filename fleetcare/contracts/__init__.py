"""The MQTT message contracts (JSON Schema, draft-07), versioned in the topic as v1."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

STREAMS = ("telemetry", "faults", "service")
TOPIC_PREFIX = "fleet/v1"


@cache
def schema(stream: str) -> dict[str, Any]:
    """The JSON Schema of one stream's payload."""
    if stream not in STREAMS:
        raise KeyError(f"unknown stream {stream!r}; expected one of {STREAMS}")
    text = resources.files(__name__).joinpath(f"{stream}.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def topic(machine_id: str, stream: str) -> str:
    """The topic a machine publishes one stream on."""
    return f"{TOPIC_PREFIX}/{machine_id}/{stream}"
