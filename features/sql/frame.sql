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
  AND (%(machines)s::text[] IS NULL OR f.machine_id = ANY(%(machines)s::text[]))
ORDER BY f.day, f.machine_id

-- name: label_join
-- Per machine and day, the components that broke down within H days after it (breakdowns
-- on days D+1 .. D+H, all data as known now: labels look ahead by definition), and which
-- components the machine's product line has.
LEFT JOIN (
    SELECT b.machine_id, b.e - h AS day, array_agg(DISTINCT c) AS failed
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
