-- The per-day feature build for a chunk of days [d0, d1], in one transaction.
-- Parameters: %(d0)s, %(d1)s first and last day of the chunk; %(g0)s = d0 - 30, where the
-- day grid starts (the longest summed window looks back 30 days; hours_90d has its own
-- narrow step); %(now)s false = point in time
-- (a row for day D uses only data that happened and arrived by the end of D), true = as of
-- now (every row uses all data known today: explicit rebuilds only); %(tz)s fleet zone;
-- %(machines)s optional machine ids; %(nparts)s / %(part)s split machines by hash.
--
-- How a point-in-time window works. Rollup cells are keyed by event day e and known day k
-- (k >= e). Let k' = k (point in time) or e (as of now). A sum over the event window
-- (D-w, D] known by D is
--     [cells with k' <= D] - [cells with k' <= D-w] - [late cells with e <= D-w < k' <= D],
-- the first two are running sums over the day grid, the third ("late corrections", fb_*_x)
-- only exists for the few cells that arrived after their day. Monotonic counters (hours,
-- idle, fuel) use running maxima the same way. Nothing here reads stored feature rows, so a
-- chunk depends only on raw data: incremental runs, backfills and rebuilds agree.
--
-- Slopes come from differences of running sums, whose float rounding depends on where a
-- chunk starts; they are stored rounded to 1e-4 per day so chunking cannot show in them.
--
-- The file was generated once from fleetcare/catalogue.py's components and wear parts;
-- tests/test_features_catalog.py checks it still matches the catalogue.

-- name: machines
-- The machines of this run, numbered (mi: integer keys sort and join faster than text),
-- with which components and wear parts their product line has (unknown lines: all).
CREATE TEMP TABLE fb_machines ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY m.machine_id))::integer AS mi, m.machine_id, m.delivery_date,
       (li.items IS NULL OR 'engine' = ANY(li.items)) AS has_engine,
       (li.items IS NULL OR 'hydraulic_pump' = ANY(li.items)) AS has_hydraulic_pump,
       (li.items IS NULL OR 'main_valve' = ANY(li.items)) AS has_main_valve,
       (li.items IS NULL OR 'swing' = ANY(li.items)) AS has_swing,
       (li.items IS NULL OR 'travel_drive' = ANY(li.items)) AS has_travel_drive,
       (li.items IS NULL OR 'undercarriage' = ANY(li.items)) AS has_undercarriage,
       (li.items IS NULL OR 'cooling' = ANY(li.items)) AS has_cooling,
       (li.items IS NULL OR 'electrical' = ANY(li.items)) AS has_electrical,
       (li.items IS NULL OR 'engine_oil' = ANY(li.items)) AS has_engine_oil,
       (li.items IS NULL OR 'engine_oil_filter' = ANY(li.items)) AS has_engine_oil_filter,
       (li.items IS NULL OR 'fuel_filter' = ANY(li.items)) AS has_fuel_filter,
       (li.items IS NULL OR 'air_filter' = ANY(li.items)) AS has_air_filter,
       (li.items IS NULL OR 'hydraulic_return_filter' = ANY(li.items)) AS has_hydraulic_return_filter,
       (li.items IS NULL OR 'hydraulic_oil' = ANY(li.items)) AS has_hydraulic_oil,
       (li.items IS NULL OR 'final_drive_oil' = ANY(li.items)) AS has_final_drive_oil,
       (li.items IS NULL OR 'coolant' = ANY(li.items)) AS has_coolant,
       (li.items IS NULL OR 'fan_belt' = ANY(li.items)) AS has_fan_belt,
       (li.items IS NULL OR 'bucket_teeth' = ANY(li.items)) AS has_bucket_teeth,
       (li.items IS NULL OR 'hydraulic_hose' = ANY(li.items)) AS has_hydraulic_hose,
       (li.items IS NULL OR 'seal_kit' = ANY(li.items)) AS has_seal_kit,
       (li.items IS NULL OR 'track_roller' = ANY(li.items)) AS has_track_roller,
       (li.items IS NULL OR 'track_shoe' = ANY(li.items)) AS has_track_shoe,
       (li.items IS NULL OR 'battery' = ANY(li.items)) AS has_battery
FROM machines m
LEFT JOIN (SELECT product_line, array_agg(item) AS items FROM feat_line_items
           GROUP BY product_line) li ON li.product_line = m.product_line
WHERE m.delivery_date <= %(d1)s
  AND (%(machines)s::text[] IS NULL OR m.machine_id = ANY(%(machines)s::text[]))
  AND (%(nparts)s = 1
       OR mod(hashtext(m.machine_id)::bigint + 2147483648, %(nparts)s) = %(part)s);

-- name: cells_k
-- One pass over the telemetry cells: per machine (integer key: hashing and sorting text
-- keys cost more than the aggregation) and known day k' from d0 - 90 on (earlier cells
-- folded into that first day: only maxima and days matter before the grid), maxima for
-- the running counters and, from the grid start g0 on, the sums.
CREATE TEMP TABLE fb_cells_k ON COMMIT DROP AS
SELECT m.mi, c.k,
       max(c.hours_max) AS hours_max, max(c.idle_max) AS idle_max, max(c.fuel_max) AS fuel_max,
       max(c.day) AS last_day, min(c.day) AS first_day,
       sum(c.n)::float8 AS n,
       sum(c.coolant_n)::float8 AS coolant_n,
       sum(c.coolant_hot)::float8 AS coolant_hot,
       sum(c.coolant_sx)::float8 AS coolant_sx,
       sum(c.coolant_sxx)::float8 AS coolant_sxx,
       sum(c.coolant_sy)::float8 AS coolant_sy,
       sum(c.coolant_sxy)::float8 AS coolant_sxy,
       sum(c.hyd_n)::float8 AS hyd_n,
       sum(c.hyd_hot)::float8 AS hyd_hot,
       sum(c.hyd_sx)::float8 AS hyd_sx,
       sum(c.hyd_sxx)::float8 AS hyd_sxx,
       sum(c.hyd_sy)::float8 AS hyd_sy,
       sum(c.hyd_sxy)::float8 AS hyd_sxy,
       sum(c.press_n)::float8 AS press_n,
       sum(c.press_sx)::float8 AS press_sx,
       sum(c.press_sxx)::float8 AS press_sxx,
       sum(c.press_sy)::float8 AS press_sy,
       sum(c.press_sxy)::float8 AS press_sxy,
       sum(c.load_n)::float8 AS load_n,
       sum(c.load_sy)::float8 AS load_sy
FROM (
    SELECT t.*, CASE WHEN %(now)s THEN t.day ELSE t.known_day END AS k
    FROM feat_telemetry_daily t
    WHERE (CASE WHEN %(now)s THEN t.day ELSE t.known_day END) BETWEEN %(g0)s AND %(d1)s
) c
JOIN fb_machines m ON m.machine_id = c.machine_id
GROUP BY m.mi, c.k
UNION ALL
-- before the grid only maxima and days matter: day by day where the 90-day look-up reads
-- them (d0 - 90 .. d1 - 90), everything else in one group
SELECT m.mi, c.kk,
       max(c.hours_max), max(c.idle_max), max(c.fuel_max), max(c.day), min(c.day),
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8,
       0::float8
FROM (
    SELECT t.machine_id, t.hours_max, t.idle_max, t.fuel_max, t.day,
           CASE WHEN k <= %(d1)s - 90 THEN greatest(k, %(d0)s - 90) ELSE %(d1)s - 89 END AS kk
    FROM feat_telemetry_daily t
    CROSS JOIN LATERAL (SELECT CASE WHEN %(now)s THEN t.day ELSE t.known_day END AS k) kd
    WHERE k < %(g0)s
) c
JOIN fb_machines m ON m.machine_id = c.machine_id
GROUP BY m.mi, c.kk;

-- name: tel_k
-- Telemetry per machine and known day k' on the grid; what was known before g0 is folded
-- into the grid's first day.
CREATE TEMP TABLE fb_tel_k ON COMMIT DROP AS
SELECT mi, greatest(k, %(g0)s) AS k,
       max(hours_max) AS hours_max, max(idle_max) AS idle_max, max(fuel_max) AS fuel_max,
       max(last_day) AS last_day, min(first_day) AS first_day,
       sum(n) AS n,
       sum(coolant_n) AS coolant_n,
       sum(coolant_hot) AS coolant_hot,
       sum(coolant_sx) AS coolant_sx,
       sum(coolant_sxx) AS coolant_sxx,
       sum(coolant_sy) AS coolant_sy,
       sum(coolant_sxy) AS coolant_sxy,
       sum(hyd_n) AS hyd_n,
       sum(hyd_hot) AS hyd_hot,
       sum(hyd_sx) AS hyd_sx,
       sum(hyd_sxx) AS hyd_sxx,
       sum(hyd_sy) AS hyd_sy,
       sum(hyd_sxy) AS hyd_sxy,
       sum(press_n) AS press_n,
       sum(press_sx) AS press_sx,
       sum(press_sxx) AS press_sxx,
       sum(press_sy) AS press_sy,
       sum(press_sxy) AS press_sxy,
       sum(load_n) AS load_n,
       sum(load_sy) AS load_sy
FROM fb_cells_k
GROUP BY mi, greatest(k, %(g0)s);

