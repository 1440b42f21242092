-- Statements of tests/test_migrations.py.

-- name: information_schema_columns_table_name
-- table_name, column_name, data_type of information_schema_columns where table_schema = '...
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' ORDER BY 1, 2;

-- name: schema_migrations_version
-- version of schema_migrations.
SELECT version FROM schema_migrations ORDER BY 1;

-- name: update_schema_migrations
-- Change schema_migrations rows.
UPDATE schema_migrations SET checksum = 'x' WHERE version = 1;

-- name: value_fleetcare_has_timescaledb
-- fleetcare_has_timescaledb().
SELECT fleetcare_has_timescaledb();

-- name: timescaledb_information_hypertables_hypertable_name
-- hypertable_name of timescaledb_information_hypertables.
SELECT hypertable_name FROM timescaledb_information.hypertables;

-- name: pg_extension_1
-- 1 of pg_extension where extname = 'timescaledb'.
SELECT 1 FROM pg_extension WHERE extname = 'timescaledb';
