-- Reading features out: the per-day rows with the machine's context, and labels.
-- Parameters: %(first)s, %(last)s day range; %(machines)s optional ids; %(tz)s fleet zone;
-- %(horizon_d)s label horizon H in days; %(known_until)s last day whose future is known.
-- Context comes from master data as it is now (master data keeps no history) and the
-- calendar; everything in it is known at the start of the day.

-- name: frame
-- Features for a range of days: context columns, then the stored daily ones ({daily}),
-- then labels when asked ({labels}, {label_join}).
WITH peak_days AS (
    -- Every region's peak seasons around the range (month-day ranges recur yearly).
    SELECT p.region_id,
           make_date(y, p.start_month, 1) + (p.start_day - 1) AS starts,
           make_date(y + CASE WHEN (p.end_month, p.end_day) < (p.start_month, p.start_day)
                              THEN 1 ELSE 0 END, p.end_month, 1) + (p.end_day - 1) AS ends
    FROM region_peaks p
    CROSS JOIN generate_series(extract(year FROM %(first)s::date)::integer - 1,
                               extract(year FROM %(last)s::date)::integer + 1) AS y
),
season AS (
    SELECT pd.region_id, d::date AS day,
           bool_or(d::date BETWEEN pd.starts AND pd.ends) AS in_peak,
           min(pd.starts - d::date) FILTER (WHERE pd.starts > d::date) AS to_start
    FROM peak_days pd
    CROSS JOIN generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d
    GROUP BY pd.region_id, d::date
)
SELECT f.day,
       f.machine_id,
       m.product_line AS product_line,  -- [category] product line (一品一案 policy unit)
       m.model AS model,  -- [category] model code, e.g. ZY210
       m.region_id AS region_id,  -- [category] sales and service region
       cu.segment AS segment,  -- [category] customer segment (city, railway, water, ...)
       coalesce(cu.key_account, false) AS key_account,  -- [bool] customer is a key account
       (f.day - m.delivery_date) AS age_days,  -- [d] days since delivery
       (m.warranty_end IS NOT NULL AND f.day <= m.warranty_end) AS in_warranty,  -- [bool] under warranty (三包) on the day
       (m.warranty_end - f.day) AS warranty_days_left,  -- [d] days until warranty ends (negative: ended)
       coalesce(s.in_peak, false) AS in_peak,  -- [bool] the day is in the region's peak season
       CASE WHEN s.in_peak THEN 0 ELSE s.to_start END AS days_to_peak,  -- [d] days until the region's next peak season starts (0 inside one)
       (f.engine_hours / (f.day - m.delivery_date + 1))::real AS hours_per_day_life,  -- [h/d] engine hours per calendar day since delivery
       {daily}{labels}
FROM features_daily f
JOIN machines m ON m.machine_id = f.machine_id
LEFT JOIN customers cu ON cu.customer_id = m.customer_id
LEFT JOIN season s ON s.region_id = m.region_id AND s.day = f.day
{label_join}
WHERE f.day BETWEEN %(first)s AND %(last)s
  AND (%(day_set)s::date[] IS NULL OR f.day = ANY(%(day_set)s::date[]))
  AND (%(machines)s::text[] IS NULL OR f.machine_id = ANY(%(machines)s::text[]))
ORDER BY f.day, f.machine_id

-- name: label_join
-- Per machine and day, the components that broke down within H days after it (breakdowns
-- on days D+1 .. D+H, all data as known now: labels look ahead by definition), and which
-- components the machine's product line has.
LEFT JOIN (
    SELECT b.machine_id, b.e - h AS day,
           array_agg(DISTINCT fleetcare_component_family(c)) AS failed
    FROM (SELECT machine_id, (ts AT TIME ZONE %(tz)s)::date AS e, components
          FROM service_records WHERE kind = 'breakdown') b
    CROSS JOIN LATERAL unnest(b.components) AS c
    CROSS JOIN generate_series(1, %(horizon_d)s) AS h
    GROUP BY b.machine_id, b.e - h
) lb ON lb.machine_id = f.machine_id AND lb.day = f.day
LEFT JOIN (SELECT product_line, array_agg(item) AS items FROM feat_line_items
           WHERE kind = 'component' GROUP BY product_line) li ON li.product_line = m.product_line