-- name: tel_x
-- Late corrections: for each late cell (known after its day), the window lengths w and
-- days D for which it is known (k <= D) but belongs before the window (e <= D - w);
-- one row per machine and day, a column per window and quantity.
CREATE TEMP TABLE fb_tel_x ON COMMIT DROP AS
SELECT m.mi, %(d0)s + i AS day,
       max(t.hours_max) FILTER (WHERE ws.w = 1) AS x1_hours_max,
       max(t.hours_max) FILTER (WHERE ws.w = 7) AS x7_hours_max,
       max(t.idle_max) FILTER (WHERE ws.w = 7) AS x7_idle_max,
       sum(t.n) FILTER (WHERE ws.w = 7) AS x7_n,
       sum(t.coolant_n) FILTER (WHERE ws.w = 7) AS x7_coolant_n,
       sum(t.coolant_hot) FILTER (WHERE ws.w = 7) AS x7_coolant_hot,
       sum(t.coolant_sy) FILTER (WHERE ws.w = 7) AS x7_coolant_sy,
       sum(t.hyd_n) FILTER (WHERE ws.w = 7) AS x7_hyd_n,
       sum(t.hyd_hot) FILTER (WHERE ws.w = 7) AS x7_hyd_hot,
       sum(t.hyd_sy) FILTER (WHERE ws.w = 7) AS x7_hyd_sy,
       sum(t.load_n) FILTER (WHERE ws.w = 7) AS x7_load_n,
       sum(t.load_sy) FILTER (WHERE ws.w = 7) AS x7_load_sy,
       sum(t.press_n) FILTER (WHERE ws.w = 7) AS x7_press_n,
       sum(t.press_sy) FILTER (WHERE ws.w = 7) AS x7_press_sy,
       sum(t.hyd_n) FILTER (WHERE ws.w = 14) AS x14_hyd_n,
       sum(t.hyd_sx) FILTER (WHERE ws.w = 14) AS x14_hyd_sx,
       sum(t.hyd_sxx) FILTER (WHERE ws.w = 14) AS x14_hyd_sxx,
       sum(t.hyd_sy) FILTER (WHERE ws.w = 14) AS x14_hyd_sy,
       sum(t.hyd_sxy) FILTER (WHERE ws.w = 14) AS x14_hyd_sxy,
       sum(t.press_n) FILTER (WHERE ws.w = 14) AS x14_press_n,
       sum(t.press_sx) FILTER (WHERE ws.w = 14) AS x14_press_sx,
       sum(t.press_sxx) FILTER (WHERE ws.w = 14) AS x14_press_sxx,
       sum(t.press_sy) FILTER (WHERE ws.w = 14) AS x14_press_sy,
       sum(t.press_sxy) FILTER (WHERE ws.w = 14) AS x14_press_sxy,
       max(t.hours_max) FILTER (WHERE ws.w = 30) AS x30_hours_max,
       max(t.idle_max) FILTER (WHERE ws.w = 30) AS x30_idle_max,
       max(t.fuel_max) FILTER (WHERE ws.w = 30) AS x30_fuel_max,
       sum(t.coolant_n) FILTER (WHERE ws.w = 30) AS x30_coolant_n,
       sum(t.coolant_hot) FILTER (WHERE ws.w = 30) AS x30_coolant_hot,
       sum(t.coolant_sx) FILTER (WHERE ws.w = 30) AS x30_coolant_sx,
       sum(t.coolant_sxx) FILTER (WHERE ws.w = 30) AS x30_coolant_sxx,
       sum(t.coolant_sy) FILTER (WHERE ws.w = 30) AS x30_coolant_sy,
       sum(t.coolant_sxy) FILTER (WHERE ws.w = 30) AS x30_coolant_sxy,
       sum(t.hyd_n) FILTER (WHERE ws.w = 30) AS x30_hyd_n,
       sum(t.hyd_hot) FILTER (WHERE ws.w = 30) AS x30_hyd_hot,
       sum(t.hyd_sx) FILTER (WHERE ws.w = 30) AS x30_hyd_sx,
       sum(t.hyd_sxx) FILTER (WHERE ws.w = 30) AS x30_hyd_sxx,
       sum(t.hyd_sy) FILTER (WHERE ws.w = 30) AS x30_hyd_sy,
       sum(t.hyd_sxy) FILTER (WHERE ws.w = 30) AS x30_hyd_sxy,
       sum(t.press_n) FILTER (WHERE ws.w = 30) AS x30_press_n,
       sum(t.press_sx) FILTER (WHERE ws.w = 30) AS x30_press_sx,
       sum(t.press_sxx) FILTER (WHERE ws.w = 30) AS x30_press_sxx,
       sum(t.press_sy) FILTER (WHERE ws.w = 30) AS x30_press_sy,
       sum(t.press_sxy) FILTER (WHERE ws.w = 30) AS x30_press_sxy,
       sum(t.load_n) FILTER (WHERE ws.w = 30) AS x30_load_n,
       sum(t.load_sy) FILTER (WHERE ws.w = 30) AS x30_load_sy,
       max(t.hours_max) FILTER (WHERE ws.w = 90) AS x90_hours_max
FROM feat_telemetry_daily t
JOIN fb_machines m ON m.machine_id = t.machine_id
CROSS JOIN (VALUES (1), (7), (14), (30), (90)) AS ws(w)
CROSS JOIN LATERAL generate_series(greatest(t.known_day, t.day + ws.w, %(d0)s) - %(d0)s,
                                   least(t.known_day + ws.w - 1, %(d1)s) - %(d0)s) AS i
WHERE NOT %(now)s AND t.known_day > t.day
  AND t.known_day > %(d0)s - 90 AND t.known_day <= %(d1)s
GROUP BY m.mi, i;

-- name: fault_k
-- Active fault reports per machine and known day k', by component family.
CREATE TEMP TABLE fb_fault_k ON COMMIT DROP AS
SELECT m.mi, f.k,
       sum(f.n_active)::float8 AS fa,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'engine'), 0)::float8 AS f_engine,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'hydraulic_pump'), 0)::float8 AS f_hydraulic_pump,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'main_valve'), 0)::float8 AS f_main_valve,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'swing'), 0)::float8 AS f_swing,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'travel_drive'), 0)::float8 AS f_travel_drive,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'undercarriage'), 0)::float8 AS f_undercarriage,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'cooling'), 0)::float8 AS f_cooling,
       coalesce(sum(f.n_active) FILTER (WHERE s.component = 'electrical'), 0)::float8 AS f_electrical
FROM (
    SELECT t.*, CASE WHEN %(now)s THEN t.day ELSE t.known_day END AS k
    FROM feat_fault_daily t
    WHERE t.n_active > 0
      AND (CASE WHEN %(now)s THEN t.day ELSE t.known_day END) BETWEEN %(g0)s AND %(d1)s
) f
JOIN fb_machines m ON m.machine_id = f.machine_id
LEFT JOIN feat_spn_components s ON s.spn = f.spn
GROUP BY m.mi, f.k;

-- name: fault_x
-- Late corrections for fault counts (windows of 1, 7 and 30 days), as for telemetry.
CREATE TEMP TABLE fb_fault_x ON COMMIT DROP AS
SELECT m.mi, %(d0)s + i AS day,
       sum(f.n_active) FILTER (WHERE ws.w = 1) AS y1_fa,
       sum(f.n_active) FILTER (WHERE ws.w = 7) AS y7_fa,
       sum(f.n_active) FILTER (WHERE ws.w = 30) AS y30_fa,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'engine') AS y7_f_engine,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'hydraulic_pump') AS y7_f_hydraulic_pump,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'main_valve') AS y7_f_main_valve,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'swing') AS y7_f_swing,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'travel_drive') AS y7_f_travel_drive,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'undercarriage') AS y7_f_undercarriage,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'cooling') AS y7_f_cooling,
       sum(f.n_active) FILTER (WHERE ws.w = 7 AND s.component = 'electrical') AS y7_f_electrical,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'engine') AS y30_f_engine,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'hydraulic_pump') AS y30_f_hydraulic_pump,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'main_valve') AS y30_f_main_valve,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'swing') AS y30_f_swing,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'travel_drive') AS y30_f_travel_drive,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'undercarriage') AS y30_f_undercarriage,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'cooling') AS y30_f_cooling,
       sum(f.n_active) FILTER (WHERE ws.w = 30 AND s.component = 'electrical') AS y30_f_electrical
FROM feat_fault_daily f
JOIN fb_machines m ON m.machine_id = f.machine_id
LEFT JOIN feat_spn_components s ON s.spn = f.spn
CROSS JOIN (VALUES (1), (7), (30)) AS ws(w)
CROSS JOIN LATERAL generate_series(greatest(f.known_day, f.day + ws.w, %(d0)s) - %(d0)s,
                                   least(f.known_day + ws.w - 1, %(d1)s) - %(d0)s) AS i
WHERE NOT %(now)s AND f.n_active > 0 AND f.known_day > f.day
  AND f.known_day > %(d0)s - 30 AND f.known_day <= %(d1)s
GROUP BY m.mi, i;

