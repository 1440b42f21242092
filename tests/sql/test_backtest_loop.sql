-- Statements of tests/test_backtest_loop.py.

-- name: plant_reading
-- A future reading of every machine, received at %(t)s.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, received_at, engine_hours,
    idle_hours, fuel_used_l, lat, lon, coolant_temp_c, hydraulic_oil_temp_c,
    engine_load_pct, hydraulic_pressure_bar) SELECT machine_id, seq + 1000000, ts +
    %(shift)s, arrived_at + %(shift)s, received_at + %(shift)s, engine_hours + 900,
    idle_hours, fuel_used_l, lat + 1, lon + 1, 115, 105, 99, 50 FROM telemetry WHERE ts >=
    %(cut)s - interval '7 days';

-- name: plant_fault
-- A future fault code of every machine, received at %(t)s.
INSERT INTO fault_codes (machine_id, seq, ts, arrived_at, received_at, spn, fmi, oc, active)
    SELECT machine_id, 2000000 + g, %(t)s + g * interval '1 minute', %(t)s + g * interval
    '1 minute', %(t)s, 1638, 0, 126, true FROM machines CROSS JOIN generate_series(1, 20) g;

-- name: plant_breakdown
-- A future breakdown of every machine, received at %(t)s.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, received_at, kind, components,
    parts, engine_hours) SELECT machine_id, 3000000, %(t)s, %(t)s, %(t)s, 'breakdown',
    '{engine,hydraulic_pump}', '[]', 1 FROM machines;

-- name: plant_oil_change
-- A future oil change for every machine, received at %(t)s.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, received_at, kind, components,
    parts, engine_hours) SELECT machine_id, 3000001, %(t)s, %(t)s, %(t)s, 'preventive',
    '{engine}', '[{"part": "engine_oil", "qty": 1}]', 1 FROM machines;
