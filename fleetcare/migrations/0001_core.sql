-- 0001 core: master data, raw telematics, service records, dead letters.
-- Why: every stage reads its input from these tables. The unique keys on
-- (machine_id, seq, ts) let ingest store each reading once however often it is
-- redelivered; TimescaleDB requires the time column in every unique index of a
-- hypertable, and a gateway's resend of seq N always carries the same ts.
-- The same SQL runs on plain PostgreSQL >= 14: TimescaleDB is used only when the
-- extension is available and the session setting fleetcare.timescaledb is not 'off'.

DO $$
BEGIN
    IF coalesce(current_setting('fleetcare.timescaledb', true), 'auto') <> 'off'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    END IF;
END
$$;

-- True when this database stores time series in TimescaleDB hypertables.
CREATE FUNCTION fleetcare_has_timescaledb() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;

-- Turn a table into a hypertable when TimescaleDB is here; a no-op on plain PostgreSQL.
CREATE FUNCTION fleetcare_make_hypertable(tbl regclass, time_column name, chunk interval)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF fleetcare_has_timescaledb() THEN
        EXECUTE format(
            'SELECT create_hypertable(%L::regclass, %L, chunk_time_interval => %L::interval, if_not_exists => true)',
            tbl, time_column, chunk);
    END IF;
END
$$;

-- Master data (from the maker's sales and service-network records) ----------------

CREATE TABLE regions (
    region_id   text PRIMARY KEY,
    name        text NOT NULL,
    market      text NOT NULL,              -- mature / growth / opening / secondary
    climate     text NOT NULL,              -- north (winter stop) / south
    lat         double precision NOT NULL,
    lon         double precision NOT NULL
);

-- A region's peak seasons as month-day ranges (they recur every year).
CREATE TABLE region_peaks (
    region_id   text NOT NULL REFERENCES regions,
    name        text NOT NULL,              -- spring / autumn / summer
    start_month smallint NOT NULL CHECK (start_month BETWEEN 1 AND 12),
    start_day   smallint NOT NULL CHECK (start_day BETWEEN 1 AND 31),
    end_month   smallint NOT NULL CHECK (end_month BETWEEN 1 AND 12),
    end_day     smallint NOT NULL CHECK (end_day BETWEEN 1 AND 31),
    PRIMARY KEY (region_id, name)
);

CREATE TABLE customers (
    customer_id text PRIMARY KEY,
    name        text NOT NULL,
    segment     text NOT NULL,              -- city / railway / water / municipal / highway / ...
    key_account boolean NOT NULL DEFAULT false,
    region_id   text REFERENCES regions,
    peak_months smallint[]                  -- the customer's own busy months, when known
);

CREATE TABLE stations (
    station_id  text PRIMARY KEY,
    name        text NOT NULL,
    region_id   text NOT NULL REFERENCES regions,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    technicians integer NOT NULL CHECK (technicians >= 0)
);

CREATE TABLE machines (
    machine_id    text PRIMARY KEY,
    serial        text,
    model         text NOT NULL,            -- model code, e.g. ZY210
    product_line  text NOT NULL,            -- e.g. crawler_excavator
    customer_id   text REFERENCES customers,
    region_id     text NOT NULL REFERENCES regions,
    station_id    text REFERENCES stations,
    delivery_date date NOT NULL,
    warranty_end  date,
    site_lat      double precision,
    site_lon      double precision
);
CREATE INDEX machines_station_idx ON machines (station_id);

-- Raw telematics (ISO 15143-3 meanings; SAE J1939 fault codes) ---------------------
-- ts: event time on the machine. arrived_at: when the data became available to us,
-- least(gateway upload time, server receive time); point-in-time features use it.

CREATE TABLE telemetry (
    machine_id             text NOT NULL,
    seq                    bigint NOT NULL,
    ts                     timestamptz NOT NULL,
    arrived_at             timestamptz NOT NULL,
    received_at            timestamptz NOT NULL DEFAULT now(),
    engine_hours           double precision NOT NULL,   -- cumulative hour meter, h
    idle_hours             double precision,            -- cumulative, h
    fuel_used_l            double precision,            -- cumulative, litres
    lat                    double precision,
    lon                    double precision,
    coolant_temp_c         real,
    hydraulic_oil_temp_c   real,
    engine_load_pct        real,
    hydraulic_pressure_bar real,
    UNIQUE (machine_id, seq, ts)
);
SELECT fleetcare_make_hypertable('telemetry', 'ts', INTERVAL '30 days');
CREATE INDEX telemetry_machine_ts_idx ON telemetry (machine_id, ts DESC);

CREATE TABLE fault_codes (
    machine_id  text NOT NULL,
    seq         bigint NOT NULL,
    ts          timestamptz NOT NULL,
    arrived_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    spn         integer NOT NULL CHECK (spn BETWEEN 0 AND 524287),   -- 19 bits
    fmi         smallint NOT NULL CHECK (fmi BETWEEN 0 AND 31),      -- 5 bits
    oc          smallint NOT NULL CHECK (oc BETWEEN 0 AND 127),      -- 7 bits
    active      boolean NOT NULL,           -- DM1 (active) vs DM2 (previously active)
    UNIQUE (machine_id, seq, ts)
);
SELECT fleetcare_make_hypertable('fault_codes', 'ts', INTERVAL '90 days');
CREATE INDEX fault_codes_machine_ts_idx ON fault_codes (machine_id, ts DESC);

-- Work orders from the service app: breakdown (急救), preventive (保健), inspection.
CREATE TABLE service_records (
    machine_id  text NOT NULL,
    seq         bigint NOT NULL,
    ts          timestamptz NOT NULL,
    arrived_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    work_order  text,
    kind        text NOT NULL CHECK (kind IN ('breakdown', 'preventive', 'inspection')),
    components  text[] NOT NULL DEFAULT '{}',
    parts       jsonb NOT NULL DEFAULT '[]',   -- [{"part": "...", "qty": n}]
    downtime_h  real NOT NULL DEFAULT 0 CHECK (downtime_h >= 0),
    cost_cny    numeric(12, 2) NOT NULL DEFAULT 0 CHECK (cost_cny >= 0),
    engine_hours double precision,             -- hour meter at the visit, when known
    station_id  text,
    technician  text,
    source      text NOT NULL DEFAULT 'mqtt',
    PRIMARY KEY (machine_id, seq)
);
CREATE INDEX service_records_machine_ts_idx ON service_records (machine_id, ts);

-- Every rejected message or row, with why; nothing is dropped silently.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    source        text NOT NULL,             -- mqtt / import:<file>
    topic         text,
    reason        text NOT NULL,             -- a short code, e.g. bad_json, schema, unknown_machine
    detail        text,
    payload       bytea,                     -- first bytes of the raw message (bounded)
    payload_bytes integer NOT NULL
);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, received_at);

