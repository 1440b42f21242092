-- Statements of tests/test_ingest_faults.py.

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;

-- name: telemetry_count_distinct_machine_id
-- count(DISTINCT (machine_id, seq, ts)) of telemetry.
SELECT count(DISTINCT (machine_id, seq, ts)) FROM telemetry;

-- name: pg_stat_activity_count_pg_terminate_backend_pid
-- count(pg_terminate_backend(pid)) of pg_stat_activity where datname = current_database()...
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname =
    current_database() AND pid <> pg_backend_pid() AND application_name = 'fleetcare';

-- name: telemetry_seq
-- seq of telemetry where machine_id = %s.
SELECT seq FROM telemetry WHERE machine_id = %s ORDER BY ts;

-- name: telemetry_hours_hours
-- hours of telemetry_hours where machine_id = %s.
SELECT hours FROM telemetry_hours WHERE machine_id = %s ORDER BY ts;

-- name: count_meter_resets
-- Rows in meter_resets.
SELECT count(*) FROM meter_resets;

-- name: dead_letters_source
-- source, topic, reason, detail, payload, payload_bytes of dead_letters.
SELECT source, topic, reason, detail, payload, payload_bytes FROM dead_letters;

-- name: truncate
-- Empty the tables.
TRUNCATE telemetry, fault_codes, service_records, dead_letters, meter_resets;

-- name: meter_resets_machine_id
-- machine_id, ts, hours_before, hours_after of meter_resets.
SELECT machine_id, ts, hours_before, hours_after FROM meter_resets ORDER BY 1, 2;
