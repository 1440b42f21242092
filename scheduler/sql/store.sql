-- Statements of scheduler/store.py: the planners' inputs (master data, scores, stock) and
-- their plans (write, read, review).

-- name: stations
-- The stations to plan for (%(stations)s: ids, NULL for all) as Station rows.
SELECT station_id, lat, lon, technicians, region_id
  FROM stations
 WHERE %(stations)s::text[] IS NULL OR station_id = ANY(%(stations)s)
 ORDER BY station_id;

-- name: machines
-- Every machine as of %(as_of)s: where it is, its customer, meter readings, last visit.
-- Where a machine is: its latest reported position, else its registered site. Time
-- bounds are written as `ts < day + 1` so the (machine_id, ts) indexes serve them.
-- The last visit is the service network's last inspection (a 保健 visit or the maker's
-- routine one): a customer's own booked oil change or a part fitted on condition is
-- not a visit that saw the machine's condition.
SELECT m.machine_id, m.station_id, m.product_line, m.region_id, m.delivery_date,
       m.warranty_end, m.customer_id,
       coalesce(c.key_account, false) AS key_account,
       coalesce(c.peak_months, '{}') AS peak_months,
       coalesce(t.lat, m.site_lat) AS lat, coalesce(t.lon, m.site_lon) AS lon,
       t.engine_hours, back.engine_hours AS hours_28d_ago, svc.engine_hours AS service_hours,
       (SELECT max(s.ts)::date FROM service_records s
         WHERE s.machine_id = m.machine_id AND s.kind = 'inspection'
           AND s.ts < %(as_of)s::date + 1) AS last_visit
  FROM machines m
  LEFT JOIN customers c USING (customer_id)
  LEFT JOIN LATERAL (
        SELECT lat, lon, engine_hours FROM telemetry
         WHERE machine_id = m.machine_id AND ts < %(as_of)s::date + 1
         ORDER BY ts DESC LIMIT 1) t ON true
  -- The meter four weeks back: recent hours per day date the next hour-interval service.
  LEFT JOIN LATERAL (
        SELECT engine_hours FROM telemetry
         WHERE machine_id = m.machine_id AND ts < %(as_of)s::date + 1 - 28
         ORDER BY ts DESC LIMIT 1) back ON true
  -- The meter at the last engine-oil change: the maker's hour-interval service.
  LEFT JOIN LATERAL (
        SELECT s.engine_hours FROM service_records s
         WHERE s.machine_id = m.machine_id AND s.ts < %(as_of)s::date + 1
           AND s.parts @> '[{"part": "engine_oil"}]'::jsonb
         ORDER BY s.ts DESC LIMIT 1) svc ON true
 ORDER BY m.machine_id;

-- name: risks
-- The latest risk scores on or before the planning date, per machine and component.
WITH latest AS (
    SELECT machine_id, max(scored_on) AS scored_on FROM risk_scores
     WHERE scored_on <= %(as_of)s GROUP BY machine_id)
SELECT r.machine_id, r.component, r.risk, r.horizon_d, r.reasons
  FROM risk_scores r JOIN latest l USING (machine_id, scored_on);

-- name: wear
-- The latest wear forecasts on or before the planning date, per machine and part.
WITH latest AS (
    SELECT machine_id, max(scored_on) AS scored_on FROM wear_forecasts
     WHERE scored_on <= %(as_of)s GROUP BY machine_id)
SELECT w.machine_id, w.part, w.due_hours, w.due_date, w.due_hours_p10, w.used_hours
  FROM wear_forecasts w JOIN latest l USING (machine_id, scored_on);

-- name: peaks
-- The database's peak seasons per region as month-day ranges.
SELECT region_id, start_month, start_day, end_month, end_day FROM region_peaks
 ORDER BY region_id, start_month, start_day;

-- name: stock
-- Parts on hand and on order per station.
SELECT station_id, part, on_hand, on_order FROM station_stock;

-- name: parts_used
-- Parts used per station in a past period ("same as last season"), [start, end).
SELECT coalesce(s.station_id, m.station_id) AS station_id, p.elem->>'part' AS part,
       sum((p.elem->>'qty')::numeric)::int AS qty
  FROM service_records s
  JOIN machines m USING (machine_id)
  CROSS JOIN LATERAL jsonb_array_elements(s.parts) AS p(elem)
 WHERE s.ts >= %(start)s AND s.ts < %(end)s
 GROUP BY 1, 2;

-- name: has_history
-- Whether any service record is older than %(end)s.
SELECT EXISTS (SELECT 1 FROM service_records WHERE ts < %(end)s);

-- name: latest_score_date
-- The newest scoring date.
SELECT max(scored_on) FROM risk_scores;

