-- Statements of tests/test_backtest_databases.py.

-- name: create_t
-- A table in the template, to find in its copies.
CREATE TABLE t (x int);

-- name: insert_t
-- Test rows into t.
INSERT INTO t VALUES (1), (2);

-- name: count_t
-- Rows in t.
SELECT count(*) FROM t;

-- name: ping
-- The database answers.
SELECT 1;
