-- Statements of tests/test_models_scoring.py.

-- name: risk_scores_count
-- count(*), count(DISTINCT machine_id), min(model_id), max(model_id), max(horizon_d) of r...
SELECT count(*), count(DISTINCT machine_id), min(model_id), max(model_id), max(horizon_d)
    FROM risk_scores WHERE scored_on = %s;

-- name: wear_forecasts_count
-- count(*), min(model_id), count(due_date), bool_and(due_hours_p10 <= due_hours) of wear_...
SELECT count(*), min(model_id), count(due_date), bool_and(due_hours_p10 <= due_hours) FROM
    wear_forecasts WHERE scored_on = %s AND part = 'bucket_teeth';

-- name: risk_scores_machine_id
-- machine_id, component, risk, reasons of risk_scores where scored_on = %s.
SELECT machine_id, component, risk, reasons FROM risk_scores WHERE scored_on = %s ORDER BY
    risk DESC LIMIT 5;

-- name: count_risk_scores
-- Rows in risk_scores.
SELECT count(*) FROM risk_scores;
