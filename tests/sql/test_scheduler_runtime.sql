-- Statements of tests/test_scheduler_runtime.py.

-- name: job_runs_started_at
-- started_at, host, outcome of job_runs where job = %s.
SELECT started_at, host, outcome FROM job_runs WHERE job = %s ORDER BY started_at;

-- name: update_scheduler_jobs
-- Change scheduler_jobs rows.
UPDATE scheduler_jobs SET next_run_time = %s WHERE id = 'ingest_health';

-- name: job_runs_job
-- job, outcome, trigger, finished_at IS NOT NULL of job_runs.
SELECT job, outcome, trigger, finished_at IS NOT NULL FROM job_runs ORDER BY run_id;
