-- Statements of features/cli.py: `fleetcare features status`.

-- name: watermarks
-- The features jobs' watermarks.
SELECT job, watermark, detail FROM job_watermarks WHERE job LIKE 'features.%';

-- name: feature_span
-- First and last feature day, rows, and rows built as of now.
SELECT min(day), max(day), count(*), count(*) FILTER (WHERE as_of_now) FROM features_daily;
