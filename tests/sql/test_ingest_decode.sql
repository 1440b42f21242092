-- Statements of tests/test_ingest_decode.py.

-- name: dead_letters_reason
-- reason of dead_letters.
SELECT reason FROM dead_letters;

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;

-- name: count_fault_codes
-- Rows in fault_codes.
SELECT count(*) FROM fault_codes;

-- name: count_service_records
-- Rows in service_records.
SELECT count(*) FROM service_records;

-- name: dead_letters_payload_bytes
-- payload_bytes, length(payload), detail of dead_letters.
SELECT payload_bytes, length(payload), detail FROM dead_letters;

-- name: dead_letters_detail
-- detail, payload of dead_letters where reason = %s.
SELECT detail, payload FROM dead_letters WHERE reason = %s;

-- name: count_dead_letters
-- Rows in dead_letters.
SELECT count(*) FROM dead_letters;
