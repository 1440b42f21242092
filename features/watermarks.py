"""Per-job watermarks in job_watermarks: how far each incremental features job has run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from fleetcare.queries import load

_Q = load("features", "watermarks.sql")


@dataclass(frozen=True)
class Watermark:
    """A job's watermark and the details it keeps beside it."""

    job: str
    watermark: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    def detail_time(self, key: str) -> datetime:
        """A timestamp kept in the detail (ISO text), the watermark itself if absent."""
        value = self.detail.get(key)
        return datetime.fromisoformat(value) if value else self.watermark


def get_watermark(conn: psycopg.Connection, job: str) -> Watermark | None:
    """The job's watermark, or None if it has never run."""
    row = conn.execute(_Q.read_watermark, (job,)).fetchone()
    return Watermark(job, row[0], dict(row[1] or {})) if row else None


def set_watermark(conn: psycopg.Connection, job: str, watermark: datetime,
                  detail: dict[str, Any]) -> None:
    """Store the job's watermark (insert or replace)."""
    conn.execute(_Q.write_watermark, (job, watermark, json.dumps(detail)))
