-- Statements of gateways/truth.py: the simulator writing its truth (schema: gateways/migrations).

-- name: add_component
-- The components in array order (1-based), once.
INSERT INTO truth.components VALUES (%s, %s) ON CONFLICT DO NOTHING;

-- name: add_wear_part
-- The wear parts in array order (1-based), once.
INSERT INTO truth.wear_parts VALUES (%s, %s) ON CONFLICT DO NOTHING;

-- name: clear_machine_days
-- A re-run window's daily state goes first (machines, [start, end) days).
DELETE FROM truth.machine_days WHERE machine_id = ANY(%s) AND day >= %s AND day < %s;

-- name: clear_failures
-- A re-run window's failures go first (machines, [lo, hi) times).
DELETE FROM truth.failures WHERE machine_id = ANY(%s) AND ts >= %s AND ts < %s;

-- name: clear_by_day
-- A re-run window's rows of a day-keyed table ({table}: visits or meter_resets).
DELETE FROM {table} WHERE machine_id = ANY(%s) AND day >= %s AND day < %s;

-- name: add_run
-- One row per simulator run: seed, size, window and parameters.
INSERT INTO truth.runs (seed, machines, start_day, days, params) VALUES (%s, %s, %s, %s, %s);

-- name: copy_machine_days
-- A day's hidden state of every machine, as text COPY.
COPY truth.machine_days FROM STDIN;

-- name: copy_failures
-- A day's failed components.
COPY truth.failures FROM STDIN;

-- name: add_visit
-- A service visit with what it found, serviced and fitted.
INSERT INTO truth.visits VALUES (%s, %s, %s, %s, %s, %s, %s, %s);

-- name: add_meter_reset
-- A replaced hour meter and its reading before.
INSERT INTO truth.meter_resets VALUES (%s, %s, %s) ON CONFLICT DO NOTHING;
