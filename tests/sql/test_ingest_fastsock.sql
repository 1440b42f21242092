-- Statements of tests/test_ingest_fastsock.py.

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;
