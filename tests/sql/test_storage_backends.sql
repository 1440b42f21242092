-- Statements of tests/test_storage_backends.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions VALUES ('east', 'East China', 'growth', 'south', 31.2, 121.5);
INSERT INTO customers VALUES ('C1', 'Acme Build', 'city', true, 'east', NULL);
INSERT INTO stations VALUES ('S1', 'Shanghai', 'east', 31.2, 121.4, 3);
INSERT INTO machines (machine_id, model, product_line, customer_id, region_id, station_id,
                      delivery_date, warranty_end)
VALUES ('M1', 'ZY210', 'crawler_excavator', 'C1', 'east', 'S1', '2024-01-10', '2026-01-10');

-- name: insert_telemetry
-- Test rows into telemetry.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, engine_hours, coolant_temp_c)
VALUES ('M1', %s, %s, %s, %s, 85) ON CONFLICT DO NOTHING;

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;

-- name: telemetry_seq
-- seq, engine_hours of telemetry where machine_id = 'M1'.
SELECT seq, engine_hours FROM telemetry WHERE machine_id = 'M1' ORDER BY ts;

-- name: telemetry_date_trunc_day
-- date_trunc('day', ts AT TIME ZONE 'Asia/Shanghai')::date AS day, max(engine_hours) - mi...
SELECT date_trunc('day', ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
       max(engine_hours) - min(engine_hours) AS hours, count(*)
FROM telemetry GROUP BY 1 ORDER BY 1;

-- name: insert_fault_codes
-- Test rows into fault_codes.
INSERT INTO fault_codes (machine_id, seq, ts, arrived_at, spn, fmi, oc, active)
VALUES ('M1', 1, %(t)s, %(t)s, 110, 0, 1, true),
       ('M1', 1, %(t)s, %(t)s, 110, 0, 1, true)
ON CONFLICT DO NOTHING;

-- name: count_fault_codes
-- Rows in fault_codes.
SELECT count(*) FROM fault_codes;

-- name: insert_service_records
-- Test rows into service_records.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, components,
                             parts, downtime_h, cost_cny)
VALUES ('M1', 1, %(t)s, %(t)s, 'breakdown', '{hydraulic_pump}',
        '[{"part": "seal_kit", "qty": 2}]', 6.5, 12000);

-- name: service_records_p_part
-- p->>'part', (p->>'qty')::int of service_records.
SELECT p->>'part', (p->>'qty')::int FROM service_records,
jsonb_array_elements(parts) p;
