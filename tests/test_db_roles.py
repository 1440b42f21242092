"""Database roles (migration 0900): ingest writes raw tables only, the web app cannot
alter the schema, analysts only read, migrations run as the owner. Each role is tried
with a real login against a migrated database: what it must do works, the rest is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from test_ingest_helpers import encode, reading, seed_machines, topic

from fleetcare import db
from fleetcare.queries import beside
from ingest.direct import ingest_messages

Q = beside(__file__)
GROUPS = ("fleetcare_ingest", "fleetcare_web", "fleetcare_analyst")


@pytest.fixture
def logins(db_url: str) -> Iterator[dict[str, str]]:
    """A login user per group role (dropped afterwards), as URLs to the test database."""
    tag = uuid.uuid4().hex[:8]
    users = {g: f"fct_{g.removeprefix('fleetcare_')}_{tag}" for g in GROUPS}
    with psycopg.connect(db_url, autocommit=True) as conn:
        for group, user in users.items():
            conn.execute(Q.create_login.format(user=sql.Identifier(user),
                                               group=sql.Identifier(group)))
    parts = urlsplit(db_url)
    try:
        yield {g.removeprefix("fleetcare_"): urlunsplit(parts._replace(
            netloc=f"{u}@{parts.hostname}:{parts.port}")) for g, u in users.items()}
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for user in users.values():
                conn.execute(Q.end_user_sessions, (user,))
                conn.execute(Q.drop_login.format(user=sql.Identifier(user)))


def refused(url: str, statement: str) -> bool:
    """Whether PostgreSQL refuses the named statement to this login."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(Q[statement])
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


OWNER_ONLY = ["create_table", "add_column", "drop_table", "truncate_table", "create_index",
              "disable_triggers"]


def test_ingest_writes_raw_tables_only(db_url: str, logins: dict[str, str]) -> None:
    seed_machines(db_url, ["EX00001"])
    url = logins["ingest"]
    # The service's start-up migration check and its whole write path work as this role.
    assert db.upgrade(url) == []
    counts = ingest_messages(url, [(topic("EX00001"), encode(reading("EX00001", s)))
                                   for s in range(10)] + [(topic("EX00001"), b"not json")])
    assert counts.stored["telemetry"] == 10 and counts.dead_letters_total == 1
    for name in [*OWNER_ONLY, "rewrite_telemetry", "delete_telemetry", "delete_dead_letters",
                 "insert_machine", "read_risk_scores", "read_plans", "review_plan"]:
        assert refused(url, name), name


def test_web_cannot_alter_the_schema(db_url: str, logins: dict[str, str]) -> None:
    url = logins["web"]
    with psycopg.connect(url) as conn:
        for table in ("telemetry", "machines", "risk_scores", "plans", "plan_visits"):
            conn.execute(Q.count_rows.format(table=sql.Identifier(table)))
        plan_id = conn.execute(Q.propose_plan).fetchone()[0]  # type: ignore[index]
        conn.execute(Q.approve_plan, (plan_id,))
        conn.commit()
    for name in [*OWNER_ONLY, "insert_telemetry", "delete_plans", "rename_model"]:
        assert refused(url, name), name


def test_analysts_read_everything_and_write_nothing(db_url: str,
                                                    logins: dict[str, str]) -> None:
    url = logins["analyst"]
    with psycopg.connect(db_url) as conn:
        tables = [r[0] for r in conn.execute(Q.public_tables)]
    assert len(tables) > 20
    with psycopg.connect(url, autocommit=True) as conn:
        for t in tables:
            conn.execute(Q.first_row.format(table=sql.Identifier(t)))
    for name in [*OWNER_ONLY, "insert_region", "rename_model", "delete_job_runs"]:
        assert refused(url, name), name


def test_tables_of_later_migrations_are_readable_by_analysts(db_url: str,
                                                            logins: dict[str, str]) -> None:
    """Migrations run as the owner; a table a later migration adds is readable at once."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.later_stage_table)
    with psycopg.connect(logins["analyst"]) as conn:
        assert conn.execute(Q.read_later_stage).fetchone() == (1,)
    assert refused(logins["ingest"], "read_later_stage")


def test_a_missing_grant_stops_ingest_instead_of_dead_lettering(db_url: str,
                                                               logins: dict[str, str]) -> None:
    """A deployment error must not turn good messages into (truncated) dead letters."""
    seed_machines(db_url, ["EX00001"])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.revoke_ingest_insert)  # this database only
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ingest_messages(logins["ingest"], [(topic("EX00001"), encode(reading("EX00001", 1)))])
    with psycopg.connect(db_url) as conn:
        assert conn.execute(Q.count_dead_letters).fetchone() == (0,)
