-- Statements of tests/faults/test_faults_hostile.py.

-- name: dead_letters_reason
-- reason, detail, length(payload), payload_bytes of dead_letters.
SELECT reason, detail, length(payload), payload_bytes FROM dead_letters ORDER BY
    payload_bytes;

-- name: service_records_technician
-- technician, work_order, station_id, components[1], parts->0->>'part' of service_records.
SELECT technician, work_order, station_id, components[1], parts->0->>'part' FROM
    service_records ORDER BY seq;

-- name: count_machines
-- Rows in machines.
SELECT count(*) FROM machines;

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;
