-- Statements of models/oracle_store.py: the simulator's truth, for evaluation only.

-- name: truth_available
-- Whether this database has a truth store (simulated fleets only).
SELECT to_regclass('truth.machine_days') IS NOT NULL;

-- name: truth
-- Per machine, day and component in [first, last]: the simulator's own 30-day risk, and
-- the hazard per operating hour times that day's operating hours (the daily hazard); the
-- failures table marks the days a component failed.
SELECT md.machine_id, md.day, c.component,
       md.risk30[c.ord]            AS risk30,
       md.hazard[c.ord] * md.hours AS hazard,
       (f.machine_id IS NOT NULL)  AS failed
FROM truth.machine_days md
CROSS JOIN truth.components c
LEFT JOIN (SELECT DISTINCT machine_id, day, component FROM truth.failures) f
       ON f.machine_id = md.machine_id AND f.day = md.day AND f.component = c.component
WHERE md.day BETWEEN %(first)s AND %(last)s
  AND md.risk30[c.ord] IS NOT NULL;