-- Room for the later stages ----------------------------------------------------------

-- How far each incremental job has run.
CREATE TABLE job_watermarks (
    job        text PRIMARY KEY,
    watermark  timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    detail     jsonb NOT NULL DEFAULT '{}'
);

-- Every scheduled or manual job run.
CREATE TABLE job_runs (
    run_id      bigserial PRIMARY KEY,
    job         text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text CHECK (outcome IN ('running', 'ok', 'failed', 'skipped')),
    counts      jsonb NOT NULL DEFAULT '{}',
    error       text,
    host        text
);
CREATE INDEX job_runs_job_idx ON job_runs (job, started_at DESC);

CREATE TABLE model_versions (
    model_id     bigserial PRIMARY KEY,
    kind         text NOT NULL,              -- component_risk / wear_life
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    train_start  date,
    train_end    date,
    calib_end    date,
    params       jsonb NOT NULL DEFAULT '{}',
    features     text[] NOT NULL,
    feature_hash text NOT NULL,
    metrics      jsonb NOT NULL DEFAULT '{}',
    blob         bytea NOT NULL,
    blob_sha256  text NOT NULL,
    active       boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX model_versions_one_active ON model_versions (kind) WHERE active;

CREATE TABLE plans (
    plan_id      bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('visits', 'parts')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    window_start date NOT NULL,
    window_end   date NOT NULL,
    status       text NOT NULL DEFAULT 'proposed'
                 CHECK (status IN ('proposed', 'approved', 'changed', 'rejected')),
    params       jsonb NOT NULL DEFAULT '{}',
    summary      jsonb NOT NULL DEFAULT '{}'
);

-- Who approved, changed or rejected which plan, and why.
CREATE TABLE plan_reviews (
    plan_id   bigint NOT NULL REFERENCES plans ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,
    comment   text
);
