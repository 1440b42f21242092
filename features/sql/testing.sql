-- Statements of features/testing.py: hand-made rows for the features tests.

-- name: region
-- A catalogue region, once.
INSERT INTO regions VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING;

-- name: region_peak
-- A region's peak season, once.
INSERT INTO region_peaks VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING;

-- name: customer
-- The one customer C1 of the test machines.
INSERT INTO customers (customer_id, name, segment, key_account, region_id)
VALUES ('C1', 'Customer 1', %s, %s, %s) ON CONFLICT DO NOTHING;

-- name: machine
-- A machine of customer C1.
INSERT INTO machines (machine_id, model, product_line, customer_id, region_id,
                      delivery_date, warranty_end)
VALUES (%s, %s, %s, 'C1', %s, %s, %s);

-- name: reading
-- A telemetry reading.
INSERT INTO telemetry (machine_id, seq, ts, arrived_at, engine_hours, idle_hours,
                       fuel_used_l, coolant_temp_c, hydraulic_oil_temp_c, engine_load_pct,
                       hydraulic_pressure_bar)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s);

-- name: fault
-- A J1939 fault code report.
INSERT INTO fault_codes (machine_id, seq, ts, arrived_at, spn, fmi, oc, active)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s);

-- name: service
-- A work order.
INSERT INTO service_records (machine_id, seq, ts, arrived_at, kind, components, parts,
                             engine_hours)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s);

-- name: meter_reset
-- A meter reset as ingest records it.
INSERT INTO meter_resets (machine_id, ts, hours_before, hours_after) VALUES (%s, %s, %s, %s);
