"""An APScheduler 3 job store on PostgreSQL through psycopg (no SQLAlchemy needed).

Same table shape and pickling as APScheduler's own SQLAlchemyJobStore, so behaviour
(ordering, paused jobs last, unrestorable jobs dropped) matches the upstream store.
The table is created by migration 0400, not here, so the schema has one owner.
"""

from __future__ import annotations

import pickle
import threading
from datetime import datetime
from typing import Any

import psycopg
from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from psycopg import sql

from fleetcare.queries import load

_Q = load("scheduler", "jobstore.sql")


class PostgresJobStore(BaseJobStore):
    """Jobs in the ``scheduler_jobs`` table; one autocommit connection, reopened if lost."""

    def __init__(self, url: str, pickle_protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        super().__init__()
        self.url = url
        self.pickle_protocol = pickle_protocol
        self._conn: psycopg.Connection | None = None
        # APScheduler calls the store from its own thread and from callers' threads.
        self._lock = threading.RLock()

    # -- connection ------------------------------------------------------------------

    def _execute(self, query: sql.SQL, params: tuple[Any, ...] = ()) -> psycopg.Cursor:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(
                        self.url, autocommit=True, application_name="fleetcare-scheduler"
                    )
                try:
                    return self._conn.execute(query, params)
                except psycopg.OperationalError:
                    # A dropped connection (server restart): reconnect once, then give up and
                    # let APScheduler retry after jobstore_retry_interval.
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def shutdown(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- BaseJobStore ----------------------------------------------------------------

    def lookup_job(self, job_id: str) -> Job | None:
        row = self._execute(_Q.lookup_job, (job_id,)).fetchone()
        return self._reconstitute_job(row[0]) if row else None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return self._get_jobs(_Q.due_jobs, (datetime_to_utc_timestamp(now),))

    def get_next_run_time(self) -> datetime | None:
        row = self._execute(_Q.next_run_time).fetchone()
        return utc_timestamp_to_datetime(row[0]) if row else None

    def get_all_jobs(self) -> list[Job]:
        jobs = self._get_jobs(_Q.all_jobs)
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def add_job(self, job: Job) -> None:
        try:
            self._execute(
                _Q.add_job,
                (job.id, datetime_to_utc_timestamp(job.next_run_time), self._dump(job)),
            )
        except psycopg.errors.UniqueViolation:
            raise ConflictingIdError(job.id) from None

    def update_job(self, job: Job) -> None:
        cur = self._execute(
            _Q.update_job,
            (datetime_to_utc_timestamp(job.next_run_time), self._dump(job), job.id),
        )
        if cur.rowcount == 0:
            raise JobLookupError(job.id)

    def remove_job(self, job_id: str) -> None:
        cur = self._execute(_Q.remove_job, (job_id,))
        if cur.rowcount == 0:
            raise JobLookupError(job_id)

    def remove_all_jobs(self) -> None:
        self._execute(_Q.remove_all_jobs)

    # -- helpers ---------------------------------------------------------------------

    def _dump(self, job: Job) -> bytes:
        return pickle.dumps(job.__getstate__(), self.pickle_protocol)

    def _reconstitute_job(self, job_state: bytes) -> Job:
        state = pickle.loads(job_state)
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _get_jobs(self, query: sql.SQL, params: tuple[Any, ...] = ()) -> list[Job]:
        rows = self._execute(query, params).fetchall()
        jobs: list[Job] = []
        failed: list[str] = []
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute_job(state))
            except Exception:
                # Same policy as APScheduler's stores: a job whose function moved away
                # cannot run; drop it loudly rather than fail every wakeup.
                self._logger.exception('Unable to restore job "%s" -- removing it', job_id)
                failed.append(job_id)
        if failed:
            self._execute(_Q.remove_jobs, (failed,))
        return jobs

    def __repr__(self) -> str:
        return f"<PostgresJobStore table=scheduler_jobs conn={'open' if self._conn else 'closed'}>"
