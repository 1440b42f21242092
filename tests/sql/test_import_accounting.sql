-- Statements of tests/test_import_accounting.py.

-- name: first_dead_letter_detail
-- The oldest dead letter's detail.
SELECT detail FROM dead_letters ORDER BY id LIMIT 1;

-- name: count_region_peaks
-- Rows in region_peaks.
SELECT count(*) FROM region_peaks;

-- name: stations_technicians
-- technicians of stations.
SELECT technicians FROM stations;

-- name: customers_key_account
-- key_account of customers.
SELECT key_account FROM customers;

-- name: fault_codes_spn
-- spn, ts = arrived_at of fault_codes.
SELECT spn, ts = arrived_at FROM fault_codes ORDER BY spn;

-- name: service_records_arrived_at_date
-- arrived_at::date of service_records.
SELECT arrived_at::date FROM service_records;

-- name: fault_codes_machine_id
-- machine_id, spn, fmi, oc, active of fault_codes.
SELECT machine_id, spn, fmi, oc, active FROM fault_codes ORDER BY spn;

-- name: dead_letter_details
-- Every dead letter's detail, oldest first.
SELECT detail FROM dead_letters ORDER BY id;