-- name: codes
-- Distinct active codes (SPN, FMI) per machine and day over the 7-day event window, and
-- those among them reported with a high occurrence count.
CREATE TEMP TABLE fb_codes ON COMMIT DROP AS
SELECT m.mi, %(d0)s + i AS day,
       count(DISTINCT f.spn * 32 + f.fmi) AS codes,
       count(DISTINCT f.spn * 32 + f.fmi) FILTER (WHERE f.max_oc >= %(high_oc)s) AS high_oc
FROM (
    SELECT t.*, CASE WHEN %(now)s THEN t.day ELSE t.known_day END AS k
    FROM feat_fault_daily t
    WHERE t.n_active > 0 AND t.day > %(d0)s - 7 AND t.day <= %(d1)s
) f
JOIN fb_machines m ON m.machine_id = f.machine_id
CROSS JOIN LATERAL generate_series(greatest(f.k, %(d0)s) - %(d0)s,
                                   least(f.day + 6, %(d1)s) - %(d0)s) AS i
WHERE f.k <= %(d1)s
GROUP BY m.mi, i;

-- name: new_codes
-- Codes seen for the first time on a machine, per day they became known (k').
CREATE TEMP TABLE fb_new_codes ON COMMIT DROP AS
SELECT m.mi, s.k, count(*)::float8 AS n
FROM (
    SELECT f.machine_id, CASE WHEN %(now)s THEN f.first_day ELSE f.first_known_day END AS k
    FROM feat_fault_first_seen f
) s
JOIN fb_machines m ON m.machine_id = s.machine_id
WHERE s.k BETWEEN %(g0)s AND %(d1)s
GROUP BY m.mi, s.k;

-- name: service_hours
-- Fill the cache of hour meter readings at work orders (point in time: telemetry known by
-- the end of the day the work order became known) for work orders known by d1.
INSERT INTO feat_service_hours (machine_id, seq, hours_at)
SELECT s.machine_id, s.seq, h.hours
FROM (
    SELECT r.machine_id, r.seq, r.ts,
           (greatest(r.ts, r.arrived_at) AT TIME ZONE %(tz)s)::date AS k
    FROM service_records r
    JOIN fb_machines m ON m.machine_id = r.machine_id
    WHERE (greatest(r.ts, r.arrived_at) AT TIME ZONE %(tz)s)::date <= %(d1)s
      AND NOT EXISTS (SELECT 1 FROM feat_service_hours c
                      WHERE c.machine_id = r.machine_id AND c.seq = r.seq)
) s
LEFT JOIN LATERAL (
    SELECT t.hours FROM telemetry_hours t
    WHERE t.machine_id = s.machine_id AND t.ts <= s.ts
      AND greatest(t.ts, t.arrived_at) < ((s.k + 1)::timestamp AT TIME ZONE %(tz)s)
    ORDER BY t.ts DESC LIMIT 1
) h ON true
ON CONFLICT DO NOTHING;

-- name: service
-- Work orders known by the end of the chunk, with the monotonic hour meter at the visit
-- (point in time: the cache above; as of now: all telemetry), else the hours written on
-- the work order.
CREATE TEMP TABLE fb_service ON COMMIT DROP AS
SELECT m.mi, s.machine_id, s.kind,
       -- the maker's component names as their families (catalogue_components)
       ARRAY(SELECT fleetcare_component_family(c) FROM unnest(s.components) AS c) AS components,
       ARRAY(SELECT p->>'part' FROM jsonb_array_elements(s.parts) AS p) AS parts,
       s.e, s.k,
       coalesce(CASE WHEN %(now)s THEN h.hours ELSE c.hours_at END, s.engine_hours) AS hours_at
FROM (
    SELECT r.*, (r.ts AT TIME ZONE %(tz)s)::date AS e,
           CASE WHEN %(now)s THEN (r.ts AT TIME ZONE %(tz)s)::date
                ELSE (greatest(r.ts, r.arrived_at) AT TIME ZONE %(tz)s)::date END AS k
    FROM service_records r
) s
JOIN fb_machines m ON m.machine_id = s.machine_id
LEFT JOIN feat_service_hours c ON NOT %(now)s AND c.machine_id = s.machine_id AND c.seq = s.seq
LEFT JOIN LATERAL (
    SELECT t.hours FROM telemetry_hours t
    WHERE %(now)s AND t.machine_id = s.machine_id AND t.ts <= s.ts
    ORDER BY t.ts DESC LIMIT 1
) h ON true
WHERE s.k <= %(d1)s;

-- name: service_k
-- The latest service, repair and part replacement per machine and known day, packed as
-- feat_pack(day, hours) so a running max over the grid keeps the latest one. History
-- before the grid is folded into its first day.
CREATE TEMP TABLE fb_service_k ON COMMIT DROP AS
SELECT mi, greatest(k, %(g0)s) AS k,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive') AS s_any,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown') AS r_any,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'engine' = ANY(components)) AS s_engine,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'hydraulic_pump' = ANY(components)) AS s_hydraulic_pump,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'main_valve' = ANY(components)) AS s_main_valve,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'swing' = ANY(components)) AS s_swing,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'travel_drive' = ANY(components)) AS s_travel_drive,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'undercarriage' = ANY(components)) AS s_undercarriage,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'cooling' = ANY(components)) AS s_cooling,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'preventive' AND 'electrical' = ANY(components)) AS s_electrical,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'engine' = ANY(components)) AS r_engine,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'hydraulic_pump' = ANY(components)) AS r_hydraulic_pump,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'main_valve' = ANY(components)) AS r_main_valve,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'swing' = ANY(components)) AS r_swing,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'travel_drive' = ANY(components)) AS r_travel_drive,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'undercarriage' = ANY(components)) AS r_undercarriage,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'cooling' = ANY(components)) AS r_cooling,
       max(feat_pack(e, hours_at)) FILTER (WHERE kind = 'breakdown' AND 'electrical' = ANY(components)) AS r_electrical,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'engine_oil' = ANY(parts)) AS p_engine_oil,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'engine_oil_filter' = ANY(parts)) AS p_engine_oil_filter,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'fuel_filter' = ANY(parts)) AS p_fuel_filter,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'air_filter' = ANY(parts)) AS p_air_filter,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'hydraulic_return_filter' = ANY(parts)) AS p_hydraulic_return_filter,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'hydraulic_oil' = ANY(parts)) AS p_hydraulic_oil,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'final_drive_oil' = ANY(parts)) AS p_final_drive_oil,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'coolant' = ANY(parts)) AS p_coolant,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'fan_belt' = ANY(parts)) AS p_fan_belt,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'bucket_teeth' = ANY(parts)) AS p_bucket_teeth,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'hydraulic_hose' = ANY(parts)) AS p_hydraulic_hose,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'seal_kit' = ANY(parts)) AS p_seal_kit,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'track_roller' = ANY(parts)) AS p_track_roller,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'track_shoe' = ANY(parts)) AS p_track_shoe,
       max(feat_pack(e, hours_at)) FILTER (WHERE 'battery' = ANY(parts)) AS p_battery
FROM fb_service
GROUP BY mi, greatest(k, %(g0)s);

-- name: breakdowns_365d
-- Breakdowns per machine and day over the 365-day event window, known by that day.
CREATE TEMP TABLE fb_breakdowns ON COMMIT DROP AS
SELECT s.mi, %(d0)s + i AS day,
       count(*) AS b_all,
       count(*) FILTER (WHERE 'engine' = ANY(s.components)) AS b_engine,
       count(*) FILTER (WHERE 'hydraulic_pump' = ANY(s.components)) AS b_hydraulic_pump,
       count(*) FILTER (WHERE 'main_valve' = ANY(s.components)) AS b_main_valve,
       count(*) FILTER (WHERE 'swing' = ANY(s.components)) AS b_swing,
       count(*) FILTER (WHERE 'travel_drive' = ANY(s.components)) AS b_travel_drive,
       count(*) FILTER (WHERE 'undercarriage' = ANY(s.components)) AS b_undercarriage,
       count(*) FILTER (WHERE 'cooling' = ANY(s.components)) AS b_cooling,
       count(*) FILTER (WHERE 'electrical' = ANY(s.components)) AS b_electrical
FROM fb_service s
CROSS JOIN LATERAL generate_series(greatest(s.k, %(d0)s) - %(d0)s,
                                   least(s.e + 364, %(d1)s) - %(d0)s) AS i
WHERE s.kind = 'breakdown' AND s.e > %(d0)s - 365
GROUP BY s.mi, i;

-- name: analyze
-- Statistics for the planner on the temp tables (they are not auto-analyzed).
ANALYZE fb_machines, fb_tel_k, fb_tel_x, fb_fault_x, fb_codes, fb_breakdowns;

