-- Statements of tests/test_demo_results.py.

-- name: insert_plans
-- Test rows into plans.
INSERT INTO plans (kind, created_by, window_start, window_end, summary) VALUES ('visits',
    'demo', '2025-03-03', '2025-03-30', %s);

-- name: count_plans
-- Rows in plans.
SELECT count(*) FROM plans;

-- name: value_to_regclass_plans
-- to_regclass('plans').
SELECT to_regclass('plans');
