"""The demo's results are where later commands look: on the embedded server the demo
fills the data folder's own database, so `plan show`, `plan list` and `db url` in the
same folder find them (the whole demo, with its files, is run by hand: see the README)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from app.cli import cli
from app.demo import demo_database
from fleetcare import db
from fleetcare.embedded import started_here
from fleetcare.queries import beside
from fleetcare.runtime import services
from fleetcare.settings import load_settings

Q = beside(__file__)


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder PostgreSQL's service user can reach, and no configured URLs."""
    base = Path(tempfile.mkdtemp(prefix="h21-demo-"))
    base.chmod(0o755)
    for key in list(os.environ):
        if key.startswith("FLEETCARE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FLEETCARE_DATA_DIR", str(base / "data"))
    monkeypatch.chdir(base)
    yield base / "data"
    shutil.rmtree(base, ignore_errors=True)


def test_the_demos_database_is_the_one_later_commands_find(data_dir: Path) -> None:
    settings = load_settings()
    runner = CliRunner()
    with services(settings, migrate=False) as svc:
        assert "postgresql" in svc.embedded and started_here(data_dir)
        name, url = demo_database(svc)
        assert name == "fleetcare" and url == svc.db
        db.upgrade(url)
        with psycopg.connect(url) as conn:   # what the demo's planning step stores
            conn.execute(Q.insert_plans,
                         (Jsonb({"visits": 0, "stations": 0}),))
        shown = runner.invoke(cli, ["plan", "show", "1"])
        assert shown.exit_code == 0, shown.output
        assert "plan 1 (visits, proposed)" in shown.output
        listed = runner.invoke(cli, ["plan", "list"])
        assert listed.output.splitlines()[1].split()[:4] == ["1", "visits", "proposed",
                                                             "2025-03-03"]
        # The URL an analyst pastes (another process, as in a terminal): the same database;
        # the server is already running, so the command prints it and exits.
        printed = subprocess.run([sys.executable, "-m", "fleetcare", "db", "url"],
                                 capture_output=True, text=True, timeout=120)
        assert printed.returncode == 0 and printed.stdout.strip() == url, printed.stderr
        with psycopg.connect(printed.stdout.strip()) as conn:
            assert conn.execute(Q.count_plans).fetchone() == (1,)
        # A second demo starts from nothing.
        _name, again = demo_database(svc)
        with psycopg.connect(again) as conn:
            assert conn.execute(Q.value_to_regclass_plans).fetchone() == (None,)
    assert not started_here(data_dir)
