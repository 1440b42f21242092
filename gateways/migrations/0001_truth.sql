-- The simulator's hidden truth: failures, daily health and hazard, visits, meter swaps.
-- Why a schema and a migration track of their own (fleetcare.db.TRUTH, versions in
-- truth.schema_migrations), applied when the simulator first writes truth and never by
-- `fleetcare db upgrade`: only evaluation (models/evaluate*.py, models/oracle*.py) and the
-- backtest may read it; a test scans the production stages for any reference to it.
-- IF NOT EXISTS: databases made before this track already hold these tables.
-- Arrays are in the order of truth.components / truth.wear_parts (= fleetcare.catalogue
-- COMPONENTS / WEAR_PARTS); NULL where a machine has no such component or part.

CREATE SCHEMA IF NOT EXISTS truth;

CREATE TABLE IF NOT EXISTS truth.runs (
    run_id     bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    seed       bigint NOT NULL,
    machines   integer NOT NULL,
    start_day  date NOT NULL,
    days       integer NOT NULL,
    params     jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS truth.components (
    ord       smallint PRIMARY KEY,          -- 1-based position in the arrays
    component text NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS truth.wear_parts (
    ord  smallint PRIMARY KEY,
    part text NOT NULL UNIQUE
);

-- One row per failed component (a breakdown may fail two components at once).
CREATE TABLE IF NOT EXISTS truth.failures (
    machine_id      text NOT NULL,
    ts              timestamptz NOT NULL,   -- when it failed (the work order comes later)
    day             date NOT NULL,
    component       text NOT NULL,
    cause           text NOT NULL,          -- wear / sudden / early_life
    mode            text NOT NULL,          -- gradual (weeks of warning) / sudden (hours)
    symptomatic     boolean NOT NULL,       -- its defect raised related fault codes
    effective_age_h real NOT NULL,          -- stress-weighted hours since last renewal
    engine_hours    double precision NOT NULL,  -- true hour meter (no resets)
    pf_hours        real NOT NULL,          -- operating hours from defect start to failure
    downtime_h      real NOT NULL,
    work_order      text NOT NULL,
    PRIMARY KEY (machine_id, ts, component)
);

-- Daily hidden state per delivered machine.
CREATE TABLE IF NOT EXISTS truth.machine_days (
    machine_id   text NOT NULL,
    day          date NOT NULL,
    hours        real NOT NULL,             -- operating hours that day
    engine_hours double precision NOT NULL, -- true hour meter at day end
    health       real[] NOT NULL,           -- 1 = new, falls with wear and running defects
    hazard       real[] NOT NULL,           -- failure hazard per operating hour (see below)
    risk30       real[] NOT NULL,           -- P(failure within the next 30 days | state)
    degrading    boolean[] NOT NULL,        -- a defect is running to failure
    wear         real[] NOT NULL,           -- wear parts: share of nominal life used
    PRIMARY KEY (machine_id, day)
);
-- hazard: for a running defect 1 / operating hours left; otherwise the rate at which
-- defects start (Weibull in effective age x stress, plus early-life defects).

CREATE TABLE IF NOT EXISTS truth.visits (
    machine_id text NOT NULL,
    day        date NOT NULL,
    kind       text NOT NULL,
    found      text[] NOT NULL,             -- running defects found and fixed
    serviced   text[] NOT NULL,
    parts      jsonb NOT NULL,
    cost_cny   real NOT NULL,
    downtime_h real NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_machine_day_idx ON truth.visits (machine_id, day);

CREATE TABLE IF NOT EXISTS truth.meter_resets (
    machine_id          text NOT NULL,
    day                 date NOT NULL,
    engine_hours_before double precision NOT NULL,
    PRIMARY KEY (machine_id, day)
);
