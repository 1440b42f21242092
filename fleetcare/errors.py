"""Fleetcare's exception tree: one root, with transient vs terminal marked for retry logic."""

from __future__ import annotations


class FleetcareError(Exception):
    """Something went wrong in Fleetcare."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class TransientError(FleetcareError):
    """A failure that may succeed if retried (connection lost, server restarting)."""


class TerminalError(FleetcareError):
    """A failure that retrying will not fix (bad configuration, bad data, bug)."""


class SettingsError(TerminalError):
    """A setting is missing or invalid."""


class MigrationError(TerminalError):
    """The database schema cannot be brought up to date."""


class EmbeddedServiceError(TransientError):
    """An embedded database or broker could not be started."""