-- name: label_column
-- One component's label: true if it failed within H days after the day; false only when
-- the whole window D+1 .. D+H is known; NULL (censored) otherwise, or if the machine has
-- no such component.
CASE WHEN li.items IS NOT NULL AND NOT ({component} = ANY(li.items)) THEN NULL
     WHEN {component} = ANY(lb.failed) THEN true
     WHEN f.day + %(horizon_d)s <= %(known_until)s THEN false
END

-- name: day_span
-- The first and last day with feature rows.
SELECT min(day), max(day) FROM features_daily

-- name: wear_intervals
-- Life intervals of wear parts for survival models: from a fitting (delivery, for machines
-- seen from new, or a replacement) to the next replacement (event = 1) or to the end of
-- what is known (%(known_until)s; event = 0, right-censored). Hours are the monotonic
-- hour meter at each end (all data as known now).
WITH fitted AS (
    SELECT s.machine_id, p->>'part' AS part, s.ts
    FROM service_records s
    JOIN machines mm ON mm.machine_id = s.machine_id
    CROSS JOIN LATERAL jsonb_array_elements(s.parts) AS p
    -- wear parts of the machine's product line only (repair parts have no life to model)
    JOIN feat_line_items li ON li.product_line = mm.product_line AND li.kind = 'part'
                           AND li.item = p->>'part'
    WHERE (s.ts AT TIME ZONE %(tz)s)::date <= %(known_until)s
      AND (%(machines)s::text[] IS NULL OR s.machine_id = ANY(%(machines)s::text[]))
),
first_seen AS (
    SELECT machine_id, min(day) AS first_day FROM feat_telemetry_daily GROUP BY machine_id
),
events AS (
    -- a new machine's parts are fitted at delivery (meter at 0)
    SELECT m.machine_id, li.item AS part, m.delivery_date AS day, 0::float8 AS hours
    FROM machines m
    JOIN feat_line_items li ON li.product_line = m.product_line AND li.kind = 'part'
    JOIN first_seen fs ON fs.machine_id = m.machine_id
    WHERE fs.first_day <= m.delivery_date + 30
      AND (%(machines)s::text[] IS NULL OR m.machine_id = ANY(%(machines)s::text[]))
    UNION ALL
    SELECT f.machine_id, f.part, (f.ts AT TIME ZONE %(tz)s)::date,
           (SELECT t.hours FROM telemetry_hours t
            WHERE t.machine_id = f.machine_id AND t.ts <= f.ts
            ORDER BY t.ts DESC LIMIT 1)
    FROM fitted f
),
ends AS (
    SELECT t.machine_id, max(t.hours_max) AS hours
    FROM feat_telemetry_daily t
    WHERE t.day <= %(known_until)s
    GROUP BY t.machine_id
),
spans AS (
    SELECT e.machine_id, e.part, e.day AS start_day, e.hours AS start_hours,
           lead(e.day) OVER w AS end_day, lead(e.hours) OVER w AS end_hours
    FROM events e
    WINDOW w AS (PARTITION BY e.machine_id, e.part ORDER BY e.day, e.hours)
)
SELECT s.machine_id, s.part, s.start_day,
       coalesce(s.end_day, %(known_until)s::date) AS end_day,
       (coalesce(s.end_hours, en.hours) - s.start_hours)::real AS hours,
       (s.end_day IS NOT NULL) AS event,
       m.product_line, m.model, m.region_id, cu.segment
FROM spans s
JOIN machines m ON m.machine_id = s.machine_id
LEFT JOIN customers cu ON cu.customer_id = m.customer_id
LEFT JOIN ends en ON en.machine_id = s.machine_id
WHERE s.start_hours IS NOT NULL
ORDER BY s.machine_id, s.part, s.start_day

-- name: copy_csv
-- Stream a query's rows out as CSV ({query}), read straight into Arrow.
COPY ({query}) TO STDOUT (FORMAT csv);
