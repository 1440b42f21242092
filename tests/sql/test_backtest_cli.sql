-- Statements of tests/test_backtest_cli.py.

-- name: pg_database_datname
-- datname of pg_database where datname LIKE %s.
SELECT datname FROM pg_database WHERE datname LIKE %s;
