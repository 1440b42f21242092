-- Statements of tests/test_health_checks.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions VALUES ('east', 'East', 'growth', 'south', 31, 121);

-- name: insert_machines
-- Test rows into machines.
INSERT INTO machines (machine_id, model, product_line, region_id, delivery_date) VALUES
    ('M1', 'X', 'roller', 'east', '2024-01-01');

-- name: insert_telemetry
-- Test rows into telemetry.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, engine_hours) SELECT 'M1', g, now()
    - g * interval '1 minute', now(), g FROM generate_series(1, 500) g;

-- name: analyze_telemetry
-- ANALYZE telemetry
ANALYZE telemetry;

-- name: value_pg_stat_reset
-- pg_stat_reset().
SELECT pg_stat_reset();

-- name: value_pg_stat_clear_snapshot
-- pg_stat_clear_snapshot().
SELECT pg_stat_clear_snapshot();

-- name: pg_stat_user_tables_coalesce_sum_seq_scan_coalesce
-- coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) of pg_stat_user_tables.
SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables;
