-- Statements of tests/test_db_roles.py: what each role tries, allowed or refused.

-- name: create_login
-- A login user in a group role ({user}, {group}).
CREATE ROLE {user} LOGIN IN ROLE {group};

-- name: end_user_sessions
-- End a login user's sessions before dropping it.
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s;

-- name: drop_login
-- Drop a login user ({user}).
DROP ROLE IF EXISTS {user};

-- name: create_table
-- Owner only: a new table.
CREATE TABLE evil (x int);

-- name: add_column
-- Owner only: a changed table.
ALTER TABLE telemetry ADD COLUMN evil int;

-- name: drop_table
-- Owner only: a dropped table.
DROP TABLE plans;

-- name: truncate_table
-- Owner only: an emptied table.
TRUNCATE telemetry;

-- name: create_index
-- Owner only: a new index.
CREATE INDEX evil ON telemetry (lat);

-- name: disable_triggers
-- Owner only: foreign keys switched off.
ALTER TABLE machines DISABLE TRIGGER ALL;

-- name: rewrite_telemetry
-- Raw readings are never changed.
UPDATE telemetry SET engine_hours = 0;

-- name: delete_telemetry
-- Raw readings are never deleted.
DELETE FROM telemetry;

-- name: delete_dead_letters
-- Dead letters are never deleted.
DELETE FROM dead_letters;

-- name: insert_machine
-- Master data is not ingest's to write.
INSERT INTO machines (machine_id, model, product_line, region_id, delivery_date)
VALUES ('X', 'm', 'p', 't-east', '2024-01-01');

-- name: read_risk_scores
-- Scores are not ingest's to read.
SELECT * FROM risk_scores;

-- name: read_plans
-- Plans are not ingest's to read.
SELECT * FROM plans;

-- name: review_plan
-- Reviews are not ingest's to write.
INSERT INTO plan_reviews (plan_id, actor, action) VALUES (1, 'x', 'y');

-- name: count_rows
-- Rows in a table ({table}): the web role reads these.
SELECT count(*) FROM {table};

-- name: propose_plan
-- The web role records a plan.
INSERT INTO plans (kind, created_by, window_start, window_end)
VALUES ('visits', 'web', '2025-01-06', '2025-01-12') RETURNING plan_id;

-- name: approve_plan
-- The web role changes a plan's status.
UPDATE plans SET status = 'approved' WHERE plan_id = %s;

-- name: insert_telemetry
-- Raw readings are not the web role's to write.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, engine_hours)
VALUES ('X', 1, now(), now(), 1);

-- name: delete_plans
-- Plans are not deleted by the web role.
DELETE FROM plans;

-- name: rename_model
-- Master data is not the web role's or the analysts' to change.
UPDATE machines SET model = 'x';

-- name: public_tables
-- The tables and views of the public schema.
SELECT table_name FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type IN ('BASE TABLE', 'VIEW');

-- name: first_row
-- One row of a table ({table}).
SELECT * FROM {table} LIMIT 1;

-- name: insert_region
-- Master data is not the analysts' to write.
INSERT INTO regions (region_id, name, market, climate, lat, lon)
VALUES ('x', 'x', 'x', 'x', 0, 0);

-- name: delete_job_runs
-- Job history is not the analysts' to delete.
DELETE FROM job_runs;

-- name: later_stage_table
-- A table a later migration adds, with one row.
CREATE TABLE later_stage (x int);
INSERT INTO later_stage VALUES (1);

-- name: read_later_stage
-- The later migration's row.
SELECT x FROM later_stage;

-- name: revoke_ingest_insert
-- A deployment error: ingest may not insert readings (this database only).
REVOKE INSERT ON telemetry FROM fleetcare_ingest;

-- name: count_dead_letters
-- Dead letters stored.
SELECT count(*) FROM dead_letters;
