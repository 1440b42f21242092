"""Commands of the scheduler stage: `fleetcare scheduler`, `fleetcare jobs`, `fleetcare plan`."""

from __future__ import annotations

import json
from typing import Any

import click

from fleetcare.clikit import settings_of
from fleetcare.errors import SettingsError


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
    with services(settings_of(ctx)) as svc:
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

    with services(settings_of(ctx)) as svc:
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
    with services(settings_of(ctx)) as svc:
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

    with services(settings_of(ctx)) as svc:
        rows = stored_schedules(svc.db)
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no schedules stored yet (start `fleetcare scheduler` once)")
    for r in rows:
        click.echo(f"{r['job']:<20} next {str(r['next_run'])[:19]:<19}  {r['schedule']}")


# -- plans -----------------------------------------------------------------------------

_DATE = click.DateTime(["%Y-%m-%d"])


def _actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@click.group("plan")
def plan_group() -> None:
    """Propose 保健 visit plans and parts pre-stock plans (stored as 'proposed')."""


@plan_group.command("visits")
@click.option("--station", default=None, help="Only this station.")
@click.option("--window-start", type=_DATE, default=None, help="First day (default today).")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1, 12))
@click.option("--method", type=click.Choice(["mip", "greedy"]), default="mip", show_default=True)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes solving stations in parallel.")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None,
              help="Also write CSV and XLSX per station into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
@click.pass_context
def plan_visits_cmd(ctx: click.Context, station: str | None, window_start: Any, weeks: int,
                    method: str, workers: int, export_dir: str | None, as_json: bool) -> None:
    """Choose which machines each station visits on which day, with reasons and parts."""
    from datetime import date

    from fleetcare.db import connect
    from fleetcare.runtime import services
    from scheduler import store
    from scheduler.service import propose_visit_plan

    start = window_start.date() if window_start else date.today()
    with services(settings_of(ctx)) as svc:
        try:
            result = propose_visit_plan(svc.db, window_start=start, weeks=weeks,
                                        created_by=_actor(), station=station, method=method,
                                        workers=workers)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--station") from None
        with connect(svc.db) as conn:
            rows = store.read_visits(conn, result["plan_id"], station)
        if export_dir:
            from scheduler.export import with_visit_details

            with connect(svc.db) as conn:
                rows = with_visit_details(conn, rows)
    _emit_plan(result, rows, "visits", export_dir, as_json)


@plan_group.command("parts")
@click.option("--station", default=None, help="Only this station.")
@click.option("--today", type=_DATE, default=None, help="Plan as of this date (default today).")
@click.option("--lookahead-days", type=int, default=None,
              help="Only stations whose region's peak starts within this many days.")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None,
              help="Also write CSV and XLSX per station into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
@click.pass_context
def plan_parts_cmd(ctx: click.Context, station: str | None, today: Any,
                   lookahead_days: int | None, export_dir: str | None, as_json: bool) -> None:
    """Wear parts each station must hold before its region's peak, and when to order."""
    from datetime import date

    from fleetcare.db import connect
    from fleetcare.runtime import services
    from scheduler import store
    from scheduler.service import propose_parts_plan

    day = today.date() if today else date.today()
    with services(settings_of(ctx)) as svc:
        try:
            result = propose_parts_plan(svc.db, today=day, lookahead_days=lookahead_days,
                                        created_by=_actor(), station=station)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--station") from None
        rows: list[dict[str, Any]] = []
        if result["plan_id"] is not None:
            with connect(svc.db) as conn:
                rows = store.read_parts(conn, result["plan_id"], station)
    _emit_plan(result, rows, "parts", export_dir, as_json)


@plan_group.command("show")
@click.argument("plan_id", type=int)
@click.option("--station", default=None, help="Only this station.")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plan_show_cmd(ctx: click.Context, plan_id: int, station: str | None,
                  export_dir: str | None, as_json: bool) -> None:
    """Show (or export) a stored plan."""
    from fleetcare.db import connect
    from fleetcare.runtime import services
    from scheduler import store

    with services(settings_of(ctx)) as svc, connect(svc.db) as conn:
        header = store.read_plan(conn, plan_id)
        if header is None:
            raise click.BadParameter(f"no plan {plan_id}", param_hint="PLAN_ID")
        kind = header["kind"]
        rows = (store.read_visits if kind == "visits" else store.read_parts)(conn, plan_id,
                                                                            station)
        if export_dir and kind == "visits":
            from scheduler.export import with_visit_details

            rows = with_visit_details(conn, rows)
    _emit_plan({"plan_id": plan_id, "status": header["status"], **header["summary"]}, rows,
               kind, export_dir, as_json)


