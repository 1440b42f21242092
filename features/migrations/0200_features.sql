-- 0200 features: daily rollups keyed by arrival, the per-machine-day feature table.
-- Why: a feature row for day D may only use data that both happened and arrived by the
-- end of D (fleet-local days, see features/days.py). The rollups keep every machine-day
-- of raw telemetry and fault codes split by the day each row became known
-- ("known_day" = local day of greatest(ts, arrived_at)), so any point-in-time view is a
-- sum or max over small (day, known_day) cells instead of a scan of raw rows, and late
-- store-and-forward uploads land in their own cells instead of changing old ones.
-- Rollups hold additive sums and maxima only (never means), so windows can be combined.

-- One cell per machine, event day and known day. Hours, idle and fuel are the maxima of
-- the monotonic counters (meter resets removed); the x/y sums let slopes be fitted over
-- any window: x is days since 2020-01-01 (float8 keeps window sums exact enough).
CREATE TABLE feat_telemetry_daily (
    machine_id   text NOT NULL,
    day          date NOT NULL,
    known_day    date NOT NULL,
    n            integer NOT NULL,
    hours_max    double precision,
    idle_max     double precision,
    fuel_max     double precision,
    coolant_n    integer NOT NULL,
    coolant_hot  integer NOT NULL,
    coolant_sx   double precision NOT NULL,
    coolant_sxx  double precision NOT NULL,
    coolant_sy   double precision NOT NULL,
    coolant_sxy  double precision NOT NULL,
    hyd_n        integer NOT NULL,
    hyd_hot      integer NOT NULL,
    hyd_sx       double precision NOT NULL,
    hyd_sxx      double precision NOT NULL,
    hyd_sy       double precision NOT NULL,
    hyd_sxy      double precision NOT NULL,
    press_n      integer NOT NULL,
    press_sx     double precision NOT NULL,
    press_sxx    double precision NOT NULL,
    press_sy     double precision NOT NULL,
    press_sxy    double precision NOT NULL,
    load_n       integer NOT NULL,
    load_sy      double precision NOT NULL,
    PRIMARY KEY (machine_id, day, known_day)
);

-- One cell per machine, event day, known day and code.
CREATE TABLE feat_fault_daily (
    machine_id  text NOT NULL,
    day         date NOT NULL,
    known_day   date NOT NULL,
    spn         integer NOT NULL,
    fmi         smallint NOT NULL,
    n           integer NOT NULL,      -- reports (DM1 and DM2)
    n_active    integer NOT NULL,      -- active (DM1) reports
    max_oc      smallint NOT NULL,     -- highest occurrence count among active reports
    PRIMARY KEY (machine_id, day, known_day, spn, fmi)
);

-- When each active code was first seen on a machine, by event day and by known day.
CREATE TABLE feat_fault_first_seen (
    machine_id      text NOT NULL,
    spn             integer NOT NULL,
    fmi             smallint NOT NULL,
    first_day       date NOT NULL,
    first_known_day date NOT NULL,
    PRIMARY KEY (machine_id, spn, fmi)
);

-- The catalogue's SPN -> component family map and each product line's components and
-- wear parts, copied in by every build so SQL can join them (fleetcare/catalogue.py rules).
CREATE TABLE feat_spn_components (
    spn       integer PRIMARY KEY,
    component text NOT NULL
);
CREATE TABLE feat_line_items (
    product_line text NOT NULL,
    item         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('component', 'part')),
    PRIMARY KEY (product_line, item)
);

-- Finding what arrived since the last run: BRIN on the insert time is tiny and nearly
-- free for ingest (rows are appended in received_at order).
CREATE INDEX feat_telemetry_received_brin ON telemetry USING brin (received_at);
CREATE INDEX feat_fault_codes_received_brin ON fault_codes USING brin (received_at);