-- name: grid
-- The day grid: every machine and day from g0 to d1 with running sums and maxima over
-- known days (history before g0 folded into its first day). Window sums are differences
-- of these running values between a day and the day w before (self-joins below).
CREATE TEMP TABLE fb_grid ON COMMIT DROP AS
SELECT m.mi, g.i, %(g0)s + g.i AS day,
       max(t.hours_max) OVER run AS h,
       max(t.idle_max) OVER run AS idl,
       max(t.fuel_max) OVER run AS fu,
       max(t.last_day) OVER run AS last_day,
       min(t.first_day) OVER run AS first_day,
       coalesce(sum(t.n) OVER run, 0) AS c_n,
       coalesce(sum(t.coolant_n) OVER run, 0) AS c_coolant_n,
       coalesce(sum(t.coolant_hot) OVER run, 0) AS c_coolant_hot,
       coalesce(sum(t.coolant_sx) OVER run, 0) AS c_coolant_sx,
       coalesce(sum(t.coolant_sxx) OVER run, 0) AS c_coolant_sxx,
       coalesce(sum(t.coolant_sy) OVER run, 0) AS c_coolant_sy,
       coalesce(sum(t.coolant_sxy) OVER run, 0) AS c_coolant_sxy,
       coalesce(sum(t.hyd_n) OVER run, 0) AS c_hyd_n,
       coalesce(sum(t.hyd_hot) OVER run, 0) AS c_hyd_hot,
       coalesce(sum(t.hyd_sx) OVER run, 0) AS c_hyd_sx,
       coalesce(sum(t.hyd_sxx) OVER run, 0) AS c_hyd_sxx,
       coalesce(sum(t.hyd_sy) OVER run, 0) AS c_hyd_sy,
       coalesce(sum(t.hyd_sxy) OVER run, 0) AS c_hyd_sxy,
       coalesce(sum(t.press_n) OVER run, 0) AS c_press_n,
       coalesce(sum(t.press_sx) OVER run, 0) AS c_press_sx,
       coalesce(sum(t.press_sxx) OVER run, 0) AS c_press_sxx,
       coalesce(sum(t.press_sy) OVER run, 0) AS c_press_sy,
       coalesce(sum(t.press_sxy) OVER run, 0) AS c_press_sxy,
       coalesce(sum(t.load_n) OVER run, 0) AS c_load_n,
       coalesce(sum(t.load_sy) OVER run, 0) AS c_load_sy,
       coalesce(sum(f.fa) OVER run, 0) AS c_fa,
       coalesce(sum(f.f_engine) OVER run, 0) AS c_f_engine,
       coalesce(sum(f.f_hydraulic_pump) OVER run, 0) AS c_f_hydraulic_pump,
       coalesce(sum(f.f_main_valve) OVER run, 0) AS c_f_main_valve,
       coalesce(sum(f.f_swing) OVER run, 0) AS c_f_swing,
       coalesce(sum(f.f_travel_drive) OVER run, 0) AS c_f_travel_drive,
       coalesce(sum(f.f_undercarriage) OVER run, 0) AS c_f_undercarriage,
       coalesce(sum(f.f_cooling) OVER run, 0) AS c_f_cooling,
       coalesce(sum(f.f_electrical) OVER run, 0) AS c_f_electrical,
       coalesce(sum(nc.n) OVER run, 0) AS c_new,
       max(s.s_any) OVER run AS s_any,
       max(s.r_any) OVER run AS r_any,
       max(s.s_engine) OVER run AS s_engine,
       max(s.s_hydraulic_pump) OVER run AS s_hydraulic_pump,
       max(s.s_main_valve) OVER run AS s_main_valve,
       max(s.s_swing) OVER run AS s_swing,
       max(s.s_travel_drive) OVER run AS s_travel_drive,
       max(s.s_undercarriage) OVER run AS s_undercarriage,
       max(s.s_cooling) OVER run AS s_cooling,
       max(s.s_electrical) OVER run AS s_electrical,
       max(s.r_engine) OVER run AS r_engine,
       max(s.r_hydraulic_pump) OVER run AS r_hydraulic_pump,
       max(s.r_main_valve) OVER run AS r_main_valve,
       max(s.r_swing) OVER run AS r_swing,
       max(s.r_travel_drive) OVER run AS r_travel_drive,
       max(s.r_undercarriage) OVER run AS r_undercarriage,
       max(s.r_cooling) OVER run AS r_cooling,
       max(s.r_electrical) OVER run AS r_electrical,
       max(s.p_engine_oil) OVER run AS p_engine_oil,
       max(s.p_engine_oil_filter) OVER run AS p_engine_oil_filter,
       max(s.p_fuel_filter) OVER run AS p_fuel_filter,
       max(s.p_air_filter) OVER run AS p_air_filter,
       max(s.p_hydraulic_return_filter) OVER run AS p_hydraulic_return_filter,
       max(s.p_hydraulic_oil) OVER run AS p_hydraulic_oil,
       max(s.p_final_drive_oil) OVER run AS p_final_drive_oil,
       max(s.p_coolant) OVER run AS p_coolant,
       max(s.p_fan_belt) OVER run AS p_fan_belt,
       max(s.p_bucket_teeth) OVER run AS p_bucket_teeth,
       max(s.p_hydraulic_hose) OVER run AS p_hydraulic_hose,
       max(s.p_seal_kit) OVER run AS p_seal_kit,
       max(s.p_track_roller) OVER run AS p_track_roller,
       max(s.p_track_shoe) OVER run AS p_track_shoe,
       max(s.p_battery) OVER run AS p_battery
FROM fb_machines m
CROSS JOIN generate_series(0, %(d1)s - %(g0)s) AS g(i)
LEFT JOIN fb_tel_k t ON t.mi = m.mi AND t.k = %(g0)s + g.i
LEFT JOIN fb_fault_k f ON f.mi = m.mi AND f.k = %(g0)s + g.i
LEFT JOIN fb_new_codes nc ON nc.mi = m.mi AND nc.k = %(g0)s + g.i
LEFT JOIN fb_service_k s ON s.mi = m.mi AND s.k = %(g0)s + g.i
WINDOW run AS (PARTITION BY m.mi ORDER BY g.i ROWS UNBOUNDED PRECEDING);

-- name: hours_90
-- The hour meter 90 days before each day of the chunk, as known on that earlier day
-- (running max over known days), for hours_90d; day is the day it serves.
CREATE TEMP TABLE fb_h90 ON COMMIT DROP AS
SELECT m.mi, %(d0)s + g.i AS day, max(c.hours_max) OVER (PARTITION BY m.mi ORDER BY g.i
                                         ROWS UNBOUNDED PRECEDING) AS h
FROM fb_machines m
CROSS JOIN generate_series(0, %(d1)s - %(d0)s) AS g(i)
LEFT JOIN fb_cells_k c ON c.mi = m.mi AND c.k = %(d0)s - 90 + g.i AND c.k <= %(d1)s - 90;

-- name: analyze_grid
-- Statistics for the self-joins.
ANALYZE fb_grid, fb_h90;

