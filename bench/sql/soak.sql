-- Statements of `fleetcare bench soak` (bench/soak.py).

-- name: seed_region
-- The soak fleet's region.
INSERT INTO regions VALUES ('soak', 'Soak', 'growth', 'south', 30, 110) ON CONFLICT DO NOTHING;

-- name: copy_machines
-- The soak fleet's machines.
COPY machines (machine_id, model, product_line, region_id, delivery_date) FROM STDIN;

-- name: telemetry_outcome
-- Rows, distinct (machine, seq), and the peak and p99 lag from upload to storage in seconds.
SELECT count(*), count(DISTINCT (machine_id, seq)),
       extract(epoch FROM max(received_at - arrived_at)),
       extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY received_at - arrived_at))
  FROM telemetry;

-- name: dead_letters
-- Dead letters stored.
SELECT count(*) FROM dead_letters;