-- Latest event as one float8, so a running max over days is a plain max(float8):
-- day number (days since 2000-01-01) * 1e6 + (hours + 1), 0 in the hours part = unknown.
-- Hours stay below 999,998 and day numbers below 1e5, well inside float8's exact range.
CREATE FUNCTION feat_pack(day date, hours double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (day - DATE '2000-01-01') * 1e6::float8 + coalesce(least(greatest(hours, 0), 999997) + 1, 0)
$$;
CREATE FUNCTION feat_packed_day(v double precision) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DATE '2000-01-01' + floor(v / 1e6)::integer
$$;
CREATE FUNCTION feat_packed_hours(v double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(v - floor(v / 1e6) * 1e6, 0) - 1
$$;

-- Least-squares slope of y over x (per day) from window sums; NULL when there are too
-- few readings or they span too little time (x variance under 1 day^2) to trust a trend.
CREATE FUNCTION feat_slope(n double precision, sx double precision, sxx double precision,
                           sy double precision, sxy double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n >= 5 AND n * sxx - sx * sx >= n * n
                THEN (n * sxy - sx * sy) / (n * sxx - sx * sx) END
$$;

-- NULL-preserving helpers (greatest/least skip NULLs, which would turn "unknown" into 0).
CREATE FUNCTION feat_nonneg(x double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN x < 0 THEN 0 ELSE x END
$$;
-- a / b as a share in [0, 1]; NULL when b is not positive.
CREATE FUNCTION feat_share(a double precision, b double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b > 0 THEN least(greatest(a / b, 0), 1) END
$$;

-- The snapshot: one row per machine and day, as known at the end of that day (or, for
-- rows rebuilt on request, as known when rebuilt: as_of_now). Column meanings and units
-- are in features/sql/build.sql (`fleetcare features list`).
CREATE TABLE features_daily (
    day                      date NOT NULL,
    machine_id               text NOT NULL,
    as_of_now                boolean NOT NULL DEFAULT false,
    -- use
    engine_hours             real,
    hours_1d                 real,
    hours_7d                 real,
    hours_30d                real,
    hours_90d                real,
    idle_share_7d            real,
    idle_share_30d           real,
    fuel_rate_30d            real,
    load_factor_7d           real,
    load_factor_30d          real,
    readings_7d              integer NOT NULL,
    days_since_reading       integer,
    -- sensors
    coolant_mean_7d          real,
    coolant_hot_share_7d     real,
    coolant_hot_share_30d    real,
    coolant_slope_30d        real,
    hyd_oil_temp_mean_7d     real,
    hyd_oil_hot_share_7d     real,
    hyd_oil_hot_share_30d    real,
    hyd_oil_temp_slope_14d   real,
    hyd_oil_temp_slope_30d   real,
    hyd_pressure_mean_7d     real,
    hyd_pressure_slope_14d   real,
    hyd_pressure_slope_30d   real,
    -- fault codes
    faults_all_1d            integer NOT NULL,
    faults_all_7d            integer NOT NULL,
    faults_all_30d           integer NOT NULL,
    codes_7d                 integer NOT NULL,
    high_oc_codes_7d         integer NOT NULL,
    new_codes_7d             integer NOT NULL,
    faults_7d_engine         integer,
    faults_7d_hydraulic_pump integer,
    faults_7d_main_valve     integer,
    faults_7d_swing          integer,
    faults_7d_travel_drive   integer,
    faults_7d_undercarriage  integer,
    faults_7d_cooling        integer,
    faults_7d_electrical     integer,
    faults_30d_engine         integer,
    faults_30d_hydraulic_pump integer,
    faults_30d_main_valve     integer,
    faults_30d_swing          integer,
    faults_30d_travel_drive   integer,
    faults_30d_undercarriage  integer,
    faults_30d_cooling        integer,
    faults_30d_electrical     integer,
    -- service history
    days_since_any_service   integer,
    hours_since_any_service  real,
    days_since_any_breakdown integer,
    breakdowns_all_365d      integer NOT NULL,
    overdue_h_250            real,
    overdue_h_500            real,
    overdue_h_1000           real,
    overdue_h_2000           real,
    days_since_service_engine         integer,
    days_since_service_hydraulic_pump integer,
    days_since_service_main_valve     integer,
    days_since_service_swing          integer,
    days_since_service_travel_drive   integer,
    days_since_service_undercarriage  integer,
    days_since_service_cooling        integer,
    days_since_service_electrical     integer,
    hours_since_service_engine         real,
    hours_since_service_hydraulic_pump real,
    hours_since_service_main_valve     real,
    hours_since_service_swing          real,
    hours_since_service_travel_drive   real,
    hours_since_service_undercarriage  real,
    hours_since_service_cooling        real,
    hours_since_service_electrical     real,
    days_since_repair_engine         integer,
    days_since_repair_hydraulic_pump integer,
    days_since_repair_main_valve     integer,
    days_since_repair_swing          integer,
    days_since_repair_travel_drive   integer,
    days_since_repair_undercarriage  integer,
    days_since_repair_cooling        integer,
    days_since_repair_electrical     integer,
    hours_since_repair_engine         real,
    hours_since_repair_hydraulic_pump real,
    hours_since_repair_main_valve     real,
    hours_since_repair_swing          real,
    hours_since_repair_travel_drive   real,
    hours_since_repair_undercarriage  real,
    hours_since_repair_cooling        real,
    hours_since_repair_electrical     real,
    breakdowns_365d_engine         integer,
    breakdowns_365d_hydraulic_pump integer,
    breakdowns_365d_main_valve     integer,
    breakdowns_365d_swing          integer,
    breakdowns_365d_travel_drive   integer,
    breakdowns_365d_undercarriage  integer,
    breakdowns_365d_cooling        integer,
    breakdowns_365d_electrical     integer,
    -- wear parts: hours on the part fitted now
    part_hours_engine_oil              real,
    part_hours_engine_oil_filter       real,
    part_hours_fuel_filter             real,
    part_hours_air_filter              real,
    part_hours_hydraulic_return_filter real,
    part_hours_hydraulic_oil           real,
    part_hours_final_drive_oil         real,
    part_hours_coolant                 real,
    part_hours_fan_belt                real,
    part_hours_bucket_teeth            real,
    part_hours_hydraulic_hose          real,
    part_hours_seal_kit                real,
    part_hours_track_roller            real,
    part_hours_track_shoe              real,
    part_hours_battery                 real,
    PRIMARY KEY (day, machine_id)
);
SELECT fleetcare_make_hypertable('features_daily', 'day', INTERVAL '91 days');
