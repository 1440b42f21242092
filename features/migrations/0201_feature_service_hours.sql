-- 0201 features: the hour meter at each work order, as known on the day it became known.
-- Why: the build needs it for every work order of every machine's history, and looking it
-- up in raw telemetry per work order on every run cost more than the rest of a daily run.
-- It is final once that day is over (later telemetry arrives after it), so it is computed
-- once; the rollup refresh forgets the entries of machines whose meter resets changed.
CREATE TABLE feat_service_hours (
    machine_id text NOT NULL,
    seq        bigint NOT NULL,
    hours_at   double precision,     -- NULL: no reading before the visit was known then
    PRIMARY KEY (machine_id, seq)
);
