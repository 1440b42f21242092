-- Statements of scheduler/jobstore.py: APScheduler's jobs in scheduler_jobs.

-- name: lookup_job
-- One job's pickled state.
SELECT job_state FROM scheduler_jobs WHERE id = %s;

-- name: due_jobs
-- Jobs due by a UTC timestamp, soonest first.
SELECT id, job_state FROM scheduler_jobs WHERE next_run_time <= %s ORDER BY next_run_time;

-- name: all_jobs
-- Every job, soonest first (paused jobs, without a next run, last).
SELECT id, job_state FROM scheduler_jobs ORDER BY next_run_time;

-- name: next_run_time
-- The soonest next run of any job.
SELECT next_run_time FROM scheduler_jobs WHERE next_run_time IS NOT NULL
 ORDER BY next_run_time LIMIT 1;

-- name: add_job
-- A new job.
INSERT INTO scheduler_jobs (id, next_run_time, job_state) VALUES (%s, %s, %s);

-- name: update_job
-- A job's next run and state.
UPDATE scheduler_jobs SET next_run_time = %s, job_state = %s WHERE id = %s;

-- name: remove_job
-- One job.
DELETE FROM scheduler_jobs WHERE id = %s;

-- name: remove_all_jobs
-- Every job.
DELETE FROM scheduler_jobs;

-- name: remove_jobs
-- Jobs that could not be restored.
DELETE FROM scheduler_jobs WHERE id = ANY(%s);
