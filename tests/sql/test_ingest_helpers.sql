-- Statements of tests/test_ingest_helpers.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions (region_id, name, market, climate, lat, lon) VALUES ('t-east',
    'Test East', 'growth', 'south', 31.2, 121.5) ON CONFLICT DO NOTHING;

-- name: insert_machines
-- Test rows into machines.
INSERT INTO machines (machine_id, model, product_line, region_id, delivery_date) VALUES (%s,
    'ZY210', 'crawler_excavator', 't-east', '2023-01-01') ON CONFLICT DO NOTHING;

-- name: information_schema_columns_column_name
-- column_name of information_schema_columns where table_name = %s AND column_name <> 'rec...
SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <>
    'received_at' ORDER BY ordinal_position;

-- name: stored_rows
-- Every row of a table ({table}) in key order, in the given columns ({columns}).
SELECT {columns} FROM {table} ORDER BY machine_id, seq, ts;
