-- Statements of tests/test_embedded.py.

-- name: ping
-- The server answers.
SELECT 1;

-- name: current_database
-- The database we are connected to.
SELECT current_database();

-- name: create_table_machines
-- A table of our own in the embedded database.
CREATE TABLE machines (id text PRIMARY KEY);

-- name: insert_machines
-- Test rows into machines.
INSERT INTO machines VALUES ('EX-001');

-- name: machines_id
-- id of machines.
SELECT id FROM machines;

-- name: create_t
-- A table that survives restarts (made once).
CREATE TABLE IF NOT EXISTS t (x int);

-- name: insert_t
-- Test rows into t.
INSERT INTO t VALUES (1);

-- name: count_t
-- Rows in t.
SELECT count(*) FROM t;
