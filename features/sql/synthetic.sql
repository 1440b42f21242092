-- Synthetic raw data for `fleetcare bench features` when no simulator data is wanted:
-- plain generate_series, shaped like the fleet (hourly readings on working days, late
-- store-and-forward uploads, fault codes, services and breakdowns), no wear model.
-- Parameters: %(start)s first day, %(d_lo)s..%(d_hi)s day numbers, %(lo)s..%(hi)s
-- machine numbers, %(tz)s fleet zone, %(received_now)s false = rows are stamped as received
-- when they arrived (history loaded as a live ingest would have), true = now. Machine n is 'B' || lpad(n, 6, '0'). Pseudo-random numbers come from
-- hashes of (machine, day), so a day generated twice is the same day.

-- name: customers
-- Customers (one per ten machines) and machines, spread over the catalogue's regions and
-- product lines (given as arrays %(regions)s, %(lines)s, %(models)s, %(segments)s).
WITH m AS (
    SELECT n, 'B' || lpad(n::text, 6, '0') AS machine_id
    FROM generate_series(%(lo)s::integer, %(hi)s::integer) AS n
)
INSERT INTO customers (customer_id, name, segment, key_account, region_id)
SELECT DISTINCT 'BC' || (n / 10), 'bench customer ' || (n / 10),
       (%(segments)s::text[])[1 + (n / 10) %% cardinality(%(segments)s::text[])],
       (n / 10) %% 7 = 0,
       (%(regions)s::text[])[1 + (n / 10) %% cardinality(%(regions)s::text[])]
FROM m
ON CONFLICT DO NOTHING

-- name: machines_rows
-- The machines themselves.
INSERT INTO machines (machine_id, model, product_line, customer_id, region_id, delivery_date,
                      warranty_end)
SELECT 'B' || lpad(n::text, 6, '0'),
       (%(models)s::text[])[1 + n %% cardinality(%(models)s::text[])],
       (%(lines)s::text[])[1 + n %% cardinality(%(lines)s::text[])],
       'BC' || (n / 10),
       (%(regions)s::text[])[1 + (n / 10) %% cardinality(%(regions)s::text[])],
       %(start)s::date - (n * 7919 %% 1000),
       %(start)s::date - (n * 7919 %% 1000) + 365
FROM generate_series(%(lo)s::integer, %(hi)s::integer) AS n
ON CONFLICT DO NOTHING

-- name: telemetry
-- Readings from 08:00, one per engine hour, 5-9 hours on six days a week; 3 %% of
-- machine-days are uploaded 1-3 days late (store-and-forward).
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, received_at, engine_hours, idle_hours,
                       fuel_used_l, lat, lon, coolant_temp_c, hydraulic_oil_temp_c,
                       engine_load_pct, hydraulic_pressure_bar)
SELECT md.machine_id,
       md.d * 24 + r,
       md.ts0 + make_interval(hours => r),
       md.ts0 + make_interval(hours => r) + make_interval(days => md.late_d, mins => 5),
       CASE WHEN %(received_now)s THEN now()
            ELSE least(md.ts0 + make_interval(hours => r)
                       + make_interval(days => md.late_d, mins => 5), now()) END,
       md.hours0 + r + 1,
       (md.hours0 + r + 1) * 0.22,
       (md.hours0 + r + 1) * 14.5,
       31.2, 120.5,
       82 + (md.h1 %% 13) + r * 0.4,
       55 + (md.h1 %% 17) + md.d * 0.01 * (md.n %% 5) + r * 0.8,
       35 + (md.h1 %% 40),
       180 + (md.h1 %% 60)
FROM (
    SELECT n, 'B' || lpad(n::text, 6, '0') AS machine_id, d,
           ((%(start)s::date + d)::timestamp AT TIME ZONE %(tz)s) + interval '8 hours' AS ts0,
           5 + n %% 5 AS per_day,
           -- cumulative hours before day d: per_day on each earlier non-Sunday
           1000 + (n %% 400) * 10 + (5 + n %% 5) * (d - (d - %(first_sunday)s + 6) / 7) AS hours0,
           abs(hashtext(n::text || '/' || d)) AS h1,
           CASE WHEN abs(hashtext(d::text || '/' || n)) %% 100 < 3
                THEN 1 + abs(hashtext(n::text || 'l' || d)) %% 3 ELSE 0 END AS late_d
    FROM generate_series(%(lo)s::integer, %(hi)s::integer) AS n
    CROSS JOIN generate_series(%(d_lo)s::integer, %(d_hi)s::integer) AS d
    WHERE extract(isodow FROM %(start)s::date + d) <> 7
) md
CROSS JOIN LATERAL generate_series(0, md.per_day - 1) AS r

-- name: faults
-- About one active code report per machine every three days, SPNs from the catalogue.
INSERT INTO fault_codes (machine_id, seq, ts, arrived_at, received_at, spn, fmi, oc, active)
SELECT 'B' || lpad(n::text, 6, '0'), d,
       ((%(start)s::date + d)::timestamp AT TIME ZONE %(tz)s) + interval '10 hours',
       ((%(start)s::date + d)::timestamp AT TIME ZONE %(tz)s) + interval '10 hours 5 minutes',
       CASE WHEN %(received_now)s THEN now()
            ELSE least(((%(start)s::date + d)::timestamp AT TIME ZONE %(tz)s)
                       + interval '10 hours 5 minutes', now()) END,
       (%(spns)s::integer[])[1 + abs(hashtext('s' || n || '/' || d)) %% cardinality(%(spns)s::integer[])],
       16, 1 + abs(hashtext('o' || n || '/' || d)) %% 20, true
FROM generate_series(%(lo)s::integer, %(hi)s::integer) AS n
CROSS JOIN generate_series(%(d_lo)s::integer, %(d_hi)s::integer) AS d
WHERE abs(hashtext('f' || n || '/' || d)) %% 3 = 0

-- name: service
-- A preventive 500 h service every 70 days and a breakdown every 240 days per machine.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, components, parts)
SELECT 'B' || lpad(n::text, 6, '0'), d,
       ((%(start)s::date + d)::timestamp AT TIME ZONE %(tz)s) + interval '12 hours',
       ((%(start)s::date + d)::timestamp AT TIME ZONE %(tz)s) + interval '18 hours',
       CASE WHEN (d + n) %% 240 = 0 THEN 'breakdown' ELSE 'preventive' END,
       CASE WHEN (d + n) %% 240 = 0
            THEN ARRAY[(%(components)s::text[])[1 + n %% cardinality(%(components)s::text[])]]
            ELSE ARRAY['engine'] END,
       CASE WHEN (d + n) %% 240 = 0 THEN '[]'::jsonb
            ELSE '[{"part": "engine_oil", "qty": 1}, {"part": "engine_oil_filter", "qty": 1},
                   {"part": "fuel_filter", "qty": 1}]'::jsonb END
FROM generate_series(%(lo)s::integer, %(hi)s::integer) AS n
CROSS JOIN generate_series(%(d_lo)s::integer, %(d_hi)s::integer) AS d
WHERE (d + n) %% 70 = 0 OR (d + n) %% 240 = 0

-- name: region
-- A catalogue region, once.
INSERT INTO regions VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING;

-- name: region_peak
-- A catalogue region's peak season, once.
INSERT INTO region_peaks VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING;
