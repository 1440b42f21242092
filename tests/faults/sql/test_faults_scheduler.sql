-- Statements of tests/faults/test_faults_scheduler.py.

-- name: job_runs_trigger
-- trigger, outcome, error of job_runs where job = 'features_daily'.
SELECT trigger, outcome, error FROM job_runs WHERE job = 'features_daily' ORDER BY run_id;

-- name: features_daily_machine_id
-- machine_id, day, count(*) of features_daily.
SELECT machine_id, day, count(*) FROM features_daily GROUP BY 1, 2 ORDER BY 1, 2;