-- name: feature_rows
-- The feature rows of the chunk. Each output column is a feature: the comment after it
-- gives [unit] and meaning (parsed by features/catalog.py for `fleetcare features list`).
SELECT l3.day, l3.machine_id, %(now)s AS as_of_now,
       l3.h::real AS engine_hours,  -- [h] hour meter (monotonic across meter resets), latest reading known by the end of the day
       l3.hrs_1::real AS hours_1d,  -- [h] engine hours run on the day
       l3.hrs_7::real AS hours_7d,  -- [h] engine hours run in the 7 days up to the day
       l3.hrs_30::real AS hours_30d,  -- [h] engine hours run in the 30 days up to the day
       l3.hrs_90::real AS hours_90d,  -- [h] engine hours run in the 90 days up to the day
       feat_share(l3.idle_7, l3.hrs_7)::real AS idle_share_7d,  -- [share] idle hours / engine hours over 7 days
       feat_share(l3.idle_30, l3.hrs_30)::real AS idle_share_30d,  -- [share] idle hours / engine hours over 30 days
       CASE WHEN l3.hrs_30 > 0 THEN l3.fuel_30 / l3.hrs_30 END::real AS fuel_rate_30d,  -- [L/h] fuel used per engine hour over 30 days
       (l3.load_sy_7 / nullif(l3.load_n_7, 0) / 100)::real AS load_factor_7d,  -- [share] mean engine load over 7 days (0-1)
       (l3.load_sy_30 / nullif(l3.load_n_30, 0) / 100)::real AS load_factor_30d,  -- [share] mean engine load over 30 days (0-1)
       l3.n_7::integer AS readings_7d,  -- [count] telemetry readings in 7 days
       (l3.day - l3.last_day)::integer AS days_since_reading,  -- [d] days since the latest day with a reading (data gap); 0 = a reading on the day
       (l3.coolant_sy_7 / nullif(l3.coolant_n_7, 0))::real AS coolant_mean_7d,  -- [°C] mean coolant temperature over 7 days
       feat_share(l3.coolant_hot_7, l3.coolant_n_7)::real AS coolant_hot_share_7d,  -- [share] share of readings with coolant at or above the hot threshold, 7 days
       feat_share(l3.coolant_hot_30, l3.coolant_n_30)::real AS coolant_hot_share_30d,  -- [share] share of readings with coolant at or above the hot threshold, 30 days
       round(l3.coolant_slope_30::numeric, 4)::real AS coolant_slope_30d,  -- [°C/d] trend of coolant temperature over 30 days (least squares)
       (l3.hyd_sy_7 / nullif(l3.hyd_n_7, 0))::real AS hyd_oil_temp_mean_7d,  -- [°C] mean hydraulic oil temperature over 7 days
       feat_share(l3.hyd_hot_7, l3.hyd_n_7)::real AS hyd_oil_hot_share_7d,  -- [share] share of readings with hydraulic oil at or above the hot threshold, 7 days
       feat_share(l3.hyd_hot_30, l3.hyd_n_30)::real AS hyd_oil_hot_share_30d,  -- [share] share of readings with hydraulic oil at or above the hot threshold, 30 days
       round(l3.hyd_slope_14::numeric, 4)::real AS hyd_oil_temp_slope_14d,  -- [°C/d] trend of hydraulic oil temperature over 14 days (least squares)
       round(l3.hyd_slope_30::numeric, 4)::real AS hyd_oil_temp_slope_30d,  -- [°C/d] trend of hydraulic oil temperature over 30 days (least squares)
       (l3.press_sy_7 / nullif(l3.press_n_7, 0))::real AS hyd_pressure_mean_7d,  -- [bar] mean hydraulic pressure over 7 days
       round(l3.press_slope_14::numeric, 4)::real AS hyd_pressure_slope_14d,  -- [bar/d] trend of hydraulic pressure over 14 days (least squares)
       round(l3.press_slope_30::numeric, 4)::real AS hyd_pressure_slope_30d,  -- [bar/d] trend of hydraulic pressure over 30 days (least squares)
       l3.fa_1::integer AS faults_all_1d,  -- [count] active fault code reports on the day, all components
       l3.fa_7::integer AS faults_all_7d,  -- [count] active fault code reports in 7 days, all components
       l3.fa_30::integer AS faults_all_30d,  -- [count] active fault code reports in 30 days, all components
       l3.codes_7::integer AS codes_7d,  -- [count] distinct active codes (SPN, FMI) in 7 days
       l3.high_oc_7::integer AS high_oc_codes_7d,  -- [count] distinct active codes in 7 days reported with a high occurrence count
       l3.new_7::integer AS new_codes_7d,  -- [count] active codes first reported for this machine in the last 7 days
       CASE WHEN l3.has_engine THEN l3.f_engine_7 END::integer AS faults_7d_engine,  -- [count] active fault code reports of the engine SPN family in 7 days
       CASE WHEN l3.has_hydraulic_pump THEN l3.f_hydraulic_pump_7 END::integer AS faults_7d_hydraulic_pump,  -- [count] active fault code reports of the hydraulic_pump SPN family in 7 days
       CASE WHEN l3.has_main_valve THEN l3.f_main_valve_7 END::integer AS faults_7d_main_valve,  -- [count] active fault code reports of the main_valve SPN family in 7 days
       CASE WHEN l3.has_swing THEN l3.f_swing_7 END::integer AS faults_7d_swing,  -- [count] active fault code reports of the swing SPN family in 7 days
       CASE WHEN l3.has_travel_drive THEN l3.f_travel_drive_7 END::integer AS faults_7d_travel_drive,  -- [count] active fault code reports of the travel_drive SPN family in 7 days
       CASE WHEN l3.has_undercarriage THEN l3.f_undercarriage_7 END::integer AS faults_7d_undercarriage,  -- [count] active fault code reports of the undercarriage SPN family in 7 days
       CASE WHEN l3.has_cooling THEN l3.f_cooling_7 END::integer AS faults_7d_cooling,  -- [count] active fault code reports of the cooling SPN family in 7 days
       CASE WHEN l3.has_electrical THEN l3.f_electrical_7 END::integer AS faults_7d_electrical,  -- [count] active fault code reports of the electrical SPN family in 7 days
       CASE WHEN l3.has_engine THEN l3.f_engine_30 END::integer AS faults_30d_engine,  -- [count] active fault code reports of the engine SPN family in 30 days
       CASE WHEN l3.has_hydraulic_pump THEN l3.f_hydraulic_pump_30 END::integer AS faults_30d_hydraulic_pump,  -- [count] active fault code reports of the hydraulic_pump SPN family in 30 days
       CASE WHEN l3.has_main_valve THEN l3.f_main_valve_30 END::integer AS faults_30d_main_valve,  -- [count] active fault code reports of the main_valve SPN family in 30 days
       CASE WHEN l3.has_swing THEN l3.f_swing_30 END::integer AS faults_30d_swing,  -- [count] active fault code reports of the swing SPN family in 30 days
       CASE WHEN l3.has_travel_drive THEN l3.f_travel_drive_30 END::integer AS faults_30d_travel_drive,  -- [count] active fault code reports of the travel_drive SPN family in 30 days
       CASE WHEN l3.has_undercarriage THEN l3.f_undercarriage_30 END::integer AS faults_30d_undercarriage,  -- [count] active fault code reports of the undercarriage SPN family in 30 days
       CASE WHEN l3.has_cooling THEN l3.f_cooling_30 END::integer AS faults_30d_cooling,  -- [count] active fault code reports of the cooling SPN family in 30 days
       CASE WHEN l3.has_electrical THEN l3.f_electrical_30 END::integer AS faults_30d_electrical,  -- [count] active fault code reports of the electrical SPN family in 30 days
       (CASE WHEN l3.s_any IS NOT NULL THEN l3.day - feat_packed_day(l3.s_any)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END)::integer AS days_since_any_service,  -- [d] days since the last preventive service (since delivery if none and seen from new)
       (CASE WHEN l3.s_any IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_any))
                 WHEN l3.from_new THEN l3.h END)::real AS hours_since_any_service,  -- [h] engine hours since the last preventive service (since delivery if none and seen from new)
       (CASE WHEN l3.r_any IS NOT NULL THEN l3.day - feat_packed_day(l3.r_any)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END)::integer AS days_since_any_breakdown,  -- [d] days since the last breakdown (since delivery if none and seen from new)
       l3.b_all::integer AS breakdowns_all_365d,  -- [count] breakdowns in 365 days, all components
       CASE WHEN l3.has_engine_oil THEN (CASE WHEN l3.p_engine_oil IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_engine_oil))
                 WHEN l3.from_new THEN l3.h END) - 250 END::real AS overdue_h_250,  -- [h] hours past the maker's 250 h service (last engine_oil change); negative = hours left
       CASE WHEN l3.has_fuel_filter THEN (CASE WHEN l3.p_fuel_filter IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_fuel_filter))
                 WHEN l3.from_new THEN l3.h END) - 500 END::real AS overdue_h_500,  -- [h] hours past the maker's 500 h service (last fuel_filter change); negative = hours left
       CASE WHEN l3.has_air_filter THEN (CASE WHEN l3.p_air_filter IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_air_filter))
                 WHEN l3.from_new THEN l3.h END) - 1000 END::real AS overdue_h_1000,  -- [h] hours past the maker's 1000 h service (last air_filter change); negative = hours left
       CASE WHEN l3.has_hydraulic_oil THEN (CASE WHEN l3.p_hydraulic_oil IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_hydraulic_oil))
                 WHEN l3.from_new THEN l3.h END) - 2000 END::real AS overdue_h_2000,  -- [h] hours past the maker's 2000 h service (last hydraulic_oil change); negative = hours left
       (CASE WHEN l3.has_engine THEN CASE WHEN l3.s_engine IS NOT NULL THEN l3.day - feat_packed_day(l3.s_engine)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_engine,  -- [d] days since the last preventive service covering the engine
       (CASE WHEN l3.has_hydraulic_pump THEN CASE WHEN l3.s_hydraulic_pump IS NOT NULL THEN l3.day - feat_packed_day(l3.s_hydraulic_pump)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_hydraulic_pump,  -- [d] days since the last preventive service covering the hydraulic_pump
       (CASE WHEN l3.has_main_valve THEN CASE WHEN l3.s_main_valve IS NOT NULL THEN l3.day - feat_packed_day(l3.s_main_valve)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_main_valve,  -- [d] days since the last preventive service covering the main_valve
       (CASE WHEN l3.has_swing THEN CASE WHEN l3.s_swing IS NOT NULL THEN l3.day - feat_packed_day(l3.s_swing)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_swing,  -- [d] days since the last preventive service covering the swing
       (CASE WHEN l3.has_travel_drive THEN CASE WHEN l3.s_travel_drive IS NOT NULL THEN l3.day - feat_packed_day(l3.s_travel_drive)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_travel_drive,  -- [d] days since the last preventive service covering the travel_drive
       (CASE WHEN l3.has_undercarriage THEN CASE WHEN l3.s_undercarriage IS NOT NULL THEN l3.day - feat_packed_day(l3.s_undercarriage)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_undercarriage,  -- [d] days since the last preventive service covering the undercarriage
       (CASE WHEN l3.has_cooling THEN CASE WHEN l3.s_cooling IS NOT NULL THEN l3.day - feat_packed_day(l3.s_cooling)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_cooling,  -- [d] days since the last preventive service covering the cooling
       (CASE WHEN l3.has_electrical THEN CASE WHEN l3.s_electrical IS NOT NULL THEN l3.day - feat_packed_day(l3.s_electrical)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_service_electrical,  -- [d] days since the last preventive service covering the electrical
       (CASE WHEN l3.has_engine THEN CASE WHEN l3.s_engine IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_engine))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_engine,  -- [h] engine hours since the last preventive service covering the engine
       (CASE WHEN l3.has_hydraulic_pump THEN CASE WHEN l3.s_hydraulic_pump IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_hydraulic_pump))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_hydraulic_pump,  -- [h] engine hours since the last preventive service covering the hydraulic_pump
       (CASE WHEN l3.has_main_valve THEN CASE WHEN l3.s_main_valve IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_main_valve))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_main_valve,  -- [h] engine hours since the last preventive service covering the main_valve
       (CASE WHEN l3.has_swing THEN CASE WHEN l3.s_swing IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_swing))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_swing,  -- [h] engine hours since the last preventive service covering the swing
       (CASE WHEN l3.has_travel_drive THEN CASE WHEN l3.s_travel_drive IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_travel_drive))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_travel_drive,  -- [h] engine hours since the last preventive service covering the travel_drive
       (CASE WHEN l3.has_undercarriage THEN CASE WHEN l3.s_undercarriage IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_undercarriage))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_undercarriage,  -- [h] engine hours since the last preventive service covering the undercarriage
       (CASE WHEN l3.has_cooling THEN CASE WHEN l3.s_cooling IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_cooling))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_cooling,  -- [h] engine hours since the last preventive service covering the cooling
       (CASE WHEN l3.has_electrical THEN CASE WHEN l3.s_electrical IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.s_electrical))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_service_electrical,  -- [h] engine hours since the last preventive service covering the electrical
       (CASE WHEN l3.has_engine THEN CASE WHEN l3.r_engine IS NOT NULL THEN l3.day - feat_packed_day(l3.r_engine)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_engine,  -- [d] days since the last breakdown repair of the engine
       (CASE WHEN l3.has_hydraulic_pump THEN CASE WHEN l3.r_hydraulic_pump IS NOT NULL THEN l3.day - feat_packed_day(l3.r_hydraulic_pump)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_hydraulic_pump,  -- [d] days since the last breakdown repair of the hydraulic_pump
       (CASE WHEN l3.has_main_valve THEN CASE WHEN l3.r_main_valve IS NOT NULL THEN l3.day - feat_packed_day(l3.r_main_valve)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_main_valve,  -- [d] days since the last breakdown repair of the main_valve
       (CASE WHEN l3.has_swing THEN CASE WHEN l3.r_swing IS NOT NULL THEN l3.day - feat_packed_day(l3.r_swing)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_swing,  -- [d] days since the last breakdown repair of the swing
       (CASE WHEN l3.has_travel_drive THEN CASE WHEN l3.r_travel_drive IS NOT NULL THEN l3.day - feat_packed_day(l3.r_travel_drive)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_travel_drive,  -- [d] days since the last breakdown repair of the travel_drive
       (CASE WHEN l3.has_undercarriage THEN CASE WHEN l3.r_undercarriage IS NOT NULL THEN l3.day - feat_packed_day(l3.r_undercarriage)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_undercarriage,  -- [d] days since the last breakdown repair of the undercarriage
       (CASE WHEN l3.has_cooling THEN CASE WHEN l3.r_cooling IS NOT NULL THEN l3.day - feat_packed_day(l3.r_cooling)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_cooling,  -- [d] days since the last breakdown repair of the cooling
       (CASE WHEN l3.has_electrical THEN CASE WHEN l3.r_electrical IS NOT NULL THEN l3.day - feat_packed_day(l3.r_electrical)
                 WHEN l3.from_new THEN l3.day - l3.delivery_date END END)::integer AS days_since_repair_electrical,  -- [d] days since the last breakdown repair of the electrical
       (CASE WHEN l3.has_engine THEN CASE WHEN l3.r_engine IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_engine))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_engine,  -- [h] engine hours since the last breakdown repair of the engine
       (CASE WHEN l3.has_hydraulic_pump THEN CASE WHEN l3.r_hydraulic_pump IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_hydraulic_pump))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_hydraulic_pump,  -- [h] engine hours since the last breakdown repair of the hydraulic_pump
       (CASE WHEN l3.has_main_valve THEN CASE WHEN l3.r_main_valve IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_main_valve))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_main_valve,  -- [h] engine hours since the last breakdown repair of the main_valve
       (CASE WHEN l3.has_swing THEN CASE WHEN l3.r_swing IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_swing))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_swing,  -- [h] engine hours since the last breakdown repair of the swing
       (CASE WHEN l3.has_travel_drive THEN CASE WHEN l3.r_travel_drive IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_travel_drive))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_travel_drive,  -- [h] engine hours since the last breakdown repair of the travel_drive
       (CASE WHEN l3.has_undercarriage THEN CASE WHEN l3.r_undercarriage IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_undercarriage))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_undercarriage,  -- [h] engine hours since the last breakdown repair of the undercarriage
       (CASE WHEN l3.has_cooling THEN CASE WHEN l3.r_cooling IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_cooling))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_cooling,  -- [h] engine hours since the last breakdown repair of the cooling
       (CASE WHEN l3.has_electrical THEN CASE WHEN l3.r_electrical IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.r_electrical))
                 WHEN l3.from_new THEN l3.h END END)::real AS hours_since_repair_electrical,  -- [h] engine hours since the last breakdown repair of the electrical
       CASE WHEN l3.has_engine THEN l3.b_engine END::integer AS breakdowns_365d_engine,  -- [count] breakdowns of the engine in 365 days
       CASE WHEN l3.has_hydraulic_pump THEN l3.b_hydraulic_pump END::integer AS breakdowns_365d_hydraulic_pump,  -- [count] breakdowns of the hydraulic_pump in 365 days
       CASE WHEN l3.has_main_valve THEN l3.b_main_valve END::integer AS breakdowns_365d_main_valve,  -- [count] breakdowns of the main_valve in 365 days
       CASE WHEN l3.has_swing THEN l3.b_swing END::integer AS breakdowns_365d_swing,  -- [count] breakdowns of the swing in 365 days
       CASE WHEN l3.has_travel_drive THEN l3.b_travel_drive END::integer AS breakdowns_365d_travel_drive,  -- [count] breakdowns of the travel_drive in 365 days
       CASE WHEN l3.has_undercarriage THEN l3.b_undercarriage END::integer AS breakdowns_365d_undercarriage,  -- [count] breakdowns of the undercarriage in 365 days
       CASE WHEN l3.has_cooling THEN l3.b_cooling END::integer AS breakdowns_365d_cooling,  -- [count] breakdowns of the cooling in 365 days
       CASE WHEN l3.has_electrical THEN l3.b_electrical END::integer AS breakdowns_365d_electrical,  -- [count] breakdowns of the electrical in 365 days
       (CASE WHEN l3.has_engine_oil THEN CASE WHEN l3.p_engine_oil IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_engine_oil))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_engine_oil,  -- [h] engine hours on the engine_oil fitted now (since its last replacement)
       (CASE WHEN l3.has_engine_oil_filter THEN CASE WHEN l3.p_engine_oil_filter IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_engine_oil_filter))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_engine_oil_filter,  -- [h] engine hours on the engine_oil_filter fitted now (since its last replacement)
       (CASE WHEN l3.has_fuel_filter THEN CASE WHEN l3.p_fuel_filter IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_fuel_filter))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_fuel_filter,  -- [h] engine hours on the fuel_filter fitted now (since its last replacement)
       (CASE WHEN l3.has_air_filter THEN CASE WHEN l3.p_air_filter IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_air_filter))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_air_filter,  -- [h] engine hours on the air_filter fitted now (since its last replacement)
       (CASE WHEN l3.has_hydraulic_return_filter THEN CASE WHEN l3.p_hydraulic_return_filter IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_hydraulic_return_filter))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_hydraulic_return_filter,  -- [h] engine hours on the hydraulic_return_filter fitted now (since its last replacement)
       (CASE WHEN l3.has_hydraulic_oil THEN CASE WHEN l3.p_hydraulic_oil IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_hydraulic_oil))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_hydraulic_oil,  -- [h] engine hours on the hydraulic_oil fitted now (since its last replacement)
       (CASE WHEN l3.has_final_drive_oil THEN CASE WHEN l3.p_final_drive_oil IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_final_drive_oil))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_final_drive_oil,  -- [h] engine hours on the final_drive_oil fitted now (since its last replacement)
       (CASE WHEN l3.has_coolant THEN CASE WHEN l3.p_coolant IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_coolant))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_coolant,  -- [h] engine hours on the coolant fitted now (since its last replacement)
       (CASE WHEN l3.has_fan_belt THEN CASE WHEN l3.p_fan_belt IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_fan_belt))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_fan_belt,  -- [h] engine hours on the fan_belt fitted now (since its last replacement)
       (CASE WHEN l3.has_bucket_teeth THEN CASE WHEN l3.p_bucket_teeth IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_bucket_teeth))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_bucket_teeth,  -- [h] engine hours on the bucket_teeth fitted now (since its last replacement)
       (CASE WHEN l3.has_hydraulic_hose THEN CASE WHEN l3.p_hydraulic_hose IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_hydraulic_hose))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_hydraulic_hose,  -- [h] engine hours on the hydraulic_hose fitted now (since its last replacement)
       (CASE WHEN l3.has_seal_kit THEN CASE WHEN l3.p_seal_kit IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_seal_kit))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_seal_kit,  -- [h] engine hours on the seal_kit fitted now (since its last replacement)
       (CASE WHEN l3.has_track_roller THEN CASE WHEN l3.p_track_roller IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_track_roller))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_track_roller,  -- [h] engine hours on the track_roller fitted now (since its last replacement)
       (CASE WHEN l3.has_track_shoe THEN CASE WHEN l3.p_track_shoe IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_track_shoe))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_track_shoe,  -- [h] engine hours on the track_shoe fitted now (since its last replacement)
       (CASE WHEN l3.has_battery THEN CASE WHEN l3.p_battery IS NOT NULL THEN feat_nonneg(l3.h - feat_packed_hours(l3.p_battery))
                 WHEN l3.from_new THEN l3.h END END)::real AS part_hours_battery  -- [h] engine hours on the battery fitted now (since its last replacement)
