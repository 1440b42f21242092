-- Statements of tests/test_import.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions (region_id, name, market, climate, lat, lon) VALUES ('ex-east', 'East',
    'growth', 'south', 31.2, 121.5);

-- name: dead_letters_source
-- source, reason, detail of dead_letters.
SELECT source, reason, detail FROM dead_letters ORDER BY id;

-- name: service_records_parts
-- parts, components, source of service_records where machine_id = 'HX00001'.
SELECT parts, components, source FROM service_records WHERE machine_id = 'HX00001';

-- name: telemetry_hours_hours
-- hours of telemetry_hours where machine_id = 'HX00001'.
SELECT hours FROM telemetry_hours WHERE machine_id = 'HX00001' ORDER BY ts;

-- name: telemetry_fuel_used_l
-- fuel_used_l of telemetry where machine_id = 'HX00002' AND engine_hours = 1230.
SELECT fuel_used_l FROM telemetry WHERE machine_id = 'HX00002' AND engine_hours = 1230;

-- name: dead_letters_detail
-- detail of dead_letters where source = 'import:telemetry_bad_rows.csv'.
SELECT detail FROM dead_letters WHERE source = 'import:telemetry_bad_rows.csv';

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;

-- name: table_rows
-- Every row of a table ({table}), ordered by its first two columns.
SELECT * FROM {table} ORDER BY 1, 2;
