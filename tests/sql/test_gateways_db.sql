-- Statements of tests/test_gateways_db.py.

-- name: machines_product_line
-- product_line, region_id, station_id of machines where machine_id = 'M000001'.
SELECT product_line, region_id, station_id FROM machines WHERE machine_id = 'M000001';

-- name: truth_machine_days_count
-- count(*), count(DISTINCT day) of truth_machine_days.
SELECT count(*), count(DISTINCT day) FROM truth.machine_days;

-- name: count_truth_failures
-- Rows in truth.failures.
SELECT count(*) FROM truth.failures;

-- name: truth_machine_days_array_length_health
-- array_length(health, 1) of truth_machine_days.
SELECT array_length(health, 1) FROM truth.machine_days LIMIT 1;

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;

-- name: count_truth_machine_days
-- Rows in truth.machine_days.
SELECT count(*) FROM truth.machine_days;

-- name: count_rows
-- Rows in a table ({table}).
SELECT count(*) FROM {table};
