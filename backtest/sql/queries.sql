-- Statements of backtest/queries.py: the rule policies' reads of a branch database, each
-- cut at %(cutoff)s (later events and later arrivals are invisible).

-- name: service_hours
-- Per machine: the hour meter now and 28 days ago, and at the last engine-oil change on
-- record (the maker's 250/500 h service; on-condition part changes are not services).
SELECT m.machine_id, now_t.engine_hours AS hours_now, back.engine_hours AS hours_28d_ago,
       svc.engine_hours AS service_hours
  FROM machines m
  LEFT JOIN LATERAL (
        SELECT engine_hours FROM telemetry t
         WHERE t.machine_id = m.machine_id AND t.ts < %(cutoff)s AND t.arrived_at < %(cutoff)s
         ORDER BY t.ts DESC LIMIT 1) now_t ON true
  LEFT JOIN LATERAL (
        SELECT engine_hours FROM telemetry t
         WHERE t.machine_id = m.machine_id AND t.ts < %(cutoff)s - interval '28 days'
           AND t.arrived_at < %(cutoff)s
         ORDER BY t.ts DESC LIMIT 1) back ON true
  LEFT JOIN LATERAL (
        SELECT s.engine_hours FROM service_records s
         WHERE s.machine_id = m.machine_id AND s.ts < %(cutoff)s AND s.arrived_at < %(cutoff)s
           AND s.parts @> '[{"part": "engine_oil"}]'::jsonb
         ORDER BY s.ts DESC LIMIT 1) svc ON true
 ORDER BY m.machine_id;
