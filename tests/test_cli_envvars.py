"""Every option of every command has its FLEETCARE_ environment twin, shown in --help."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from app.cli import cli
from fleetcare.settings import Settings


def _contexts(command: click.Command, ctx: click.Context) -> Iterator[click.Context]:
    yield ctx
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _contexts(sub, click.Context(sub, info_name=name, parent=ctx))


def _all_contexts() -> list[click.Context]:
    root = click.Context(cli, info_name="fleetcare", **cli.context_settings)
    return list(_contexts(cli, root))


def _envvar(option: click.Option, ctx: click.Context) -> str | None:
    record = option.get_help_record(ctx)
    extra = record[1] if record else ""
    if "env var: " not in extra:
        return None
    return extra.split("env var: ", 1)[1].split(";")[0].split("]")[0].strip()


def test_every_option_shows_an_envvar_that_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    missing, unread, options = [], [], 0
    for ctx in _all_contexts():
        for param in ctx.command.params:
            if not isinstance(param, click.Option):
                continue
            options += 1
            where = f"{ctx.command_path} {param.opts[-1]}"
            name = _envvar(param, ctx)
            if name is None or not name.startswith("FLEETCARE_"):
                missing.append(where)
                continue
            monkeypatch.setenv(name, "7")
            if param.resolve_envvar_value(ctx) != "7":
                unread.append(f"{where} ({name})")
            monkeypatch.delenv(name)
    assert options > 100
    assert not missing, f"options without a FLEETCARE_ variable in --help: {missing}"
    assert not unread, f"variables shown but not read: {unread}"


def test_nested_commands_get_their_path_in_the_name() -> None:
    out = CliRunner().invoke(cli, ["backtest", "--help"], terminal_width=200).output
    assert "FLEETCARE_BACKTEST_MACHINES" in out
    out = CliRunner().invoke(cli, ["bench", "plan", "--help"], terminal_width=200).output
    assert "FLEETCARE_BENCH_PLAN_MACHINES" in out


def test_no_option_variable_is_also_a_setting() -> None:
    # A setting (FLEETCARE_DATABASE_URL ...) read by both pydantic and click would have two
    # meanings; only the status page's bind address shares one on purpose.
    settings = {f"FLEETCARE_{name.upper()}" for name in Settings.model_fields}
    shared = {_envvar(p, ctx) for ctx in _all_contexts() for p in ctx.command.params
              if isinstance(p, click.Option)} & settings
    assert shared <= {"FLEETCARE_WEB_HOST", "FLEETCARE_WEB_PORT"}, shared
