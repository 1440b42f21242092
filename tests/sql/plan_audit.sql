-- Statements of tests/plan_audit.py.

-- name: pg_extension_exists_select_1
-- EXISTS (SELECT 1 of pg_extension where extname = 'timescaledb').
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb');

-- name: timescaledb_information_chunks_chunk_name
-- chunk_name, hypertable_name, count(*) OVER (PARTITION BY hypertable_name) of timescaled...
SELECT chunk_name, hypertable_name, count(*) OVER (PARTITION BY hypertable_name) FROM
    timescaledb_information.chunks;

-- name: pg_class_relname
-- relname, greatest(reltuples, 0) of pg_class where relkind IN ('r', 'p').
SELECT relname, greatest(reltuples, 0) FROM pg_class WHERE relkind IN ('r', 'p');