-- name: insert_plan
-- A new plan, proposed; returns its id.
INSERT INTO plans (kind, created_by, window_start, window_end, status, params, summary)
VALUES (%s, %s, %s, %s, 'proposed', %s, %s) RETURNING plan_id;

-- name: copy_visits
-- A visit plan's visits.
COPY plan_visits (plan_id, machine_id, station_id, visit_date, technician, trip, stop,
                  value_cny, avoided_cny, travel_km, reasons, parts, work, trip_days)
FROM STDIN;

-- name: copy_parts
-- A parts plan's lines.
COPY plan_parts (plan_id, station_id, part, tier, season, season_start, season_end,
                 demand_mean, demand_sd, service_level, target_stock, on_hand, on_order,
                 order_qty, needed_by, lead_time_days, order_by, late, unit_price_cny,
                 order_value_cny, naive_qty) FROM STDIN;

-- name: list_plans
-- The newest plans (of a kind, or all) with their size and latest review.
SELECT p.plan_id, p.kind, p.status, p.created_at, p.created_by,
       p.window_start, p.window_end,
       coalesce((p.summary->>'visits')::int,
                (p.summary->>'order_lines')::int) AS size,
       r.actor AS reviewed_by, r.at AS reviewed_at
  FROM plans p
  LEFT JOIN LATERAL (SELECT actor, at FROM plan_reviews
                      WHERE plan_id = p.plan_id
                      ORDER BY at DESC LIMIT 1) r ON true
 WHERE %(kind)s::text IS NULL OR p.kind = %(kind)s
 ORDER BY p.plan_id DESC LIMIT %(limit)s;

-- name: plan_history
-- Every review of a plan, oldest first.
SELECT at, actor, action, comment FROM plan_reviews WHERE plan_id = %s ORDER BY at;

-- name: read_plan
-- One plan's row.
SELECT * FROM plans WHERE plan_id = %s;

-- name: latest_plan_id
-- The newest non-rejected plan of a kind, optionally covering a day and made for all
-- stations or the given one.
SELECT plan_id FROM plans
 WHERE kind = %(kind)s AND status <> 'rejected'
   AND (%(day)s::date IS NULL OR %(day)s BETWEEN window_start AND window_end)
   AND (%(station)s::text IS NULL OR params->>'station' IS NULL
        OR params->>'station' = %(station)s)
 ORDER BY created_at DESC, plan_id DESC LIMIT 1;

-- name: read_visits
-- A plan's visits (of one station or all) in route order.
SELECT station_id, visit_date, technician, trip, stop, machine_id, value_cny,
       avoided_cny, travel_km, reasons, parts, work, trip_days
  FROM plan_visits
 WHERE plan_id = %s AND (%s::text IS NULL OR station_id = %s)
 ORDER BY station_id, visit_date, technician, stop;

-- name: read_parts
-- A plan's order lines (of one station or all) by order date.
SELECT * FROM plan_parts
 WHERE plan_id = %s AND (%s::text IS NULL OR station_id = %s)
 ORDER BY station_id, order_by, part;

-- name: latest_weekly_visit_plan
-- The newest non-rejected weekly (not dispatch) visit plan whose window holds %(day)s.
SELECT plan_id, window_start, (params->>'scored_on')::date AS scored_on FROM plans
 WHERE kind = 'visits' AND status <> 'rejected'
   AND coalesce((params->>'dispatch')::boolean, false) = false
   AND %(day)s BETWEEN window_start AND window_end
 ORDER BY created_at DESC, plan_id DESC LIMIT 1;

-- name: top_risks_on
-- Each machine's highest component risk scored on a day.
SELECT machine_id, max(risk) FROM risk_scores WHERE scored_on = %s GROUP BY machine_id;

-- name: week_plan_machines
-- Machines a plan visits in the week starting on a day.
SELECT machine_id FROM plan_visits
 WHERE plan_id = %s AND visit_date >= %s AND visit_date < %s + 7;

-- name: week_dispatch_plans
-- Dispatch plans not rejected whose window starts in [week start, day).
SELECT plan_id, summary FROM plans
 WHERE kind = 'visits' AND status <> 'rejected'
   AND coalesce((params->>'dispatch')::boolean, false)
   AND window_start >= %s AND window_start < %s;

-- name: plan_machines
-- Every machine a plan visits.
SELECT machine_id FROM plan_visits WHERE plan_id = %s;

-- name: lock_plan_status
-- A plan's status, locked for a review.
SELECT status FROM plans WHERE plan_id = %s FOR UPDATE;

-- name: set_plan_status
-- A reviewed plan's new status.
UPDATE plans SET status = %s WHERE plan_id = %s;

-- name: add_review
-- Who decided what on a plan, and why.
INSERT INTO plan_reviews (plan_id, actor, action, comment) VALUES (%s, %s, %s, %s);
