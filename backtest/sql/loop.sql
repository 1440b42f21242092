-- Statements of backtest/loop.py.

-- name: last_received
-- The newest arrival in a raw table ({table}: telemetry, fault_codes, service_records).
SELECT max(received_at) FROM {table};
