-- Statements of tests/test_foreign_fleet.py.

-- name: count_dead_letters
-- Rows in dead_letters.
SELECT count(*) FROM dead_letters;

-- name: count_fault_codes
-- Rows in fault_codes.
SELECT count(*) FROM fault_codes;

-- name: telemetry_count
-- count(*) of telemetry where arrived_at <> ts.
SELECT count(*) FROM telemetry WHERE arrived_at <> ts;

-- name: feat_spn_components_count
-- count(*) of feat_spn_components where spn BETWEEN 521000 AND 521999.
SELECT count(*) FROM feat_spn_components WHERE spn BETWEEN 521000 AND 521999;

-- name: features_daily_sum_breakdowns_all_365d
-- sum(breakdowns_all_365d) of features_daily where day = %s.
SELECT sum(breakdowns_all_365d) FROM features_daily WHERE day = %s;

-- name: model_versions_features
-- features, metrics of model_versions where kind = 'component_risk' AND active.
SELECT features, metrics FROM model_versions WHERE kind = 'component_risk' AND active;
