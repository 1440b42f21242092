-- Statements of tests/faults/faultkit.py.

-- name: meter_resets_machine_id
-- machine_id, ts, hours_before, hours_after of meter_resets.
SELECT machine_id, ts, hours_before, hours_after FROM meter_resets ORDER BY 1, 2;

-- name: dead_letters_topic
-- topic, reason, payload of dead_letters.
SELECT topic, reason, payload FROM dead_letters;
