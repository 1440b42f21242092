-- Daily rollups of raw telemetry and fault codes, keyed by (machine, event day, known day).
-- Parameters: %(tz)s the fleet zone; %(since)s the received_at watermark (incremental);
-- %(coolant_hot)s / %(hyd_hot)s the temperature thresholds (features/rollup.py).
-- A cell is always recomputed whole from raw rows, never adjusted, so refreshing twice or
-- over an overlap gives the same cells.

-- name: changed_days
-- Machine-days whose telemetry cells must be recomputed: days with rows received since
-- the watermark, and every later day of a machine whose meter resets changed since then
-- (a reset shifts the monotonic hours of all later readings).
CREATE TEMP TABLE feat_changed_days ON COMMIT DROP AS
SELECT machine_id, day,
       (day::timestamp AT TIME ZONE %(tz)s) AS lo,
       ((day + 1)::timestamp AT TIME ZONE %(tz)s) AS hi
FROM (
    SELECT machine_id, (ts AT TIME ZONE %(tz)s)::date AS day
    FROM telemetry WHERE received_at >= %(since)s
    UNION
    SELECT t.machine_id, (t.ts AT TIME ZONE %(tz)s)::date
    FROM (SELECT machine_id, min(ts) AS ts FROM meter_resets
          WHERE detected_at >= %(reset_since)s GROUP BY machine_id) r
    JOIN telemetry t ON t.machine_id = r.machine_id AND t.ts >= r.ts
) d;

-- name: changed_fault_days
-- Machine-days whose fault-code cells must be recomputed.
CREATE TEMP TABLE feat_changed_fault_days ON COMMIT DROP AS
SELECT machine_id, day,
       (day::timestamp AT TIME ZONE %(tz)s) AS lo,
       ((day + 1)::timestamp AT TIME ZONE %(tz)s) AS hi
FROM (SELECT DISTINCT machine_id, (ts AT TIME ZONE %(tz)s)::date AS day
      FROM fault_codes WHERE received_at >= %(since)s) d;

-- name: marks
-- The newest insert times seen, the next run's watermarks (NULL: nothing new).
SELECT (SELECT max(received_at) FROM telemetry WHERE received_at >= %(since)s),
       (SELECT max(received_at) FROM fault_codes WHERE received_at >= %(fault_since)s),
       (SELECT max(detected_at) FROM meter_resets WHERE detected_at >= %(reset_since)s);

-- name: delete_changed_telemetry
-- Drop the cells of changed machine-days (all their known days).
DELETE FROM feat_telemetry_daily f
USING feat_changed_days c
WHERE f.machine_id = c.machine_id AND f.day = c.day;

-- name: delete_changed_faults
-- Drop the fault cells of changed machine-days.
DELETE FROM feat_fault_daily f
USING feat_changed_fault_days c
WHERE f.machine_id = c.machine_id AND f.day = c.day;

-- name: insert_telemetry_cells
-- Aggregate raw readings into cells: all readings, or ({telemetry_t}, {telemetry_r}) those of
-- the changed machine-days, probed day by day through the (machine_id, ts) index. x is days since 2020-01-01 UTC (slopes are per day).
-- %(reset_machines)s lists the machines with meter resets; %(nparts)s / %(part)s select a
-- share of the machines by hash (a full rebuild runs shares on parallel connections).
INSERT INTO feat_telemetry_daily
SELECT machine_id, day, known_day,
       count(*) AS n,
       max(hours) AS hours_max, max(idle) AS idle_max, max(fuel) AS fuel_max,
       count(coolant) AS coolant_n,
       count(*) FILTER (WHERE coolant >= %(coolant_hot)s) AS coolant_hot,
       coalesce(sum(x) FILTER (WHERE coolant IS NOT NULL), 0) AS coolant_sx,
       coalesce(sum(x * x) FILTER (WHERE coolant IS NOT NULL), 0) AS coolant_sxx,
       coalesce(sum(coolant), 0) AS coolant_sy,
       coalesce(sum(x * coolant), 0) AS coolant_sxy,
       count(hyd) AS hyd_n,
       count(*) FILTER (WHERE hyd >= %(hyd_hot)s) AS hyd_hot,
       coalesce(sum(x) FILTER (WHERE hyd IS NOT NULL), 0) AS hyd_sx,
       coalesce(sum(x * x) FILTER (WHERE hyd IS NOT NULL), 0) AS hyd_sxx,
       coalesce(sum(hyd), 0) AS hyd_sy,
       coalesce(sum(x * hyd), 0) AS hyd_sxy,
       count(press) AS press_n,
       coalesce(sum(x) FILTER (WHERE press IS NOT NULL), 0) AS press_sx,
       coalesce(sum(x * x) FILTER (WHERE press IS NOT NULL), 0) AS press_sxx,
       coalesce(sum(press), 0) AS press_sy,
       coalesce(sum(x * press), 0) AS press_sxy,
       count(load) AS load_n,
       coalesce(sum(load), 0) AS load_sy