FROM (
    SELECT mm.machine_id,
           l2.day,
           mm.delivery_date,
           l2.h,
           l2.last_day,
           l2.first_day,
           mm.has_engine,
           mm.has_hydraulic_pump,
           mm.has_main_valve,
           mm.has_swing,
           mm.has_travel_drive,
           mm.has_undercarriage,
           mm.has_cooling,
           mm.has_electrical,
           mm.has_engine_oil,
           mm.has_engine_oil_filter,
           mm.has_fuel_filter,
           mm.has_air_filter,
           mm.has_hydraulic_return_filter,
           mm.has_hydraulic_oil,
           mm.has_final_drive_oil,
           mm.has_coolant,
           mm.has_fan_belt,
           mm.has_bucket_teeth,
           mm.has_hydraulic_hose,
           mm.has_seal_kit,
           mm.has_track_roller,
           mm.has_track_shoe,
           mm.has_battery,
           l2.s_any,
           l2.r_any,
           l2.s_engine,
           l2.s_hydraulic_pump,
           l2.s_main_valve,
           l2.s_swing,
           l2.s_travel_drive,
           l2.s_undercarriage,
           l2.s_cooling,
           l2.s_electrical,
           l2.r_engine,
           l2.r_hydraulic_pump,
           l2.r_main_valve,
           l2.r_swing,
           l2.r_travel_drive,
           l2.r_undercarriage,
           l2.r_cooling,
           l2.r_electrical,
           l2.p_engine_oil,
           l2.p_engine_oil_filter,
           l2.p_fuel_filter,
           l2.p_air_filter,
           l2.p_hydraulic_return_filter,
           l2.p_hydraulic_oil,
           l2.p_final_drive_oil,
           l2.p_coolant,
           l2.p_fan_belt,
           l2.p_bucket_teeth,
           l2.p_hydraulic_hose,
           l2.p_seal_kit,
           l2.p_track_roller,
           l2.p_track_shoe,
           l2.p_battery,
           CASE WHEN greatest(p1.h, tx.x1_hours_max) IS NOT NULL
                 THEN feat_nonneg(l2.h - greatest(p1.h, tx.x1_hours_max))
                 WHEN mm.delivery_date > l2.day - 1 THEN l2.h END AS hrs_1,
           CASE WHEN greatest(p7.h, tx.x7_hours_max) IS NOT NULL
                 THEN feat_nonneg(l2.h - greatest(p7.h, tx.x7_hours_max))
                 WHEN mm.delivery_date > l2.day - 7 THEN l2.h END AS hrs_7,
           CASE WHEN greatest(p30.h, tx.x30_hours_max) IS NOT NULL
                 THEN feat_nonneg(l2.h - greatest(p30.h, tx.x30_hours_max))
                 WHEN mm.delivery_date > l2.day - 30 THEN l2.h END AS hrs_30,
           CASE WHEN greatest(h90.h, tx.x90_hours_max) IS NOT NULL
                 THEN feat_nonneg(l2.h - greatest(h90.h, tx.x90_hours_max))
                 WHEN mm.delivery_date > l2.day - 90 THEN l2.h END AS hrs_90,
           CASE WHEN greatest(p7.idl, tx.x7_idle_max) IS NOT NULL
                 THEN feat_nonneg(l2.idl - greatest(p7.idl, tx.x7_idle_max))
                 WHEN mm.delivery_date > l2.day - 7 THEN l2.idl END AS idle_7,
           CASE WHEN greatest(p30.idl, tx.x30_idle_max) IS NOT NULL
                 THEN feat_nonneg(l2.idl - greatest(p30.idl, tx.x30_idle_max))
                 WHEN mm.delivery_date > l2.day - 30 THEN l2.idl END AS idle_30,
           CASE WHEN greatest(p30.fu, tx.x30_fuel_max) IS NOT NULL
                 THEN feat_nonneg(l2.fu - greatest(p30.fu, tx.x30_fuel_max))
                 WHEN mm.delivery_date > l2.day - 30 THEN l2.fu END AS fuel_30,
           (l2.c_n - p7.c_n - coalesce(tx.x7_n, 0)) AS n_7,
           (l2.c_coolant_n - p7.c_coolant_n - coalesce(tx.x7_coolant_n, 0)) AS coolant_n_7,
           (l2.c_coolant_hot - p7.c_coolant_hot - coalesce(tx.x7_coolant_hot, 0)) AS coolant_hot_7,
           (l2.c_coolant_sy - p7.c_coolant_sy - coalesce(tx.x7_coolant_sy, 0)) AS coolant_sy_7,
           (l2.c_hyd_n - p7.c_hyd_n - coalesce(tx.x7_hyd_n, 0)) AS hyd_n_7,
           (l2.c_hyd_hot - p7.c_hyd_hot - coalesce(tx.x7_hyd_hot, 0)) AS hyd_hot_7,
           (l2.c_hyd_sy - p7.c_hyd_sy - coalesce(tx.x7_hyd_sy, 0)) AS hyd_sy_7,
           (l2.c_load_n - p7.c_load_n - coalesce(tx.x7_load_n, 0)) AS load_n_7,
           (l2.c_load_sy - p7.c_load_sy - coalesce(tx.x7_load_sy, 0)) AS load_sy_7,
           (l2.c_coolant_n - p30.c_coolant_n - coalesce(tx.x30_coolant_n, 0)) AS coolant_n_30,
           (l2.c_coolant_hot - p30.c_coolant_hot - coalesce(tx.x30_coolant_hot, 0)) AS coolant_hot_30,
           (l2.c_coolant_sy - p30.c_coolant_sy - coalesce(tx.x30_coolant_sy, 0)) AS coolant_sy_30,
           (l2.c_hyd_n - p30.c_hyd_n - coalesce(tx.x30_hyd_n, 0)) AS hyd_n_30,
           (l2.c_hyd_hot - p30.c_hyd_hot - coalesce(tx.x30_hyd_hot, 0)) AS hyd_hot_30,
           (l2.c_hyd_sy - p30.c_hyd_sy - coalesce(tx.x30_hyd_sy, 0)) AS hyd_sy_30,
           (l2.c_load_n - p30.c_load_n - coalesce(tx.x30_load_n, 0)) AS load_n_30,
           (l2.c_load_sy - p30.c_load_sy - coalesce(tx.x30_load_sy, 0)) AS load_sy_30,
           (l2.c_press_n - p7.c_press_n - coalesce(tx.x7_press_n, 0)) AS press_n_7,
           (l2.c_press_sy - p7.c_press_sy - coalesce(tx.x7_press_sy, 0)) AS press_sy_7,
           feat_slope((l2.c_coolant_n - p30.c_coolant_n - coalesce(tx.x30_coolant_n, 0)), (l2.c_coolant_sx - p30.c_coolant_sx - coalesce(tx.x30_coolant_sx, 0)),
                      (l2.c_coolant_sxx - p30.c_coolant_sxx - coalesce(tx.x30_coolant_sxx, 0)), (l2.c_coolant_sy - p30.c_coolant_sy - coalesce(tx.x30_coolant_sy, 0)),
                      (l2.c_coolant_sxy - p30.c_coolant_sxy - coalesce(tx.x30_coolant_sxy, 0))) AS coolant_slope_30,
           feat_slope((l2.c_hyd_n - p14.c_hyd_n - coalesce(tx.x14_hyd_n, 0)), (l2.c_hyd_sx - p14.c_hyd_sx - coalesce(tx.x14_hyd_sx, 0)),
                      (l2.c_hyd_sxx - p14.c_hyd_sxx - coalesce(tx.x14_hyd_sxx, 0)), (l2.c_hyd_sy - p14.c_hyd_sy - coalesce(tx.x14_hyd_sy, 0)),
                      (l2.c_hyd_sxy - p14.c_hyd_sxy - coalesce(tx.x14_hyd_sxy, 0))) AS hyd_slope_14,
           feat_slope((l2.c_hyd_n - p30.c_hyd_n - coalesce(tx.x30_hyd_n, 0)), (l2.c_hyd_sx - p30.c_hyd_sx - coalesce(tx.x30_hyd_sx, 0)),
                      (l2.c_hyd_sxx - p30.c_hyd_sxx - coalesce(tx.x30_hyd_sxx, 0)), (l2.c_hyd_sy - p30.c_hyd_sy - coalesce(tx.x30_hyd_sy, 0)),
                      (l2.c_hyd_sxy - p30.c_hyd_sxy - coalesce(tx.x30_hyd_sxy, 0))) AS hyd_slope_30,
           feat_slope((l2.c_press_n - p14.c_press_n - coalesce(tx.x14_press_n, 0)), (l2.c_press_sx - p14.c_press_sx - coalesce(tx.x14_press_sx, 0)),
                      (l2.c_press_sxx - p14.c_press_sxx - coalesce(tx.x14_press_sxx, 0)), (l2.c_press_sy - p14.c_press_sy - coalesce(tx.x14_press_sy, 0)),
                      (l2.c_press_sxy - p14.c_press_sxy - coalesce(tx.x14_press_sxy, 0))) AS press_slope_14,
           feat_slope((l2.c_press_n - p30.c_press_n - coalesce(tx.x30_press_n, 0)), (l2.c_press_sx - p30.c_press_sx - coalesce(tx.x30_press_sx, 0)),
                      (l2.c_press_sxx - p30.c_press_sxx - coalesce(tx.x30_press_sxx, 0)), (l2.c_press_sy - p30.c_press_sy - coalesce(tx.x30_press_sy, 0)),
                      (l2.c_press_sxy - p30.c_press_sxy - coalesce(tx.x30_press_sxy, 0))) AS press_slope_30,
           (l2.c_fa - p1.c_fa - coalesce(fx.y1_fa, 0)) AS fa_1,
           (l2.c_fa - p7.c_fa - coalesce(fx.y7_fa, 0)) AS fa_7,
           (l2.c_fa - p30.c_fa - coalesce(fx.y30_fa, 0)) AS fa_30,
           (l2.c_f_engine - p7.c_f_engine - coalesce(fx.y7_f_engine, 0)) AS f_engine_7,
           (l2.c_f_engine - p30.c_f_engine - coalesce(fx.y30_f_engine, 0)) AS f_engine_30,
           (l2.c_f_hydraulic_pump - p7.c_f_hydraulic_pump - coalesce(fx.y7_f_hydraulic_pump, 0)) AS f_hydraulic_pump_7,
           (l2.c_f_hydraulic_pump - p30.c_f_hydraulic_pump - coalesce(fx.y30_f_hydraulic_pump, 0)) AS f_hydraulic_pump_30,
           (l2.c_f_main_valve - p7.c_f_main_valve - coalesce(fx.y7_f_main_valve, 0)) AS f_main_valve_7,
           (l2.c_f_main_valve - p30.c_f_main_valve - coalesce(fx.y30_f_main_valve, 0)) AS f_main_valve_30,
           (l2.c_f_swing - p7.c_f_swing - coalesce(fx.y7_f_swing, 0)) AS f_swing_7,
           (l2.c_f_swing - p30.c_f_swing - coalesce(fx.y30_f_swing, 0)) AS f_swing_30,
           (l2.c_f_travel_drive - p7.c_f_travel_drive - coalesce(fx.y7_f_travel_drive, 0)) AS f_travel_drive_7,
           (l2.c_f_travel_drive - p30.c_f_travel_drive - coalesce(fx.y30_f_travel_drive, 0)) AS f_travel_drive_30,
           (l2.c_f_undercarriage - p7.c_f_undercarriage - coalesce(fx.y7_f_undercarriage, 0)) AS f_undercarriage_7,
           (l2.c_f_undercarriage - p30.c_f_undercarriage - coalesce(fx.y30_f_undercarriage, 0)) AS f_undercarriage_30,
           (l2.c_f_cooling - p7.c_f_cooling - coalesce(fx.y7_f_cooling, 0)) AS f_cooling_7,
           (l2.c_f_cooling - p30.c_f_cooling - coalesce(fx.y30_f_cooling, 0)) AS f_cooling_30,
           (l2.c_f_electrical - p7.c_f_electrical - coalesce(fx.y7_f_electrical, 0)) AS f_electrical_7,
           (l2.c_f_electrical - p30.c_f_electrical - coalesce(fx.y30_f_electrical, 0)) AS f_electrical_30,
           (l2.c_new - p7.c_new) AS new_7,
           coalesce(cd.codes, 0) AS codes_7,
           coalesce(cd.high_oc, 0) AS high_oc_7,
           coalesce(bd.b_all, 0) AS b_all,
           coalesce(bd.b_engine, 0) AS b_engine,
           coalesce(bd.b_hydraulic_pump, 0) AS b_hydraulic_pump,
           coalesce(bd.b_main_valve, 0) AS b_main_valve,
           coalesce(bd.b_swing, 0) AS b_swing,
           coalesce(bd.b_travel_drive, 0) AS b_travel_drive,
           coalesce(bd.b_undercarriage, 0) AS b_undercarriage,
           coalesce(bd.b_cooling, 0) AS b_cooling,
           coalesce(bd.b_electrical, 0) AS b_electrical,
           (l2.first_day IS NOT NULL AND l2.first_day <= mm.delivery_date + 30) AS from_new
    FROM fb_grid l2
    JOIN fb_grid p1 ON p1.mi = l2.mi AND p1.day = l2.day - 1
    JOIN fb_grid p7 ON p7.mi = l2.mi AND p7.day = l2.day - 7
    JOIN fb_grid p14 ON p14.mi = l2.mi AND p14.day = l2.day - 14
    JOIN fb_grid p30 ON p30.mi = l2.mi AND p30.day = l2.day - 30
    LEFT JOIN fb_h90 h90 ON h90.mi = l2.mi AND h90.day = l2.day
    JOIN fb_machines mm ON mm.mi = l2.mi
    LEFT JOIN fb_tel_x tx ON tx.mi = l2.mi AND tx.day = l2.day
    LEFT JOIN fb_fault_x fx ON fx.mi = l2.mi AND fx.day = l2.day
    LEFT JOIN fb_codes cd ON cd.mi = l2.mi AND cd.day = l2.day
    LEFT JOIN fb_breakdowns bd ON bd.mi = l2.mi AND bd.day = l2.day
    -- every join is on (mi, day), so one sort order serves them all
    WHERE l2.day >= %(d0)s AND l2.day >= mm.delivery_date

) l3

