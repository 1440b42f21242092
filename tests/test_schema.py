"""The migrations build exactly the schema fleetcare/schema.sql shows.

The pattern of procrastinate's tests/migration/test_migration.py: a database built from
nothing by the migrations (both tracks) is described from the catalogue and compared
with the committed file, so a migration that changes a table without the file (or the
file edited by hand) fails here. Regenerate with `uv run python -m fleetcare.schema --write`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import pytest
from conftest import _check_backend, _fresh_database

from fleetcare import db, schema


@pytest.fixture
def fresh_url() -> Iterator[str]:
    # The file shows TimescaleDB's hypertables, as production runs.
    _check_backend("timescaledb")
    yield from _fresh_database("timescaledb")


def test_migrations_give_the_committed_schema(fresh_url: str) -> None:
    db.upgrade(fresh_url, track=db.TRUTH)
    with db.connect(fresh_url) as conn:
        built = schema.describe(conn)
    committed = schema.FILE.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(committed.splitlines(True), built.splitlines(True),
                                        "fleetcare/schema.sql", "migrations"))
    assert not diff, ("the migrations and fleetcare/schema.sql disagree; if the migration "
                      "is right, run `uv run python -m fleetcare.schema --write`:\n" + diff)

