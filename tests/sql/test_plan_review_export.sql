-- Statements of tests/test_plan_review_export.py.

-- name: plan_reviews_action
-- action of plan_reviews where plan_id = %s.
SELECT action FROM plan_reviews WHERE plan_id = %s ORDER BY at;

-- name: plans_status
-- status of plans where plan_id = %s.
SELECT status FROM plans WHERE plan_id = %s;
