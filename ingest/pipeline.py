"""The one path every message takes: envelope → machine check → decode → route → write.

The MQTT subscriber, the direct path (``ingest.direct``) and the importer all call
``Pipeline.process``; only where the messages come from differs.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingest.decode import DB_REJECTED, UNKNOWN_MACHINE, Batch, Decoder, dead_letter
from ingest.writer import QUERIES, Writer, WriteResult

log = logging.getLogger("ingest.pipeline")


def _labelled(row: tuple[Any, ...], label: str) -> tuple[Any, ...]:
    return (*row[:4], f"{label}: {row[4]}", *row[5:])


class MachineCache:
    """Known machine ids. A miss asks the database once per batch for all missing ids,
    so a machine registered a moment ago is found and unknown ids cost one query."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def unknown(self, conn: psycopg.Connection, ids: Iterable[str]) -> set[str]:
        missing = set(ids) - self._known
        if not missing:
            return missing
        found = {row[0] for row in conn.execute(QUERIES["known_machines"], (list(missing),))}
        self._known |= found
        return missing - found


@dataclass
class Counts:
    """Totals over one or more batches (what ``ingest_messages`` returns)."""

    messages: int = 0
    rows: int = 0                       # valid rows offered to the database
    stored: Counter[str] = field(default_factory=Counter)       # stream -> new rows
    duplicates: Counter[str] = field(default_factory=Counter)   # stream -> already stored
    dead_letters: Counter[str] = field(default_factory=Counter)  # reason -> count
    meter_resets: int = 0
    batches: int = 0

    @property
    def stored_total(self) -> int:
        return sum(self.stored.values())

    @property
    def duplicates_total(self) -> int:
        return sum(self.duplicates.values())

    @property
    def dead_letters_total(self) -> int:
        return sum(self.dead_letters.values())

    def add(self, batch: Batch, result: WriteResult) -> None:
        self.messages += batch.messages
        self.rows += batch.rows
        self.stored.update(result.stored)
        self.duplicates.update(result.duplicates)
        self.dead_letters.update(row[3] for row in batch.dead_letters)
        self.meter_resets += result.meter_resets
        self.batches += 1

    def merge(self, other: Counts) -> None:
        self.messages += other.messages
        self.rows += other.rows
        self.stored.update(other.stored)
        self.duplicates.update(other.duplicates)
        self.dead_letters.update(other.dead_letters)
        self.meter_resets += other.meter_resets
        self.batches += other.batches

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "rows": self.rows, "stored": dict(self.stored),
                "duplicates": dict(self.duplicates), "dead_letters": dict(self.dead_letters),
                "meter_resets": self.meter_resets, "batches": self.batches}


class Pipeline:
    """Decoder + machine cache + writer on one connection."""

    def __init__(self, conn: psycopg.Connection, *, decoder: Decoder | None = None,
                 machines: MachineCache | None = None) -> None:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raise ValueError("ingest needs a connection outside any transaction")
        self.conn = conn
        self.decoder = decoder or Decoder()
        self.machines = machines or MachineCache()
        self.writer = Writer(conn)

    def decode(self, messages: Sequence[tuple[str, bytes]],
               received_at: datetime | None = None,
               labels: Sequence[str] | None = None) -> Batch:
        """Turn messages into rows and dead letters (reads only the machines table).

        ``labels`` (one per message, e.g. "row 17") prefix the detail of that message's
        dead letters, so an importer can say where a rejected row came from.
        """
        received_at = received_at or datetime.now(UTC)
        decoder = self.decoder
        batch = Batch(messages=len(messages))
        accepted: list[tuple[str, str, str, bytes]] = []
        dead = batch.dead_letters
        marks: list[int] = []
        for topic, payload in messages:
            envelope = decoder.check_envelope(topic, payload, received_at, batch)
            if envelope is not None:
                accepted.append((topic, envelope[0], envelope[1], payload))
            elif labels is not None:
                dead[-1] = _labelled(dead[-1], labels[len(marks)])
            marks.append(len(accepted))
        unknown = self.machines.unknown(self.conn, {m for _, m, _, _ in accepted})
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            self.conn.commit()  # a non-autocommit connection began one for the read-only lookup
        accepted_labels = ([labels[i] for i, n in enumerate(marks)
                            if n > (marks[i - 1] if i else 0)] if labels is not None else None)
        for i, (topic, machine_id, stream, payload) in enumerate(accepted):
            before = len(dead)
            if machine_id in unknown:
                dead.append(dead_letter(
                    received_at, decoder.source, topic, UNKNOWN_MACHINE,
                    f"machine {machine_id!r} is not in the machines table", payload))
            else:
                decoder.decode(topic, machine_id, stream, payload, received_at, batch)
            if accepted_labels is not None:
                for j in range(before, len(dead)):
                    dead[j] = _labelled(dead[j], accepted_labels[i])
        return batch

    def process(self, messages: Sequence[tuple[str, bytes]],
                received_at: datetime | None = None) -> tuple[Batch, WriteResult]:
        """Decode and store one batch in one transaction; committed when this returns.

        Connection failures (psycopg.OperationalError) propagate for the caller to retry.
        If the database refuses the batch's data itself, the messages are written one by
        one and the refused ones become ``db_rejected`` dead letters: one bad message
        never blocks the rest (or, after a restart, the whole queue) forever.
        """
        received_at = received_at or datetime.now(UTC)
        batch = self.decode(messages, received_at)
        try:
            return batch, self.writer.write(batch)
        except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege):
            # A missing grant is the deployment's fault, not the data's: stop (the messages
            # stay unacked in the broker) instead of dead-lettering every message.
            raise
        except psycopg.Error as exc:
            if len(messages) > 1:
                log.warning("database refused a batch of %d (%s); writing one by one",
                            len(messages), _first_line(exc))
                return self._one_by_one(messages, received_at)
            topic, payload = messages[0]
            log.warning("database refused the message on %s: %s", topic, _first_line(exc))
            rejected = Batch(messages=1, dead_letters=[dead_letter(
                received_at, self.decoder.source, topic, DB_REJECTED, _first_line(exc),
                payload)])
            return rejected, self.writer.write(rejected)

    def _one_by_one(self, messages: Sequence[tuple[str, bytes]],
                    received_at: datetime) -> tuple[Batch, WriteResult]:
        total_batch, total = Batch(), WriteResult()
        for message in messages:
            batch, result = self.process([message], received_at)
            total_batch.messages += batch.messages
            for name in ("telemetry", "faults", "service", "dead_letters"):
                getattr(total_batch, name).extend(getattr(batch, name))
            for key, n in result.stored.items():
                total.stored[key] = total.stored.get(key, 0) + n
            for key, n in result.duplicates.items():
                total.duplicates[key] = total.duplicates.get(key, 0) + n
            total.dead_letters += result.dead_letters
            total.meter_resets += result.meter_resets
        return total_batch, total


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)