-- name: catalogue_spns
-- The imported catalogue's fault codes with the family of the component each points at
-- (these take precedence over the built-in SPN list for the same SPN).
SELECT spn, fleetcare_component_family(component) FROM catalogue_fault_codes ORDER BY spn

-- name: chunk_settings
-- Planner settings for one chunk's transaction. The window sorts hold a chunk's grid in
-- memory instead of spilling to disk; JIT compiling the wide feature query costs seconds
-- per chunk and gains less; merge joins would re-sort the wide day rows at every join,
-- hash joins stream them.
SET LOCAL work_mem = '512MB';
SET LOCAL jit = off;
SET LOCAL enable_mergejoin = off;

-- name: insert_features
-- A chunk's rows where no day has stored rows yet: no conflicts to look for
-- ({cols}: key and daily columns; {select}: feature_rows).
INSERT INTO features_daily ({cols}) {select};

-- name: upsert_features
-- A chunk's rows over stored days: only rows whose values changed are written
-- ({upd}, {excl}, {cur}: the updated columns bare, of excluded and of features_daily).
INSERT INTO features_daily ({cols}) {select}
ON CONFLICT (day, machine_id) DO UPDATE SET ({upd}) = ROW({excl})
WHERE ({cur}) IS DISTINCT FROM ({excl});

