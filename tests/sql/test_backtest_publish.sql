-- Statements of tests/test_backtest_publish.py.

-- name: meter_resets_machine_id
-- machine_id, ts, hours_before, hours_after of meter_resets.
SELECT machine_id, ts, hours_before, hours_after FROM meter_resets ORDER BY 1, 2;

-- name: dead_letters_source
-- source, topic, reason, payload of dead_letters.
SELECT source, topic, reason, payload FROM dead_letters;

-- name: truncate
-- Empty the tables.
TRUNCATE telemetry, fault_codes, service_records, dead_letters, meter_resets;
