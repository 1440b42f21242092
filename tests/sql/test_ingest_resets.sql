-- Statements of tests/test_ingest_resets.py.

-- name: meter_resets_ts
-- ts, hours_before, hours_after of meter_resets where machine_id = %s.
SELECT ts, hours_before, hours_after FROM meter_resets WHERE machine_id = %s ORDER BY ts;

-- name: telemetry_hours_hours
-- hours of telemetry_hours where machine_id = %s.
SELECT hours FROM telemetry_hours WHERE machine_id = %s ORDER BY ts;

-- name: meter_resets_count
-- count(*) of meter_resets where machine_id <> %s.
SELECT count(*) FROM meter_resets WHERE machine_id <> %s;
