-- Statements of models/scoring.py: one day's scores replace that day's rows.

-- name: clear_risks
-- A day's risk scores of the given machines.
DELETE FROM risk_scores WHERE scored_on = %s AND machine_id = ANY(%s);

-- name: clear_wear
-- A day's wear forecasts of the given machines.
DELETE FROM wear_forecasts WHERE scored_on = %s AND machine_id = ANY(%s);

-- name: copy_risks
-- Risk per machine and component with its reasons.
COPY risk_scores (scored_on, machine_id, component, horizon_d, risk, model_id, reasons)
FROM STDIN;

-- name: copy_wear
-- Due hours and date per machine and wear part.
COPY wear_forecasts (scored_on, machine_id, part, used_hours, due_hours, due_hours_p10,
                     due_date, model_id) FROM STDIN;
