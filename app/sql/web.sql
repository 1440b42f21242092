-- Statements of the status page (app/web.py). It is polled, so every read stays
-- cheap: exact counts only for master data, statistics for history.

-- name: count_machines
-- Machines (master data is small: an exact count).
SELECT count(*) FROM machines;

-- name: count_stations
-- Stations.
SELECT count(*) FROM stations;

-- name: has_timescaledb
-- Whether TimescaleDB is loaded (its approximate_row_count is then used).
SELECT 1 FROM pg_extension WHERE extname = 'timescaledb';

-- name: approx_rows_tsdb
-- A hypertable's rows from TimescaleDB's statistics.
SELECT approximate_row_count(%s::regclass);

-- name: approx_rows_pg
-- A table's rows (with its inheritance children) from the planner's statistics.
SELECT greatest(coalesce(sum(greatest(c.reltuples, 0)), 0), 0)::bigint
  FROM pg_class c
 WHERE c.oid = %s::regclass
    OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass);

-- name: newest_reading
-- The newest event time, served by the time index of each chunk (TimescaleDB) and bounded
-- to a recent window so plain tables scan at most a few days.
SELECT ts FROM telemetry WHERE ts > now() - interval '3 days' ORDER BY ts DESC LIMIT 1;

-- name: recent_jobs
-- The last ten job runs.
SELECT job, started_at, outcome FROM job_runs ORDER BY started_at DESC LIMIT 10;

-- name: recent_plans
-- The last ten plans.
SELECT plan_id, kind, status, window_start, window_end, summary
  FROM plans ORDER BY created_at DESC LIMIT 10;

-- name: ping
-- Reaching the database, no table read (/healthz).
SELECT 1;
