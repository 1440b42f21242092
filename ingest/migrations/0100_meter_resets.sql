-- 0100 ingest: meter resets and monotonic engine hours.
-- Why: hour meters get replaced or reset in the field. Ingest stores every reading as
-- sent and records each backwards step of engine_hours (by event time) as a reset here;
-- features read telemetry_hours, where the hours stay monotonic per machine because
-- every reset adds (hours_before - hours_after) to all later readings.
-- Resets are rare, so the offsets are a tiny table and the view is a hash join of
-- telemetry with it: one probe per reading, no per-row window over the raw table.

CREATE TABLE meter_resets (
    machine_id   text NOT NULL,
    ts           timestamptz NOT NULL,      -- event time of the first reading after the reset
    hours_before double precision NOT NULL, -- previous reading by event time, h
    hours_after  double precision NOT NULL, -- this reading, h (lower than hours_before)
    detected_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, ts)
);

-- Offset to add to engine_hours for readings in [valid_from, valid_until).
CREATE VIEW meter_offsets AS
SELECT machine_id,
       ts AS valid_from,
       coalesce(lead(ts) OVER w, 'infinity'::timestamptz) AS valid_until,
       sum(hours_before - hours_after) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
           AS offset_h
FROM meter_resets
WINDOW w AS (PARTITION BY machine_id ORDER BY ts);

-- Telemetry with `hours`: engine hours made monotonic across meter resets.
CREATE VIEW telemetry_hours AS
SELECT t.*,
       t.engine_hours + coalesce(o.offset_h, 0) AS hours,
       coalesce(o.offset_h, 0) AS hours_offset
FROM telemetry t
LEFT JOIN meter_offsets o
       ON o.machine_id = t.machine_id AND t.ts >= o.valid_from AND t.ts < o.valid_until;
