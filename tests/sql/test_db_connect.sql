-- Statements of tests/test_db_connect.py.

-- name: prepare_probe
-- A prepared statement whose plan shows the value it ran with.
PREPARE probe(text) AS SELECT count(*) FROM pg_class WHERE relname = $1;

-- name: run_probe
-- Run it (twelve times: past the five runs after which a generic plan may be chosen).
EXECUTE probe('no_such_rel');

-- name: explain_probe
-- Its plan now.
EXPLAIN EXECUTE probe('no_such_rel');
