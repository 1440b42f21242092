-- Statements of scheduler/jobs.py: the ingest health job and the record of job runs.

-- name: ingest_health
-- Rows and dead letters of the last hour, seconds since the newest arrival, machines heard from in a day.
SELECT
  (SELECT count(*) FROM telemetry WHERE arrived_at > now() - interval '1 hour'),
  (SELECT count(*) FROM fault_codes WHERE arrived_at > now() - interval '1 hour'),
  (SELECT count(*) FROM dead_letters WHERE received_at > now() - interval '1 hour'),
  (SELECT extract(epoch FROM now() - max(arrived_at)) FROM telemetry),
  (SELECT count(DISTINCT machine_id) FROM telemetry
    WHERE arrived_at > now() - interval '1 day');

-- name: start_run
-- A job run begins; returns its id.
INSERT INTO job_runs (job, outcome, host, trigger) VALUES (%s, 'running', %s, %s)
RETURNING run_id;

-- name: finish_run
-- A job run ends with its outcome, counts and error.
UPDATE job_runs SET finished_at = now(), outcome = %s, counts = %s, error = %s
 WHERE run_id = %s;

-- name: running_jobs
-- Jobs with a run still marked running.
SELECT DISTINCT job FROM job_runs WHERE outcome = 'running' ORDER BY job;

-- name: close_interrupted
-- A job's runs left running by a dead process become failed, with a note.
UPDATE job_runs SET outcome = 'failed', finished_at = now(), error = %s
 WHERE job = %s AND outcome = 'running';

-- name: list_runs
-- The latest runs (of one job or all), newest first, with their duration.
SELECT run_id, job, trigger, started_at, finished_at, outcome, counts, error, host,
       extract(epoch FROM coalesce(finished_at, now()) - started_at) AS seconds
  FROM job_runs
 WHERE %(job)s::text IS NULL OR job = %(job)s
 ORDER BY started_at DESC, run_id DESC LIMIT %(limit)s;
