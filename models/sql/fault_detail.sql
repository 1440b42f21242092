-- Statements of models/fault_detail.py.

-- name: codes
-- Active fault codes per machine, SPN and FMI in [since, until), known by until.
SELECT machine_id, spn, fmi, count(*) AS n
FROM fault_codes
WHERE machine_id = ANY(%(machines)s)
  AND active
  AND ts >= %(since)s AND ts < %(until)s
  AND greatest(ts, arrived_at) < %(until)s
  AND spn = ANY(%(spns)s)
GROUP BY machine_id, spn, fmi;
