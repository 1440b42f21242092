-- Named statements of the ingest writer. Each block starts with `-- name: <name>`
-- and a one-line description.

-- name: create_staging
-- Per-connection staging tables, emptied at every commit (ON COMMIT DELETE ROWS
-- truncates in place, so they neither bloat nor churn the catalogue).
CREATE TEMP TABLE IF NOT EXISTS ingest_stage_telemetry
    (LIKE telemetry INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ingest_stage_faults
    (LIKE fault_codes INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ingest_stage_service
    (LIKE service_records INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: merge_telemetry
-- New readings only; a redelivered or re-uploaded (machine, seq, ts) is skipped.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, received_at, engine_hours, idle_hours,
                       fuel_used_l, lat, lon, coolant_temp_c, hydraulic_oil_temp_c,
                       engine_load_pct, hydraulic_pressure_bar)
SELECT machine_id, seq, ts, arrived_at, received_at, engine_hours, idle_hours, fuel_used_l,
       lat, lon, coolant_temp_c, hydraulic_oil_temp_c, engine_load_pct, hydraulic_pressure_bar
FROM ingest_stage_telemetry
ON CONFLICT DO NOTHING;

-- name: merge_faults
-- New fault codes only.
INSERT INTO fault_codes (machine_id, seq, ts, arrived_at, received_at, spn, fmi, oc, active)
SELECT machine_id, seq, ts, arrived_at, received_at, spn, fmi, oc, active
FROM ingest_stage_faults
ON CONFLICT DO NOTHING;

-- name: merge_service
-- New work orders only (service_records is keyed by (machine_id, seq)).
INSERT INTO service_records (machine_id, seq, ts, arrived_at, received_at, work_order, kind,
                             components, parts, downtime_h, cost_cny, engine_hours,
                             station_id, technician, source)
SELECT machine_id, seq, ts, arrived_at, received_at, work_order, kind, components, parts,
       downtime_h, cost_cny, engine_hours, station_id, technician, source
FROM ingest_stage_service
ON CONFLICT DO NOTHING;

-- name: reset_span
-- Per machine in the batch, its earliest and latest reading (lo, hi) and the stored
-- readings either side: the event-time span whose meter resets the new readings can
-- change. Each neighbour is one index probe on (machine_id, ts) (LIMIT 1), bounded by
-- the batch's own time range so that planning and probing touch only the chunks near
-- the batch: the previous reading is looked for from %(since)s on (reset_prev_older
-- looks further back for the few machines that have none there), the next one after the
-- batch's first reading %(first)s.
SELECT b.machine_id, b.lo, b.hi, p.ts AS prev, n.ts AS next
FROM (SELECT machine_id, min(ts) AS lo, max(ts) AS hi
      FROM ingest_stage_telemetry GROUP BY machine_id) b
LEFT JOIN LATERAL (SELECT p.ts FROM telemetry p
                   WHERE p.machine_id = b.machine_id AND p.ts < b.lo
                     AND p.ts >= %(since)s AND p.ts < %(last)s
                   ORDER BY p.ts DESC LIMIT 1) p ON true
LEFT JOIN LATERAL (SELECT n.ts FROM telemetry n
                   WHERE n.machine_id = b.machine_id AND n.ts > b.hi AND n.ts > %(first)s
                   ORDER BY n.ts LIMIT 1) n ON true;

-- name: reset_prev_older
-- The previous reading before %(since)s of machines that had none after it (ordered
-- probe, newest chunk first, stopping at the first reading found).
SELECT s.machine_id, p.ts
FROM unnest(%(machines)s::text[], %(lo)s::timestamptz[]) AS s(machine_id, lo)
CROSS JOIN LATERAL (SELECT p.ts FROM telemetry p
                    WHERE p.machine_id = s.machine_id AND p.ts < s.lo AND p.ts < %(since)s
                    ORDER BY p.ts DESC LIMIT 1) p;

-- name: reset_delete
-- Forget the resets recorded inside those spans (given as arrays, with their overall
-- bounds %(first)s..%(last)s); reset_insert finds them again.
DELETE FROM meter_resets m
USING unnest(%(machines)s::text[], %(lo)s::timestamptz[], %(hi)s::timestamptz[])
      AS s(machine_id, lo, hi)
WHERE m.machine_id = s.machine_id AND m.ts > s.lo AND m.ts <= s.hi
  AND m.ts > %(first)s AND m.ts <= %(last)s;

-- name: reset_insert
-- Every backwards step of the hour meter inside the spans, by event time. The readings
-- of each span are fetched per machine by index (OFFSET 0 keeps the planner from
-- flattening the lookup into a join that scans telemetry), and the overall bounds
-- %(first)s..%(last)s exclude every chunk outside the batch's spans when planning.
INSERT INTO meter_resets (machine_id, ts, hours_before, hours_after)
SELECT machine_id, ts, before, engine_hours
FROM (
    SELECT s.machine_id, t.ts, t.engine_hours, s.lo,
           lag(t.engine_hours) OVER (PARTITION BY s.machine_id ORDER BY t.ts, t.seq) AS before
    FROM unnest(%(machines)s::text[], %(lo)s::timestamptz[], %(hi)s::timestamptz[])
         AS s(machine_id, lo, hi)
    CROSS JOIN LATERAL (
        SELECT t.ts, t.seq, t.engine_hours FROM telemetry t
        WHERE t.machine_id = s.machine_id AND t.ts >= s.lo AND t.ts <= s.hi
          AND t.ts >= %(first)s AND t.ts <= %(last)s
        OFFSET 0) t
) steps
WHERE engine_hours < before AND ts > lo
ON CONFLICT (machine_id, ts) DO UPDATE
    SET hours_before = excluded.hours_before, hours_after = excluded.hours_after;

-- name: copy_text
-- Rows into a staging table by text COPY, so psycopg adapts arrays, jsonb and numeric by
-- value ({table}, {columns}).
COPY {table} ({columns}) FROM STDIN;

-- name: copy_binary
-- Rows into a staging table by binary COPY, for tables whose every column has a fixed type.
COPY {table} ({columns}) FROM STDIN (FORMAT BINARY);

-- name: reset_lock
-- Serialise the meter-reset recomputation (and the commit right after it) across ingest
-- processes.
SELECT pg_advisory_xact_lock(%s);

-- name: known_machines
-- Which of the given machine ids the master data knows.
SELECT machine_id FROM machines WHERE machine_id = ANY(%s);