@plan_group.command("review")
@click.argument("plan_id", type=int)
@click.argument("action", type=click.Choice(["approve", "change", "reject", "done"]))
@click.option("--actor", default=None, help="Who decides (default: the login name).")
@click.option("--comment", default=None)
@click.pass_context
def plan_review_cmd(ctx: click.Context, plan_id: int, action: str, actor: str | None,
                    comment: str | None) -> None:
    """Approve, mark changed, reject, or mark done a plan; every decision is recorded.

    A plan goes proposed -> approved | changed | rejected, and an approved or changed
    plan -> done. A contradictory action (rejecting an approved plan) is refused.
    """
    from fleetcare.db import connect
    from fleetcare.errors import TerminalError
    from fleetcare.runtime import services
    from scheduler import store

    with services(settings_of(ctx)) as svc, connect(svc.db) as conn:
        try:
            status = store.review_plan(conn, plan_id, action=action, actor=actor or _actor(),
                                       comment=comment)
        except KeyError:
            raise click.BadParameter(f"no plan {plan_id}", param_hint="PLAN_ID") from None
        except store.ReviewRefused as exc:
            raise TerminalError(str(exc)) from None
    click.echo(f"plan {plan_id}: {status}")


@plan_group.command("list")
@click.option("--kind", type=click.Choice(["visits", "parts"]), default=None)
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def plan_list_cmd(ctx: click.Context, kind: str | None, limit: int, as_json: bool) -> None:
    """List stored plans, newest first: status, window, size and latest review."""
    from fleetcare.db import connect
    from fleetcare.runtime import services
    from scheduler import store

    with services(settings_of(ctx)) as svc, connect(svc.db) as conn:
        plans = store.list_plans(conn, limit=limit, kind=kind)
    if as_json:
        click.echo(json.dumps(plans, default=str))
        return
    if not plans:
        click.echo("no plans yet (`fleetcare plan visits` or `fleetcare plan parts` make one)")
        return
    click.echo(f"{'plan':>5}  {'kind':<6} {'status':<9} {'window':<23} {'size':>5}  "
               f"{'created':<16} {'by':<10} last review")
    for p in plans:
        size = "" if p["size"] is None else str(p["size"])
        review = (f"{p['reviewed_by']} {str(p['reviewed_at'])[:16]}" if p["reviewed_by"]
                  else "-")
        click.echo(f"{p['plan_id']:>5}  {p['kind']:<6} {p['status']:<9} "
                   f"{p['window_start']} – {p['window_end']} {size:>5}  "
                   f"{str(p['created_at'])[:16]:<16} {p['created_by'][:10]:<10} {review}")
    click.echo("size: visits of a visit plan, order lines of a parts plan")


def _emit_plan(result: dict[str, Any], rows: list[dict[str, Any]], kind: str,
               export_dir: str | None, as_json: bool) -> None:
    from pathlib import Path

    from scheduler.export import PARTS_COLUMNS, VISIT_COLUMNS, export_rows

    written: list[str] = []
    if export_dir and rows:
        stem = f"{kind}_{result['plan_id']}"
        columns = VISIT_COLUMNS if kind == "visits" else PARTS_COLUMNS
        summary = {k: v for k, v in result.items() if k not in ("plan_id", "status")}
        written = [str(p) for p in export_rows(rows, columns, Path(export_dir), stem,
                                               summary=summary)]
    if as_json:
        click.echo(json.dumps({**result, kind: rows, "exported": written}, default=str,
                              ensure_ascii=False))
        return
    if result.get("plan_id") is None:
        click.echo("no plan: no station has a peak season within the look-ahead")
        return
    click.echo(f"plan {result['plan_id']} ({kind}, {result.get('status', 'proposed')})")
    if kind == "visits" and not rows:
        click.echo("  no visits planned: " + (
            "the database has no service stations; load master data first "
            "(`fleetcare simulate`, or import machines and stations)"
            if not result.get("stations") else
            "no machine was worth a visit in the window (are there scores? "
            "`fleetcare score`)"))
    for key, value in result.items():
        if key not in ("plan_id", "status") and not isinstance(value, dict | list):
            click.echo(f"  {key:<24} {value}")
    if kind == "visits":
        _visit_table(rows)
    else:
        _parts_table(rows)
    for path in written:
        click.echo(f"  wrote {path}")


def _visit_table(rows: list[dict[str, Any]]) -> None:
    from collections import defaultdict

    per: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for r in rows:
        acc = per[r["station_id"]]
        acc[0] += 1
        acc[1] += r["value_cny"]
        acc[2] += r["avoided_cny"]
    w = max([len("station"), *(len(k) for k in per)])
    click.echo(f"  {'station':<{w}} {'visits':>6} {'value CNY':>14} {'avoided CNY':>14}")
    for sid, (n, value, avoided) in sorted(per.items()):
        click.echo(f"  {sid:<{w}} {int(n):>6} {value:>14,.0f} {avoided:>14,.0f}")


def _parts_table(rows: list[dict[str, Any]]) -> None:
    from collections import defaultdict

    per: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    for r in rows:
        acc = per[r["station_id"]]
        acc[0] += 1 if r["order_qty"] else 0
        acc[1] += r["order_value_cny"]
        acc[2] += 1 if r["late"] and r["order_qty"] else 0
    w = max([len("station"), *(len(k) for k in per)])
    click.echo(f"  {'station':<{w}} {'orders':>6} {'order value CNY':>16} {'late':>5}")
    for sid, (n, value, late) in sorted(per.items()):
        click.echo(f"  {sid:<{w}} {int(n):>6} {value:>16,.0f} {int(late):>5}")
