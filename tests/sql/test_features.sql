-- Statements of tests/test_features.py.

-- name: features_daily_row
-- * of features_daily where machine_id = %s.
SELECT * FROM features_daily WHERE machine_id = %s ORDER BY day;

-- name: job_watermarks_detail_day
-- detail->>'day' of job_watermarks where job = 'features.daily'.
SELECT detail->>'day' FROM job_watermarks WHERE job = 'features.daily';

-- name: truncate
-- Empty the tables.
TRUNCATE features_daily;

-- name: delete_job_watermarks
-- Delete job_watermarks rows.
DELETE FROM job_watermarks WHERE job LIKE 'features.%';

-- name: information_schema_columns_column_name
-- column_name of information_schema_columns where table_name = 'features_daily'.
SELECT column_name FROM information_schema.columns WHERE table_name = 'features_daily' ORDER
    BY ordinal_position;
