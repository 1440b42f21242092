"""Scheduler settings: which jobs run when, and which stage function each job calls.

Read from FLEETCARE_SCHEDULER_* variables (or .env). Schedules are short strings:
``every 5m`` / ``every 2s`` (interval), ``cron 15 2 * * *`` (crontab: minute hour day
month weekday, weekdays by name), or ``off``. ``FLEETCARE_SCHEDULER_JOBS`` is a JSON
object that overrides only the jobs it names, e.g. ``{"ingest_health": "every 1s"}``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as EnvParseError

from fleetcare.errors import SettingsError

# When each job runs by default. Daily jobs follow the data: features after midnight's
# uploads, scores after features, the weekly plan on Monday morning after Sunday's
# retraining. The parts job runs monthly and plans only regions whose peak is near.
DEFAULT_SCHEDULES: dict[str, str] = {
    "ingest_health": "every 5m",
    "features_daily": "cron 15 1 * * *",
    "score_daily": "cron 15 2 * * *",
    "retrain_weekly": "cron 0 3 * * sun",
    "visit_plan_weekly": "cron 0 5 * * mon",
    # After the night's scores, the days the weekly plan does not cover anew.
    "alert_dispatch_daily": "cron 45 2 * * tue-sat",
    "parts_plan_monthly": "cron 0 6 1 * *",
}

# The functions other stages provide, resolved at run time ("module:function"), so a
# stage that is not there yet gives a recorded "not available" outcome, not a crash.
# Each is called with the database URL (promote also with the model id); see jobs.py.
DEFAULT_TARGETS: dict[str, str] = {
    "features_daily": "features.build:build",
    "score_daily": "models.scoring:score_day",
    "retrain": "models.jobs:retrain",
    "promote": "models.registry:activate",
}

_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class JobSpec:
    """One configured job: its name, schedule text and the APScheduler trigger for it."""

    name: str
    schedule: str

    def trigger(self, timezone: str) -> BaseTrigger:
        return parse_schedule(self.schedule, timezone)


def parse_schedule(text: str, timezone: str = "UTC") -> BaseTrigger:
    """Turn ``every 5m`` or ``cron 15 2 * * *`` into an APScheduler trigger."""
    spec = text.strip().lower()
    match = _EVERY.match(spec)
    if match:
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
        if seconds <= 0:
            raise ValueError(f"interval must be positive: {text!r}")
        return IntervalTrigger(seconds=seconds, timezone=timezone)
    if spec.startswith("cron "):
        try:
            return CronTrigger.from_crontab(spec.removeprefix("cron ").strip(), timezone=timezone)
        except ValueError as exc:
            raise ValueError(f"bad crontab in {text!r}: {exc}") from exc
    raise ValueError(f"schedule must be 'every <n>s|m|h|d', 'cron <crontab>' or 'off': {text!r}")


class SchedulerSettings(BaseSettings):
    """What the `fleetcare scheduler` runtime reads from FLEETCARE_SCHEDULER_*."""

    model_config = SettingsConfigDict(
        env_prefix="FLEETCARE_SCHEDULER_", env_file=".env", env_file_encoding="utf-8",
        extra="ignore",
    )

    timezone: str = Field(default="Asia/Shanghai", description="time zone of cron schedules")
    jobs: dict[str, str] = Field(default_factory=dict, description="job -> schedule overrides")
    targets: dict[str, str] = Field(default_factory=dict, description="stage function overrides")
    # How often a follower tries to become leader and the leader checks it still is.
    leader_poll_s: float = Field(default=5.0, gt=0)
    # None: a job missed while every scheduler was down runs once on start however late
    # (coalesced to one run); a number limits how late that catch-up run may be.
    misfire_grace_s: int | None = Field(default=None, ge=1)
    # Worker threads: jobs are few and mostly wait on the database.
    max_workers: int = Field(default=4, ge=1)
    # Visit plan window and parts planning look-ahead used by the scheduled jobs.
    plan_weeks: int = Field(default=4, ge=1, le=12)
    plan_workers: int = Field(default=1, ge=1, description="processes solving stations")
    parts_lookahead_days: int = Field(default=100, ge=1)
    # ingest_health fails when the newest telemetry arrived longer ago than this.
    ingest_stale_s: float = Field(default=7200.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as "
                             "Asia/Shanghai or UTC") from None
        return value

    @field_validator("jobs")
    @classmethod
    def _check_jobs(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(DEFAULT_SCHEDULES)
        if unknown:
            raise ValueError(
                f"unknown job(s) {sorted(unknown)}; known: {sorted(DEFAULT_SCHEDULES)}")
        for text in value.values():
            if text.strip().lower() != "off":
                parse_schedule(text)
        return value

    def job_specs(self) -> list[JobSpec]:
        """The enabled jobs with their schedules (defaults overridden by `jobs`)."""
        merged = {**DEFAULT_SCHEDULES, **self.jobs}
        return [JobSpec(n, s) for n, s in merged.items() if s.strip().lower() != "off"]

    def target(self, name: str) -> str:
        """The "module:function" a stage job calls."""
        return {**DEFAULT_TARGETS, **self.targets}[name]


def load_scheduler_settings(**overrides: object) -> SchedulerSettings:
    """Read scheduler settings, turning validation errors into one readable line."""
    try:
        return SchedulerSettings(**overrides)  # type: ignore[arg-type]
    except EnvParseError as exc:  # a variable that is not the JSON its field wants
        field = str(exc).partition('field "')[2].partition('"')[0] or "?"
        raise SettingsError(f"FLEETCARE_SCHEDULER_{field.upper()}: not valid JSON; write an "
                            """object such as {"ingest_health": "every 5m"}""") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"FLEETCARE_SCHEDULER_{field.upper()}: {message}") from None
