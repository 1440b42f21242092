"""Settings errors are one clear line naming the variable; --help explains each command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from app.cli import cli
from fleetcare.errors import SettingsError
from fleetcare.settings import load_settings


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCARE_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fleetcare", *args], env=full, capture_output=True, text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLEETCARE_DATABASE_URL", "mysql://localhost/x"),
        ("FLEETCARE_MQTT_URL", "mqtt://broker:notaport"),
        ("FLEETCARE_LOG_LEVEL", "chatty"),
        ("FLEETCARE_TIMESCALEDB", "maybe"),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(variable: str, value: str) -> None:
    result = _run({variable: value}, "db", "status")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_load_settings_raises_settings_error() -> None:
    with pytest.raises(SettingsError, match="FLEETCARE_DATABASE_URL"):
        load_settings(database_url="sqlite:///x")


def test_unset_urls_mean_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("FLEETCARE_"):
            monkeypatch.delenv(key)
    settings = load_settings(_env_file=None)
    assert settings.database_url is None and settings.mqtt_url is None


def test_help_explains_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1].strip().splitlines()
    assert len(listed) == len(cli.commands)
    for line in listed:
        name, _, text = line.strip().partition(" ")
        assert name in cli.commands
        assert len(text.strip()) > 10, f"{name} has no one-sentence help"


def test_unreachable_database_is_one_line() -> None:
    bad = {"FLEETCARE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = _run(bad, "db", "status")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("fleetcare: error: cannot connect to the database")
    assert len(result.stderr.strip().splitlines()) == 1
