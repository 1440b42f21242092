-- Statements of tests/test_plan_audit.py.

-- name: delete_telemetry
-- Delete telemetry rows.
DELETE FROM telemetry WHERE machine_id = %s AND ts > %s;

-- name: analyze
-- ANALYZE
ANALYZE;

-- name: telemetry_count
-- count(*) of telemetry where engine_hours < 0.
SELECT count(*) FROM telemetry WHERE engine_hours < 0;

-- name: telemetry_max_ts
-- max(ts) of telemetry where machine_id = 'B000001' AND ts > %s.
SELECT max(ts) FROM telemetry WHERE machine_id = 'B000001' AND ts > %s;
