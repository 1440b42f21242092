-- The analysts' reads (features/analysis.py, the notebooks): whole-history views of the
-- fleet, its use, its gateways and its failures. They read the daily rollups rather than
-- raw telemetry, so a notebook costs the same small scan as a feature build. Days are
-- fleet-local (%(tz)s, features/days.py).

-- name: fleet
-- Every machine with its product line, region, station and delivery date.
SELECT m.machine_id, m.model, m.product_line, m.region_id, r.name AS region_name,
       r.climate, m.station_id, m.customer_id, m.delivery_date, m.warranty_end
FROM machines m
JOIN regions r USING (region_id)
ORDER BY m.machine_id;

-- name: fleet_size
-- How many machines the database knows.
SELECT count(*) FROM machines;

-- name: region_peaks
-- Each region's peak seasons as recurring month-day ranges.
SELECT region_id, name, start_month, start_day, end_month, end_day
FROM region_peaks
ORDER BY region_id, start_month, start_day;

-- name: daily_hours
-- Operating hours per machine and event day: the day's highest hour meter (resets
-- removed) less the previous day's, only where the previous day has a reading too.
WITH days AS (
    SELECT machine_id, day, max(hours_max) AS hours_max
    FROM feat_telemetry_daily
    WHERE hours_max IS NOT NULL
    GROUP BY machine_id, day
), steps AS (
    SELECT machine_id, day,
           hours_max - lag(hours_max) OVER w AS hours,
           day - lag(day) OVER w AS after_days
    FROM days
    WINDOW w AS (PARTITION BY machine_id ORDER BY day)
)
SELECT s.machine_id, m.region_id, m.product_line, s.day, s.hours
FROM steps s
JOIN machines m USING (machine_id)
WHERE s.after_days = 1
ORDER BY s.machine_id, s.day;

-- name: gateways
-- Per machine: the days its gateway reported, how far behind the fleet's newest day its
-- last report is, its longest silence between reports, and the hours it logged.
WITH days AS (
    SELECT machine_id, day, sum(n) AS readings, max(hours_max) AS hours_max
    FROM feat_telemetry_daily
    GROUP BY machine_id, day
), gaps AS (
    SELECT machine_id, day, readings, hours_max,
           day - lag(day) OVER (PARTITION BY machine_id ORDER BY day) - 1 AS silent_days
    FROM days
), per_machine AS (
    SELECT machine_id, min(day) AS first_day, max(day) AS last_day,
           count(*) AS days_reported, sum(readings) AS readings,
           coalesce(max(silent_days), 0) AS longest_gap_days,
           count(*) FILTER (WHERE silent_days > 0) AS gaps,
           max(hours_max) - min(hours_max) AS hours_logged
    FROM gaps
    GROUP BY machine_id
)
SELECT m.machine_id, m.product_line, m.region_id, p.first_day, p.last_day,
       coalesce(p.days_reported, 0) AS days_reported, coalesce(p.readings, 0) AS readings,
       p.longest_gap_days, p.gaps, p.hours_logged,
       (SELECT max(day) FROM days) - p.last_day AS days_behind
FROM machines m
LEFT JOIN per_machine p USING (machine_id)
ORDER BY days_behind DESC NULLS FIRST, m.machine_id;

-- name: service_events
-- Every work order, one row per component it names (none: one row with NULL), as the
-- component's family, with the fleet-local day it happened.
SELECT s.machine_id, s.ts, (s.ts AT TIME ZONE %(tz)s)::date AS day, s.kind,
       fleetcare_component_family(c.component) AS component, s.engine_hours, s.downtime_h,
       s.cost_cny::float8 AS cost_cny
FROM service_records s
LEFT JOIN LATERAL unnest(CASE WHEN cardinality(s.components) = 0 THEN ARRAY[NULL::text]
                              ELSE s.components END) AS c(component) ON true
ORDER BY s.machine_id, s.ts;

-- name: codes_before_breakdowns
-- For each breakdown and each fault code active on the same machine in the
-- %(window_d)s days before it: the first such day and how many days before the breakdown.
WITH breakdowns AS (
    SELECT DISTINCT s.machine_id, (s.ts AT TIME ZONE %(tz)s)::date AS day,
           fleetcare_component_family(c.component) AS component
    FROM service_records s
    CROSS JOIN LATERAL unnest(s.components) AS c(component)
    WHERE s.kind = 'breakdown'
)
SELECT b.machine_id, b.day AS breakdown_day, b.component, f.spn, f.fmi,
       sc.component AS code_component, min(f.day) AS first_day,
       b.day - min(f.day) AS lead_days
FROM breakdowns b
JOIN feat_fault_daily f
  ON f.machine_id = b.machine_id AND f.n_active > 0
 AND f.day >= b.day - %(window_d)s AND f.day < b.day
LEFT JOIN feat_spn_components sc ON sc.spn = f.spn
GROUP BY b.machine_id, b.day, b.component, f.spn, f.fmi, sc.component
ORDER BY b.machine_id, b.day, lead_days DESC;
