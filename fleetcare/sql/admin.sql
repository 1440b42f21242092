-- Database lifecycle statements, run on the server's maintenance database: the demo,
-- the embedded server, benchmarks, backtest branches, the schema check and the tests.
-- {name} and {template} are psycopg.sql.Identifier values.

-- name: database_exists
-- Whether a database of that name exists.
SELECT 1 FROM pg_database WHERE datname = %s;

-- name: create_database
-- An empty database.
CREATE DATABASE {name};

-- name: clone_database
-- A copy of a template database ({strategy}: empty or " STRATEGY = FILE_COPY").
CREATE DATABASE {name} TEMPLATE {template}{strategy};

-- name: drop_database
-- Drop a database, ending the sessions still on it.
DROP DATABASE IF EXISTS {name} WITH (FORCE);

-- name: refuse_connections
-- A database nobody may connect to any more (a template from now on).
ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;

-- name: make_template
-- Mark a database as a template nobody connects to.
ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;

-- name: rename_database
-- Give a database its final name.
ALTER DATABASE {name} RENAME TO {new_name};

-- name: end_sessions
-- End every other session on a database.
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE datname = %s AND pid <> pg_backend_pid();