FROM (
    -- Machines whose meter was never reset (nearly all): raw counters are monotonic.
    SELECT t.machine_id,
           (t.ts AT TIME ZONE %(tz)s)::date AS day,
           (greatest(t.ts, t.arrived_at) AT TIME ZONE %(tz)s)::date AS known_day,
           t.engine_hours AS hours, t.idle_hours AS idle, t.fuel_used_l AS fuel,
           (date_part('epoch', t.ts) - 1577836800) / 86400.0 AS x,
           t.coolant_temp_c::float8 AS coolant,
           t.hydraulic_oil_temp_c::float8 AS hyd,
           t.hydraulic_pressure_bar::float8 AS press,
           t.engine_load_pct::float8 AS load
    FROM {telemetry_t}
    WHERE NOT (t.machine_id = ANY(%(reset_machines)s::text[]))
      AND (%(nparts)s = 1
           OR mod(hashtext(t.machine_id)::bigint + 2147483648, %(nparts)s) = %(part)s)
    UNION ALL
    -- The few with resets: ingest's monotonic hours (telemetry_hours), and idle and fuel
    -- counters lifted by their own drop at each reset, accumulated like meter_offsets.
    SELECT r.machine_id,
           (r.ts AT TIME ZONE %(tz)s)::date,
           (greatest(r.ts, r.arrived_at) AT TIME ZONE %(tz)s)::date,
           r.hours,
           r.idle_hours + coalesce(o.idle_off, 0),
           r.fuel_used_l + coalesce(o.fuel_off, 0),
           (date_part('epoch', r.ts) - 1577836800) / 86400.0,
           r.coolant_temp_c::float8,
           r.hydraulic_oil_temp_c::float8,
           r.hydraulic_pressure_bar::float8,
           r.engine_load_pct::float8
    FROM {telemetry_r}
    LEFT JOIN (
        SELECT machine_id,
               ts AS valid_from,
               coalesce(lead(ts) OVER w, 'infinity'::timestamptz) AS valid_until,
               sum(idle_drop) OVER (w ROWS UNBOUNDED PRECEDING) AS idle_off,
               sum(fuel_drop) OVER (w ROWS UNBOUNDED PRECEDING) AS fuel_off
        FROM (
            SELECT mr.machine_id, mr.ts,
                   greatest(coalesce(p.idle_hours - c.idle_hours, 0), 0) AS idle_drop,
                   greatest(coalesce(p.fuel_used_l - c.fuel_used_l, 0), 0) AS fuel_drop
            FROM meter_resets mr
            CROSS JOIN LATERAL (SELECT t.idle_hours, t.fuel_used_l FROM telemetry t
                                WHERE t.machine_id = mr.machine_id AND t.ts = mr.ts
                                ORDER BY t.seq LIMIT 1) c
            LEFT JOIN LATERAL (SELECT t.idle_hours, t.fuel_used_l FROM telemetry t
                               WHERE t.machine_id = mr.machine_id AND t.ts < mr.ts
                               ORDER BY t.ts DESC, t.seq DESC LIMIT 1) p ON true
            WHERE mr.machine_id = ANY(%(reset_machines)s::text[])
        ) drops
        WINDOW w AS (PARTITION BY machine_id ORDER BY ts)
    ) o ON o.machine_id = r.machine_id AND r.ts >= o.valid_from AND r.ts < o.valid_until
    WHERE r.machine_id = ANY(%(reset_machines)s::text[])
      AND (%(nparts)s = 1
           OR mod(hashtext(r.machine_id)::bigint + 2147483648, %(nparts)s) = %(part)s)
) readings
GROUP BY machine_id, day, known_day

-- name: insert_fault_cells
-- Aggregate raw fault codes into cells; {source}: all codes or those of changed days.
INSERT INTO feat_fault_daily
SELECT r.machine_id,
       (r.ts AT TIME ZONE %(tz)s)::date,
       (greatest(r.ts, r.arrived_at) AT TIME ZONE %(tz)s)::date,
       r.spn, r.fmi,
       count(*),
       count(*) FILTER (WHERE r.active),
       coalesce(max(r.oc) FILTER (WHERE r.active), 0)
FROM {source}
GROUP BY 1, 2, 3, 4, 5;

