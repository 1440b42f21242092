-- Statements of tests/test_ingest_history_bench.py.

-- name: telemetry_count
-- count(*), count(DISTINCT machine_id), bool_and(ts < %s), max(seq) of telemetry.
SELECT count(*), count(DISTINCT machine_id), bool_and(ts < %s), max(seq) FROM telemetry;

-- name: count_meter_resets
-- Rows in meter_resets.
SELECT count(*) FROM meter_resets;

-- name: meter_steps_back
-- Readings whose meter is below the machine's previous reading (none may be).
SELECT count(*) FROM (SELECT engine_hours < lag(engine_hours) OVER (PARTITION BY machine_id
    ORDER BY ts) AS back FROM telemetry) s WHERE back;
