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
from test_ingest_helpers import encode, reading, seed_machines, topic

from fleetcare import db
from ingest.direct import ingest_messages

GROUPS = ("fleetcare_ingest", "fleetcare_web", "fleetcare_analyst")


@pytest.fixture
def logins(db_url: str) -> Iterator[dict[str, str]]:
    """A login user per group role (dropped afterwards), as URLs to the test database."""
    tag = uuid.uuid4().hex[:8]
    users = {g: f"fct_{g.removeprefix('fleetcare_')}_{tag}" for g in GROUPS}
    with psycopg.connect(db_url, autocommit=True) as conn:
        for group, user in users.items():
            conn.execute(f'CREATE ROLE "{user}" LOGIN IN ROLE {group}')  # type: ignore[arg-type]
    parts = urlsplit(db_url)
    try:
        yield {g.removeprefix("fleetcare_"): urlunsplit(parts._replace(
            netloc=f"{u}@{parts.hostname}:{parts.port}")) for g, u in users.items()}
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for user in users.values():
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE usename = %s", (user,))
                conn.execute(f'DROP ROLE IF EXISTS "{user}"')  # type: ignore[arg-type]


def refused(url: str, sql: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(sql)  # type: ignore[arg-type]
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


OWNER_ONLY = [
    "CREATE TABLE evil (x int)",
    "ALTER TABLE telemetry ADD COLUMN evil int",
    "DROP TABLE plans",
    "TRUNCATE telemetry",
    "CREATE INDEX evil ON telemetry (lat)",
    "ALTER TABLE machines DISABLE TRIGGER ALL",
]


def test_ingest_writes_raw_tables_only(db_url: str, logins: dict[str, str]) -> None:
    seed_machines(db_url, ["EX00001"])
    url = logins["ingest"]
    # The service's start-up migration check and its whole write path work as this role.
    assert db.upgrade(url) == []
    counts = ingest_messages(url, [(topic("EX00001"), encode(reading("EX00001", s)))
                                   for s in range(10)] + [(topic("EX00001"), b"not json")])
    assert counts.stored["telemetry"] == 10 and counts.dead_letters_total == 1
    for sql in [*OWNER_ONLY,
                "UPDATE telemetry SET engine_hours = 0",
                "DELETE FROM telemetry",
                "DELETE FROM dead_letters",
                "INSERT INTO machines (machine_id, model, product_line, region_id, "
                "delivery_date) VALUES ('X', 'm', 'p', 't-east', '2024-01-01')",
                "SELECT * FROM risk_scores", "SELECT * FROM plans",
                "INSERT INTO plan_reviews (plan_id, actor, action) VALUES (1, 'x', 'y')"]:
        assert refused(url, sql), sql


def test_web_cannot_alter_the_schema(db_url: str, logins: dict[str, str]) -> None:
    url = logins["web"]
    with psycopg.connect(url) as conn:
        for table in ("telemetry", "machines", "risk_scores", "plans", "plan_visits"):
            conn.execute(f"SELECT count(*) FROM {table}")  # type: ignore[arg-type]
        plan_id = conn.execute(
            "INSERT INTO plans (kind, created_by, window_start, window_end) VALUES "
            "('visits', 'web', '2025-01-06', '2025-01-12') RETURNING plan_id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute("UPDATE plans SET status = 'approved' WHERE plan_id = %s", (plan_id,))
        conn.commit()
    for sql in [*OWNER_ONLY, "INSERT INTO telemetry (machine_id, seq, ts, arrived_at, "
                "engine_hours) VALUES ('X', 1, now(), now(), 1)",
                "DELETE FROM plans", "UPDATE machines SET model = 'x'"]:
        assert refused(url, sql), sql


def test_analysts_read_everything_and_write_nothing(db_url: str,
                                                    logins: dict[str, str]) -> None:
    url = logins["analyst"]
    with psycopg.connect(db_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type IN ('BASE TABLE', 'VIEW')")]
    assert len(tables) > 20
    with psycopg.connect(url, autocommit=True) as conn:
        for t in tables:
            conn.execute(f'SELECT * FROM "{t}" LIMIT 1')  # type: ignore[arg-type]
    for sql in [*OWNER_ONLY, "INSERT INTO regions (region_id, name, market, climate, lat, "
                "lon) VALUES ('x', 'x', 'x', 'x', 0, 0)", "UPDATE machines SET model = 'x'",
                "DELETE FROM job_runs"]:
        assert refused(url, sql), sql


def test_tables_of_later_migrations_are_readable_by_analysts(db_url: str,
                                                            logins: dict[str, str]) -> None:
    """Migrations run as the owner; a table a later migration adds is readable at once."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE later_stage (x int)")
        conn.execute("INSERT INTO later_stage VALUES (1)")
    with psycopg.connect(logins["analyst"]) as conn:
        assert conn.execute("SELECT x FROM later_stage").fetchone() == (1,)
    assert refused(logins["ingest"], "SELECT x FROM later_stage")


def test_a_missing_grant_stops_ingest_instead_of_dead_lettering(db_url: str,
                                                               logins: dict[str, str]) -> None:
    """A deployment error must not turn good messages into (truncated) dead letters."""
    seed_machines(db_url, ["EX00001"])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("REVOKE INSERT ON telemetry FROM fleetcare_ingest")  # this database only
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ingest_messages(logins["ingest"], [(topic("EX00001"), encode(reading("EX00001", 1)))])
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM dead_letters").fetchone() == (0,)
