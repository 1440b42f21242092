"""The scheduler runtime: APScheduler 3 on a PostgreSQL job store, run only by the leader.

Every `fleetcare scheduler` process starts its APScheduler paused and competes for the
leader lock; the one that gets it writes the configured schedules into the shared store
and resumes. The others stay paused and take over within `leader_poll_s` when the
leader's connection goes away. Stored jobs keep their next run time across restarts,
and coalesce=True turns any number of runs missed while down into one catch-up run.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import date, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.config import SchedulerSettings
from scheduler.jobs import JobContext, bind_context, close_interrupted_runs
from scheduler.jobstore import PostgresJobStore
from scheduler.leader import LeaderLock

log = logging.getLogger("fleetcare.scheduler")

JOB_FUNC = "scheduler.jobs:run_scheduled"
RERUN_FUNC = "scheduler.jobs:run_rerun"


class SchedulerRuntime:
    """One scheduler process: a paused APScheduler that runs jobs only while leader."""

    def __init__(self, database_url: str, settings: SchedulerSettings, *,
                 today: date | None = None) -> None:
        self.settings = settings
        self.context = JobContext(database_url, settings, today)
        self.leader = LeaderLock(database_url)
        self.scheduler = BackgroundScheduler(
            # Reruns of interrupted jobs are one-offs of this leadership: not stored.
            jobstores={"default": PostgresJobStore(database_url), "reruns": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(settings.max_workers)},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": settings.misfire_grace_s,
                "max_instances": 1,
            },
            timezone=settings.timezone,
        )
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self.is_leader = False

    def __repr__(self) -> str:
        return f"<SchedulerRuntime leader={self.is_leader} state={self.scheduler.state}>"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start paused and begin competing for leadership (returns at once)."""
        bind_context(self.context)
        self.scheduler.start(paused=True)
        self._monitor = threading.Thread(target=self._watch_leadership,
                                         name="fleetcare-leader", daemon=True)
        self._monitor.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling, let running jobs finish (wait=True), release leadership."""
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join()
        if self.scheduler.running:
            # Pause, then wait out a processing round already in progress (it holds the
            # store lock): otherwise APScheduler may submit a job to an executor that is
            # shutting down, and that run is lost with a "cannot schedule" error.
            self.scheduler.pause()
            with self.scheduler._jobstores_lock:
                pass
            self.scheduler.shutdown(wait=wait)
        self.leader.release()
        self.is_leader = False
        bind_context(None)

    def run_until_stopped(self, duration_s: float | None = None) -> None:
        """Run in the foreground until SIGINT/SIGTERM (or `duration_s` seconds)."""
        stop = threading.Event()

        def _on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %s: shutting down", signal.Signals(signum).name)
            stop.set()

        previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            stop.wait(duration_s)
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- leadership ----------------------------------------------------------------------

    def _watch_leadership(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.is_leader:
                    if self.leader.try_acquire():
                        self._become_leader()
                elif not self.leader.still_held():
                    self._step_down()
            except Exception:
                # Keep competing: a database hiccup must not end the monitor thread.
                log.exception("leader check failed")
                if self.is_leader:
                    self._step_down()
            self._stop.wait(self.settings.leader_poll_s)

    def _become_leader(self) -> None:
        log.info("this process is the scheduler leader")
        self.sync_jobs()
        self.rerun_interrupted()
        self.is_leader = True
        self.scheduler.resume()

    def _step_down(self) -> None:
        log.warning("lost scheduler leadership: pausing")
        self.scheduler.pause()
        self.is_leader = False
        self.leader.release()

    # -- schedules -----------------------------------------------------------------------

    def rerun_interrupted(self) -> list[str]:
        """Queue one rerun of each enabled job a dead process left mid-run.

        APScheduler computes a job's next run time before running it, so a leader killed
        mid-job would otherwise never redo that run. Runs as soon as the scheduler resumes.
        """
        enabled = {spec.name for spec in self.settings.job_specs()}
        names = [n for n in close_interrupted_runs(self.context.database_url) if n in enabled]
        for name in names:
            self.scheduler.add_job(RERUN_FUNC, trigger="date", args=[name], id=f"{name}.rerun",
                                   name=f"{name} (rerun)", jobstore="reruns",
                                   replace_existing=True, misfire_grace_time=None)
        return names

    def sync_jobs(self) -> dict[str, list[str]]:
        """Make the stored jobs match the settings, keeping unchanged jobs' next run time.

        Re-adding with replace_existing would recompute every next run time and so lose
        runs missed while down; only jobs whose schedule changed are rescheduled.
        """
        wanted = {spec.name: spec for spec in self.settings.job_specs()}
        stored = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        changes: dict[str, list[str]] = {"added": [], "rescheduled": [], "removed": []}
        for name, spec in wanted.items():
            trigger = spec.trigger(self.settings.timezone)
            job = stored.get(name)
            if job is None:
                self.scheduler.add_job(JOB_FUNC, trigger=trigger, args=[name], id=name,
                                       name=name, replace_existing=True)
                changes["added"].append(name)
            elif _trigger_key(job.trigger) != _trigger_key(trigger):
                self.scheduler.reschedule_job(name, trigger=trigger)
                changes["rescheduled"].append(name)
            if job is not None and (job.misfire_grace_time != self.settings.misfire_grace_s
                                    or not job.coalesce):
                self.scheduler.modify_job(name, misfire_grace_time=self.settings.misfire_grace_s,
                                          coalesce=True)
        for name in set(stored) - set(wanted):
            self.scheduler.remove_job(name)
            changes["removed"].append(name)
        if any(changes.values()):
            log.info("schedules synced: %s", {k: v for k, v in changes.items() if v})
        return changes


def _trigger_key(trigger: Any) -> tuple[str, str]:
    return str(trigger), str(getattr(trigger, "timezone", ""))


def stored_schedules(database_url: str) -> list[dict[str, Any]]:
    """The jobs in the shared store with their triggers and next run times."""
    store = PostgresJobStore(database_url)
    # A store read outside a scheduler: reconstituted jobs need no scheduler for this.
    try:
        jobs = store.get_all_jobs()
        out = []
        for job in jobs:
            nxt: datetime | None = job.next_run_time
            out.append({"job": job.id, "schedule": str(job.trigger),
                        "next_run": nxt.isoformat() if nxt else None,
                        "coalesce": job.coalesce, "misfire_grace_s": job.misfire_grace_time})
        return out
    finally:
        store.shutdown()
