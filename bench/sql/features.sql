-- Statements of `fleetcare bench features` (bench/features.py).

-- name: vacuum
-- Fresh statistics and visibility maps after generating the benchmark's data.
VACUUM ANALYZE;

-- name: count_telemetry
-- Telemetry rows (also timed as a full scan).
SELECT count(*) FROM telemetry;

-- name: count_features
-- Feature rows.
SELECT count(*) FROM features_daily;
