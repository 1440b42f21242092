"""Commands of the scheduler stage: `fleetcare scheduler`, `fleetcare jobs`, `fleetcare plan`."""

from __future__ import annotations

import json
from typing import Any

import click

from fleetcare.errors import SettingsError


def _settings(ctx: click.Context) -> Any:
    from fleetcare.cli import settings_of

    return settings_of(ctx)


def _scheduler_settings(overrides: tuple[str, ...] = (), **extra: Any) -> Any:
    from scheduler.config import load_scheduler_settings

    jobs: dict[str, str] = {}
    for item in overrides:
        name, sep, spec = item.partition("=")
        if not sep:
            raise SettingsError(f"--schedule wants NAME=SCHEDULE, got {item!r}")
        jobs[name.strip()] = spec.strip()
    base = load_scheduler_settings()
    if jobs or extra:
        return load_scheduler_settings(jobs={**base.jobs, **jobs}, **extra)
    return base


@click.command("scheduler")
@click.option("--schedule", "schedules", multiple=True, metavar="NAME=SCHEDULE",
              help="Override one job's schedule, e.g. ingest_health='every 30s' or "
                   "visit_plan_weekly=off (also FLEETCARE_SCHEDULER_JOBS as JSON).")
@click.option("--duration", type=float, default=None, metavar="SECONDS",
              help="Stop after this many seconds (default: run until Ctrl-C / SIGTERM).")
@click.pass_context
def scheduler_command(ctx: click.Context, schedules: tuple[str, ...],
                      duration: float | None) -> None:
    """Run the job scheduler (several may run; one leader runs each job once)."""
    from fleetcare.runtime import services
    from scheduler.runtime import SchedulerRuntime

    sched = _scheduler_settings(schedules)
    with services(_settings(ctx)) as svc:
        runtime = SchedulerRuntime(svc.db, sched)
        click.echo(f"scheduler: {len(sched.job_specs())} job(s); Ctrl-C to stop", err=True)
        runtime.run_until_stopped(duration)


@click.group("jobs", invoke_without_command=True)
@click.option("--job", default=None, help="Only runs of this job.")
@click.option("--limit", default=30, show_default=True, help="How many runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def jobs_group(ctx: click.Context, job: str | None, limit: int, as_json: bool) -> None:
    """List recent job runs (start, end, outcome, counts); sub-commands run or show jobs."""
    if ctx.invoked_subcommand is not None:
        return
    from fleetcare.runtime import services
    from scheduler.jobs import list_runs

    with services(_settings(ctx)) as svc:
        runs = list_runs(svc.db, job=job, limit=limit)
    if as_json:
        click.echo(json.dumps(runs, default=str))
        return
    if not runs:
        click.echo("no job runs recorded yet")
        return
    click.echo(f"{'run':>6}  {'job':<20} {'started':<19} {'secs':>7}  {'outcome':<8} detail")
    for r in runs:
        detail = r["error"] or json.dumps(r["counts"], default=str)
        click.echo(f"{r['run_id']:>6}  {r['job']:<20} {str(r['started_at'])[:19]:<19} "
                   f"{(r['seconds'] or 0):>7.2f}  {r['outcome']:<8} {detail[:90]}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Run as if today were this date (planning jobs).")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def jobs_run(ctx: click.Context, name: str, today: Any, as_json: bool) -> None:
    """Run one job now, recorded like a scheduled run (trigger 'manual')."""
    from fleetcare.runtime import services
    from scheduler.jobs import JOBS, JobContext, run_job

    if name not in JOBS:
        raise click.BadParameter(f"unknown job; known: {', '.join(JOBS)}", param_hint="NAME")
    with services(_settings(ctx)) as svc:
        result = run_job(JobContext(svc.db, _scheduler_settings(),
                                    today.date() if today else None), name, trigger="manual")
    out = {"run_id": result.run_id, "job": name, "outcome": result.outcome,
           "counts": result.counts, "error": result.error, "seconds": round(result.seconds, 3)}
    click.echo(json.dumps(out, default=str) if as_json else
               f"{name}: {result.outcome} in {result.seconds:.2f} s "
               f"{result.error or json.dumps(result.counts, default=str)}")
    if result.outcome == "failed":
        ctx.exit(1)


@jobs_group.command("schedules")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def jobs_schedules(ctx: click.Context, as_json: bool) -> None:
    """Show the schedules stored in the database and each job's next run."""
    from fleetcare.runtime import services
    from scheduler.runtime import stored_schedules

    with services(_settings(ctx)) as svc:
        rows = stored_schedules(svc.db)
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no schedules stored yet (start `fleetcare scheduler` once)")
    for r in rows:
        click.echo(f"{r['job']:<20} next {str(r['next_run'])[:19]:<19}  {r['schedule']}")
