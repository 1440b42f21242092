"""Settings from FLEETCARE_* environment variables and an optional .env file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetcare.errors import SettingsError

ENV_PREFIX = "FLEETCARE_"
# Never echoed back in an error message.
SECRET_FIELDS = {"mqtt_password"}


class Settings(BaseSettings):
    """Everything a Fleetcare process needs to know about its surroundings.

    An unset database or broker URL means "start the embedded one" (see runtime.services).
    Built in entry points, never at import, so tests can make their own.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None, description="libpq URL of the database; unset = embedded PostgreSQL"
    )
    mqtt_url: str | None = Field(
        default=None, description="mqtt://host:port of the broker; unset = embedded broker"
    )
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    data_dir: Path = Field(
        default=Path(".fleetcare"), description="where embedded services and outputs live"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    web_host: str = Field(default="127.0.0.1", description="address `fleetcare serve` binds")
    web_port: int = Field(default=8000, ge=0, le=65535, description="port of `fleetcare serve`")
    # auto: use TimescaleDB when the extension is installable; off: plain PostgreSQL tables.
    timescaledb: Literal["auto", "off"] = "auto"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = urlsplit(value).scheme
        if scheme not in ("postgresql", "postgres"):
            raise ValueError("must start with postgresql:// (a libpq connection URL)")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError("must look like mqtt://host:port")
        try:
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError as exc:
            raise ValueError("port must be a number") from exc
        if not parts.hostname:
            raise ValueError("must name a host, like mqtt://127.0.0.1:1883")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = first["msg"].removeprefix("Value error, ")
        bad = first.get("input")
        if field in SECRET_FIELDS:
            bad = None
        elif isinstance(bad, str) and field.endswith("_url"):
            bad = redact_url(bad)
        shown = f" (got {bad!r})" if bad is not None and not isinstance(bad, dict) else ""
        raise SettingsError(f"{ENV_PREFIX}{field.upper()}: {message}{shown}") from None


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rpartition("@")
        user = netloc[0].partition(":")[0]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))
    except ValueError:
        return "<unparsable URL>"


def mqtt_host_port(url: str) -> tuple[str, int]:
    """Split mqtt://host:port into its parts (port defaults to 1883)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883
