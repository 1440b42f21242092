-- 0400 scheduler: the APScheduler job store, how a run was started, the detail rows of
-- visit and parts plans, and the stock each station holds.
-- Why: schedules must survive restarts and be shared by every `fleetcare scheduler`
-- process (only the leader runs them); a plan is a header in `plans` (0001) with its
-- rows here, so a reviewer can approve or change it row by row and exports read one place.

-- APScheduler 3 job store (scheduler/jobstore.py). next_run_time is a UTC epoch in
-- seconds, as APScheduler's own SQL stores keep it; job_state is the pickled Job state.
CREATE TABLE scheduler_jobs (
    id            text PRIMARY KEY,
    next_run_time double precision,
    job_state     bytea NOT NULL
);
CREATE INDEX scheduler_jobs_next_run_idx ON scheduler_jobs (next_run_time);

-- 'schedule' for runs the scheduler started, 'manual' for `fleetcare jobs run`.
ALTER TABLE job_runs ADD COLUMN trigger text NOT NULL DEFAULT 'schedule';

-- One row per planned 保健 visit. The primary key is the "never twice in a window" rule.
CREATE TABLE plan_visits (
    plan_id      bigint NOT NULL REFERENCES plans ON DELETE CASCADE,
    machine_id   text NOT NULL REFERENCES machines,
    station_id   text NOT NULL REFERENCES stations,
    visit_date   date NOT NULL,
    technician   integer NOT NULL CHECK (technician >= 0),   -- index within the station
    trip         integer NOT NULL,          -- one technician-day; several stops share it
    stop         integer NOT NULL,          -- order of the stop in its trip
    value_cny    double precision NOT NULL, -- expected avoided cost + policy value
    avoided_cny  double precision NOT NULL, -- expected avoided breakdown + downtime cost
    travel_km    double precision NOT NULL, -- station to this stop (road estimate)
    reasons      jsonb NOT NULL DEFAULT '[]',
    parts        jsonb NOT NULL DEFAULT '[]',   -- [{"part", "qty", "why"}]
    PRIMARY KEY (plan_id, machine_id)
);
CREATE INDEX plan_visits_station_idx ON plan_visits (plan_id, station_id, visit_date);

-- One row per station and part of a parts pre-stock plan.
CREATE TABLE plan_parts (
    plan_id          bigint NOT NULL REFERENCES plans ON DELETE CASCADE,
    station_id       text NOT NULL REFERENCES stations,
    part             text NOT NULL,
    tier             text NOT NULL CHECK (tier IN ('A', 'B', 'C')),
    season           text NOT NULL,         -- the peak season planned for, e.g. spring
    season_start     date NOT NULL,
    season_end       date NOT NULL,
    demand_mean      double precision NOT NULL,   -- pieces over the season
    demand_sd        double precision NOT NULL,
    service_level    double precision NOT NULL,
    target_stock     integer NOT NULL,
    on_hand          integer NOT NULL,
    on_order         integer NOT NULL,
    order_qty        integer NOT NULL CHECK (order_qty >= 0),
    needed_by        date NOT NULL,
    lead_time_days   integer NOT NULL,
    order_by         date NOT NULL,
    late             boolean NOT NULL,      -- order_by already passed: expedite
    unit_price_cny   double precision NOT NULL,
    order_value_cny  double precision NOT NULL,
    naive_qty        integer,               -- "same as last season" (NULL: no history)
    PRIMARY KEY (plan_id, station_id, part)
);

-- Stock on the station's shelf and already ordered, per part.
CREATE TABLE station_stock (
    station_id  text NOT NULL REFERENCES stations,
    part        text NOT NULL,
    on_hand     integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    on_order    integer NOT NULL DEFAULT 0 CHECK (on_order >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, part)
);
