-- 0002 scores: what `fleetcare score` writes and the planners read.
-- Why here and not in models/: the planners and the review UI depend on this shape
-- as much as the models do, so it is a shared contract.

-- Risk that a component fails within the model's horizon, per machine and scoring day.
CREATE TABLE risk_scores (
    scored_on   date NOT NULL,
    machine_id  text NOT NULL REFERENCES machines,
    component   text NOT NULL,
    horizon_d   integer NOT NULL,
    risk        double precision NOT NULL CHECK (risk BETWEEN 0 AND 1),
    model_id    bigint REFERENCES model_versions,
    reasons     jsonb NOT NULL DEFAULT '[]',   -- [{"feature", "value", "contribution", "text"}]
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scored_on, machine_id, component)
);
CREATE INDEX risk_scores_machine_idx ON risk_scores (machine_id, scored_on DESC);

-- When each wear part on each machine is expected to be due for replacement.
CREATE TABLE wear_forecasts (
    scored_on     date NOT NULL,
    machine_id    text NOT NULL REFERENCES machines,
    part          text NOT NULL,
    used_hours    double precision NOT NULL,   -- hours on the part since it was last replaced
    due_hours     double precision NOT NULL,   -- expected operating hours left until due
    due_hours_p10 double precision,            -- pessimistic (10th percentile) hours left
    due_date      date,                        -- from the machine's seasonal use forecast
    model_id      bigint REFERENCES model_versions,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scored_on, machine_id, part)
);
