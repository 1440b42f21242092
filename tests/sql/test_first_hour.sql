-- Statements of tests/test_first_hour.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions (region_id, name, market, climate, lat, lon) VALUES ('ex-east', 'East',
    'growth', 'south', 31.2, 121.5);

-- name: service_records_work_order
-- work_order, technician of service_records where machine_id = 'HX00001' AND seq IN (900,...
SELECT work_order, technician FROM service_records WHERE machine_id = 'HX00001' AND seq IN
    (900, 901);

-- name: count_rows
-- Rows in a table ({table}).
SELECT count(*) FROM {table};
