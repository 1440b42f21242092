-- Statements of tests/test_plan_db.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions VALUES ('central', 'Central China', 'growth', 'south', %s, %s);

-- name: insert_region_peaks
-- Test rows into region_peaks.
INSERT INTO region_peaks VALUES ('central', %s, %s, %s, %s, %s);

-- name: insert_customers
-- Test rows into customers.
INSERT INTO customers VALUES ('KEY', 'Big Builder', 'railway', true, 'central', '{4,5}'),
    ('SMALL', 'Small Works', 'municipal', false, 'central', NULL);

-- name: insert_stations
-- Test rows into stations.
INSERT INTO stations VALUES ('S1', 'Wuhan', 'central', 30.59, 114.31, 2), ('S2',
    'Xiangyang', 'central', 32.01, 112.12, 1);

-- name: stations_lat
-- lat, lon of stations where station_id = %s.
SELECT lat, lon FROM stations WHERE station_id = %s;

-- name: insert_machines
-- Test rows into machines.
INSERT INTO machines (machine_id, model, product_line, customer_id, region_id, station_id,
    delivery_date, warranty_end, site_lat, site_lon) VALUES (%s, 'X', %s, %s, 'central', %s,
    %s, %s, %s, %s);

-- name: older_risk
-- An older score the planner must ignore.
INSERT INTO risk_scores (scored_on, machine_id, component, horizon_d, risk, reasons) VALUES
    (%s, %s, %s, 30, %s, '[]');

-- name: latest_risk
-- The latest score of a machine's component.
INSERT INTO risk_scores (scored_on, machine_id, component, horizon_d, risk, reasons) VALUES
    (%s, %s, %s, 30, %s, %s);

-- name: insert_wear_forecasts
-- Test rows into wear_forecasts.
INSERT INTO wear_forecasts (scored_on, machine_id, part, used_hours, due_hours,
    due_hours_p10, due_date) VALUES (%s, %s, 'engine_oil', 540, -40, -60, %s), (%s, %s,
    'hydraulic_return_filter', 700, 300, 200, '2025-04-20');

-- name: past_work_orders
-- Last season's work orders (parts used) at S1.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, parts, station_id)
    VALUES ('OLD-LOW', 1, '2024-03-01', '2024-03-01', 'preventive', %s, 'S1'), ('PUMP', 1,
    '2024-04-15', '2024-04-15', 'breakdown', %s, 'S1');

-- name: insert_station_stock
-- Test rows into station_stock.
INSERT INTO station_stock (station_id, part, on_hand, on_order) VALUES ('S1', 'engine_oil',
    1, 0);

-- name: plans_kind
-- kind, status, window_start, window_end, created_by of plans where plan_id = %s.
SELECT kind, status, window_start, window_end, created_by FROM plans WHERE plan_id = %s;

-- name: plan_visits_machine_id
-- machine_id, station_id, visit_date, reasons, parts of plan_visits where plan_id = %s.
SELECT machine_id, station_id, visit_date, reasons, parts FROM plan_visits WHERE plan_id =
    %s ORDER BY machine_id;

-- name: plans_status
-- status of plans where plan_id = %s.
SELECT status FROM plans WHERE plan_id = %s;

-- name: plan_reviews_actor
-- actor, action, comment of plan_reviews where plan_id = %s.
SELECT actor, action, comment FROM plan_reviews WHERE plan_id = %s;

-- name: plans_params
-- params of plans where plan_id = %s.
SELECT params FROM plans WHERE plan_id = %s;

-- name: plan_parts_station_id
-- station_id, part, needed_by, order_by, lead_time_days, naive_qty of plan_parts where pl...
SELECT station_id, part, needed_by, order_by, lead_time_days, naive_qty FROM plan_parts
    WHERE plan_id = %s AND part = 'engine_oil';

-- name: insert_telemetry
-- Test rows into telemetry.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, engine_hours) VALUES ('OLD-LOW', 1,
    '2025-02-27 10:00+08', '2025-02-27 10:00+08', 930), ('PUMP', 1, '2025-02-27 10:00+08',
    '2025-02-27 10:00+08', 120), ('OLD-LOW', 2, '2025-03-05 10:00+08',
    '2025-03-05 10:00+08', 990);

-- name: oil_change_old_low
-- A recent oil change of OLD-LOW at 700 h.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, parts, station_id,
    engine_hours) VALUES ('OLD-LOW', 2, '2025-01-10', '2025-01-10', 'preventive', %s, 'S1',
    700);
