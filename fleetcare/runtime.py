"""One context manager that gives every command its database and broker.

Unset URLs mean embedded services: an embedded PostgreSQL from a PyPI wheel and a
broker on a free loopback port, both started here and stopped on exit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from fleetcare import db
from fleetcare.settings import Settings

log = logging.getLogger("fleetcare.runtime")


@dataclass
class Services:
    """The running services a command uses, and whether Fleetcare started them."""

    settings: Settings
    database_url: str | None = None
    mqtt_url: str | None = None
    embedded: list[str] = field(default_factory=list)
    migrations_applied: list[str] = field(default_factory=list)

    @property
    def db(self) -> str:
        assert self.database_url, "this command did not ask for a database"
        return self.database_url

    @property
    def mqtt(self) -> str:
        assert self.mqtt_url, "this command did not ask for a broker"
        return self.mqtt_url


@contextmanager
def services(settings: Settings, *, database: bool = True, broker: bool = False,
             migrate: bool = True) -> Iterator[Services]:
    """Start (or point at) the database and broker a command needs; migrate the database."""
    out = Services(settings)
    with ExitStack() as stack:
        if database:
            if settings.database_url:
                out.database_url = settings.database_url
            else:
                from fleetcare.embedded import embedded_postgres

                out.database_url = stack.enter_context(embedded_postgres(settings.data_dir))
                out.embedded.append("postgresql")
                log.info("embedded PostgreSQL ready (data in %s)", settings.data_dir)
            if migrate:
                applied = db.upgrade(out.database_url, timescaledb=settings.timescaledb)
                out.migrations_applied = [f"{m.version:04d}_{m.name}" for m in applied]
        if broker:
            if settings.mqtt_url:
                out.mqtt_url = settings.mqtt_url
            else:
                from fleetcare.embedded import embedded_broker

                out.mqtt_url = str(stack.enter_context(embedded_broker(settings.data_dir)))
                out.embedded.append("mqtt")
                log.info("embedded MQTT broker at %s", out.mqtt_url)
        yield out
