-- Statements of tests/test_backtest_databases.py.

-- name: create_table_t
-- CREATE TABLE t (x int)
CREATE TABLE t (x int);

-- name: insert_t
-- Test rows into t.
INSERT INTO t VALUES (1), (2);

-- name: count_t
-- Rows in t.
SELECT count(*) FROM t;

-- name: value_1
-- 1.
SELECT 1;
