-- Statements of tests/conftest.py (database lifecycle comes from fleetcare/sql/admin.sql).

-- name: timescaledb_installed
-- Whether the server has the TimescaleDB extension available to install.
SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb';

-- name: preload_libraries
-- The libraries the server preloads (TimescaleDB must be among them).
SHOW shared_preload_libraries;