-- name: upsert_first_seen
-- First event day and first known day of each active code per machine; only ever earlier.
INSERT INTO feat_fault_first_seen AS s (machine_id, spn, fmi, first_day, first_known_day)
SELECT f.machine_id, f.spn, f.fmi, min(f.day), min(f.known_day)
FROM feat_fault_daily f
{changed}
WHERE f.n_active > 0
GROUP BY 1, 2, 3
ON CONFLICT (machine_id, spn, fmi) DO UPDATE
SET first_day = least(s.first_day, excluded.first_day),
    first_known_day = least(s.first_known_day, excluded.first_known_day)
WHERE excluded.first_day < s.first_day OR excluded.first_known_day < s.first_known_day;

-- name: truncate_all
-- Start the rollups over (full rebuild).
TRUNCATE feat_telemetry_daily, feat_fault_daily, feat_fault_first_seen;

-- name: all_telemetry
-- Source fragment of insert_telemetry_cells for a full rebuild: every reading.
telemetry t

-- name: all_telemetry_hours
-- Source fragment of insert_telemetry_cells for a full rebuild: every reset-corrected reading.
telemetry_hours r

-- name: changed_telemetry
-- Source fragment of insert_telemetry_cells for the changed machine-days. LATERAL: one
-- index range probe per changed machine-day, never a scan of all readings.
feat_changed_days c CROSS JOIN LATERAL (
    SELECT x.* FROM telemetry x
     WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi
       AND x.ts >= %(lo_min)s AND x.ts < %(hi_max)s) t

-- name: changed_telemetry_hours
-- Source fragment of insert_telemetry_cells for the reset machines' changed days. OFFSET 0
-- keeps the view's subquery from being flattened into a join: flattened, the planner
-- underestimates the reset machines' readings and loops over all of them once per changed
-- day (16 s instead of well under one on a 1,000-machine week).
(SELECT * FROM feat_changed_days WHERE machine_id = ANY(%(reset_machines)s::text[])) c
CROSS JOIN LATERAL (
    SELECT x.* FROM telemetry_hours x
     WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi
       AND x.ts >= %(lo_min)s AND x.ts < %(hi_max)s OFFSET 0) r

-- name: all_faults
-- Source fragment of insert_fault_cells for a full rebuild: every fault code.
fault_codes r

-- name: changed_faults
-- Source fragment of insert_fault_cells for the changed machine-days.
feat_changed_fault_days c CROSS JOIN LATERAL (
    SELECT x.* FROM fault_codes x
     WHERE x.machine_id = c.machine_id AND x.ts >= c.lo AND x.ts < c.hi
       AND x.ts >= %(f_lo_min)s AND x.ts < %(f_hi_max)s) r

-- name: changed_first_seen
-- Join fragment of upsert_first_seen: only the changed machine-days.
JOIN feat_changed_fault_days c ON c.machine_id = f.machine_id AND c.day = f.day

-- name: lock
-- Serialise refreshes (session-level advisory lock on the job's name).
SELECT pg_advisory_lock(hashtext(%s));

-- name: unlock
-- Release the refresh lock.
SELECT pg_advisory_unlock(hashtext(%s));

-- name: reset_machines
-- Machines with meter resets (their hours come from the telemetry_hours view).
SELECT DISTINCT machine_id FROM meter_resets;

-- name: forget_watermark
-- A full rebuild starts without a watermark.
DELETE FROM job_watermarks WHERE job = %s;

-- name: truncate_service_hours
-- A full rebuild forgets the cached meter readings at work orders.
TRUNCATE feat_service_hours;

-- name: share_settings
-- One share of a full rebuild: a big sort in memory, no parallel workers (the shares are
-- the parallelism).
SET work_mem = '1GB';
SET max_parallel_workers_per_gather = 0;

-- name: incremental_settings
-- An incremental refresh's sorts in memory, and custom plans on any connection
-- (fleetcare.db.connect sets it too): a generic plan of the cells insert, chosen after
-- repeated runs, probes every chunk for minutes.
SET LOCAL work_mem = '256MB';
SET LOCAL plan_cache_mode = force_custom_plan;

-- name: analyze_changed
-- Statistics on the changed days, so the planner sizes the probes right.
ANALYZE feat_changed_days;
ANALYZE feat_changed_fault_days;

-- name: changed_bounds
-- Time bounds of the changed telemetry days.
SELECT min(lo), max(hi) FROM feat_changed_days;

-- name: changed_fault_bounds
-- Time bounds of the changed fault days.
SELECT min(lo), max(hi) FROM feat_changed_fault_days;

-- name: lookup_settings
-- Few changed days against large tables: key lookups, not scans of everything.
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;

-- name: forget_service_hours
-- Cached meter readings at work orders shift with a machine's reset offsets.
DELETE FROM feat_service_hours WHERE machine_id IN (
    SELECT machine_id FROM meter_resets WHERE detected_at >= %(reset_since)s);

-- name: count_rows
-- Rows in a table ({table}).
SELECT count(*) FROM {table};
