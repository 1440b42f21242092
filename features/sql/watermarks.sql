-- Statements of features/watermarks.py: how far each job has run.

-- name: read_watermark
-- A job's watermark and detail.
SELECT watermark, detail FROM job_watermarks WHERE job = %s;

-- name: write_watermark
-- Insert or replace a job's watermark.
INSERT INTO job_watermarks (job, watermark, detail, updated_at)
VALUES (%s, %s, %s::jsonb, now())
ON CONFLICT (job) DO UPDATE
SET watermark = excluded.watermark, detail = excluded.detail, updated_at = now();