-- name: has_rows
-- Whether any feature row exists in [first, last].
SELECT EXISTS (SELECT 1 FROM features_daily WHERE day BETWEEN %s AND %s);

-- name: data_span
-- The first event day and the last known day in the rollups and work orders (%(tz)s).
SELECT least((SELECT min(day) FROM feat_telemetry_daily),
             (SELECT min((ts AT TIME ZONE %(tz)s)::date) FROM service_records)),
       greatest((SELECT max(known_day) FROM feat_telemetry_daily),
                (SELECT max((greatest(ts, arrived_at) AT TIME ZONE %(tz)s)::date)
                 FROM service_records));

-- name: delivered_machines
-- How many machines are delivered by a day.
SELECT count(*) FROM machines WHERE delivery_date <= %s;

-- name: job_lock
-- Serialise a job's watermark moves (transaction-level advisory lock on its name).
SELECT pg_advisory_xact_lock(hashtext(%s));

-- name: sync_catalogue_start
-- Lock out other catalogue syncs; staging tables for the active catalogue's SPN
-- families and product-line items.
SELECT pg_advisory_xact_lock(hashtext('features.catalogue'));
CREATE TEMP TABLE feat_new_spn (LIKE feat_spn_components) ON COMMIT DROP;
CREATE TEMP TABLE feat_new_items (LIKE feat_line_items) ON COMMIT DROP;

-- name: stage_spn
-- One SPN and its component.
INSERT INTO feat_new_spn VALUES (%s, %s);

-- name: stage_item
-- One product line's component or wear part.
INSERT INTO feat_new_items VALUES (%s, %s, %s);

-- name: sync_catalogue_apply
-- Replace what differs, so an unchanged catalogue writes nothing.
DELETE FROM feat_spn_components s WHERE NOT EXISTS (
    SELECT 1 FROM feat_new_spn n WHERE n.spn = s.spn AND n.component = s.component);
INSERT INTO feat_spn_components SELECT * FROM feat_new_spn ON CONFLICT (spn) DO NOTHING;
DELETE FROM feat_line_items i WHERE NOT EXISTS (
    SELECT 1 FROM feat_new_items n
     WHERE (n.product_line, n.item, n.kind) = (i.product_line, i.item, i.kind));
INSERT INTO feat_line_items SELECT * FROM feat_new_items
    ON CONFLICT (product_line, item) DO NOTHING;
