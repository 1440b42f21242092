"""What every command module shares: the root group's error handling and its settings.

Stage command modules import this (downward) instead of the root command, so the root
can import them without a circle.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from fleetcare.errors import FleetcareError
from fleetcare.settings import Settings

# Every option's environment twin is FLEETCARE_<COMMAND PATH>_<OPTION>: click derives it
# from this prefix and the command names (FLEETCARE_BACKTEST_MACHINES).
ENV_PREFIX = "FLEETCARE"


class FleetcareGroup(click.Group):
    """A group whose errors print as one line (the chain of causes), traceback only with -vv."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FleetcareError as exc:
            if logging.getLogger("fleetcare").isEnabledFor(logging.DEBUG):
                raise
            causes = [str(exc)]
            cause = exc.__cause__
            while cause is not None and len(causes) < 3:
                text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
                if text and text not in causes[-1]:
                    causes.append(text)
                cause = cause.__cause__
            click.echo(f"fleetcare: error: {': '.join(causes)}", err=True)
            ctx.exit(1)
        except click.UsageError as exc:  # a bad argument: one line, and where to read more
            where = " ".join(exc.ctx.command_path.split()[1:]) if exc.ctx else ""
            hint = f"fleetcare {where} --help" if where else "fleetcare --help"
            click.echo(f"fleetcare: error: {exc.format_message()} (see '{hint}')", err=True)
            ctx.exit(2)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a case no stage mapped yet: still one line, not a traceback
            if logging.getLogger("fleetcare").isEnabledFor(logging.DEBUG):
                raise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            click.echo(f"fleetcare: error: {type(exc).__name__}"
                       + (f": {text}" if text else "")
                       + " (unexpected; run with -vv for the traceback)", err=True)
            ctx.exit(1)


def settings_of(ctx: click.Context) -> Settings:
    """The Settings the root group built for this invocation."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings), "run through the fleetcare root command"
    return settings


def show_envvars(command: click.Command) -> None:
    """Show each option's environment variable in --help, in `command` and below it.

    Click has no context setting for this, only the per-option flag; setting it once at
    the root keeps every stage's option list free of it.
    """
    for param in command.params:
        if isinstance(param, click.Option):
            param.show_envvar = True
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            show_envvars(sub)
