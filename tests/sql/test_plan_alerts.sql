-- Statements of tests/test_plan_alerts.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions VALUES ('central', 'Central China', 'growth', 'south', %s, %s);

-- name: insert_customers
-- Test rows into customers.
INSERT INTO customers VALUES ('C', 'Works', 'municipal', false, 'central', NULL);

-- name: insert_stations
-- Test rows into stations.
INSERT INTO stations VALUES ('S1', 'Wuhan', 'central', 30.59, 114.31, 3);

-- name: insert_machines
-- Test rows into machines.
INSERT INTO machines (machine_id, model, product_line, customer_id, region_id, station_id,
    delivery_date, warranty_end, site_lat, site_lon) VALUES (%s, 'X', 'crawler_excavator',
    'C', 'central', 'S1', '2021-05-01', '2022-05-01', 30.59, %s);

-- name: insert_risk_scores
-- Test rows into risk_scores.
INSERT INTO risk_scores (scored_on, machine_id, component, horizon_d, risk, reasons) VALUES
    (%s, %s, 'hydraulic_pump', 30, %s, '[]');

-- name: plans_params
-- params of plans where plan_id = %s.
SELECT params FROM plans WHERE plan_id = %s;

-- name: insert_service_records
-- Test rows into service_records.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, parts, station_id)
    VALUES ('M0', 1, '2025-02-25', '2025-02-25', 'preventive', %s, 'S1'), ('M1', 1,
    '2025-02-26', '2025-02-26', 'preventive', %s, 'S1'), ('M2', 1, '2025-02-27',
    '2025-02-27', 'inspection', '[]', 'S1');
