-- 0421 plan review states: a plan a station has carried out is 'done'.
-- Why: a review follows proposed -> approved | changed | rejected -> done; the planners'
-- history stays in plan_reviews (scheduler/store.py refuses contradictory transitions).
ALTER TABLE plans DROP CONSTRAINT plans_status_check;
ALTER TABLE plans ADD CONSTRAINT plans_status_check
    CHECK (status IN ('proposed', 'approved', 'changed', 'rejected', 'done'));
