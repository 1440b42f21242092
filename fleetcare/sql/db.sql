-- Statements of fleetcare/db.py: the migration runner and `fleetcare db status`.

-- name: lock
-- Serialise upgraders across processes (session-level advisory lock).
SELECT pg_advisory_lock(%s);

-- name: unlock
-- Release the upgraders' lock.
SELECT pg_advisory_unlock(%s);

-- name: version_table_exists
-- Whether a track's version table exists (by name: schema_migrations or truth.schema_migrations).
SELECT to_regclass(%s) IS NOT NULL;

-- name: create_schema
-- The schema a track's version table lives in, for tracks outside public.
CREATE SCHEMA IF NOT EXISTS {schema};

-- name: create_version_table
-- One row per applied migration; the checksum refuses edits to applied migrations.
CREATE TABLE IF NOT EXISTS {table} (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());

-- name: applied_checksums
-- The applied migrations and their checksums.
SELECT version, checksum FROM {table};

-- name: record_migration
-- Mark a migration applied, in the migration's own transaction.
INSERT INTO {table} (version, name, checksum) VALUES (%s, %s, %s);

-- name: server_version
-- The PostgreSQL server version.
SHOW server_version;

-- name: timescaledb_version
-- The TimescaleDB extension's version, no row without it.
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb';

-- name: applied_versions
-- The applied migrations' versions, in order.
SELECT version FROM {table} ORDER BY 1;
