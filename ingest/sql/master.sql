-- Named statements of the master-data import (`fleetcare import regions|customers|
-- stations|machines`). Each block starts with `-- name: <name>` and a one-line
-- description. Upserts: a changed row is updated, an equal one left alone (rowcount 0).

-- name: upsert_regions
-- A region; market and climate default to 'mature' and 'south' when the file has none.
INSERT INTO regions (region_id, name, market, climate, lat, lon)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (region_id) DO UPDATE
    SET name = excluded.name, market = excluded.market, climate = excluded.climate,
        lat = excluded.lat, lon = excluded.lon
    WHERE (regions.name, regions.market, regions.climate, regions.lat, regions.lon)
          IS DISTINCT FROM (excluded.name, excluded.market, excluded.climate, excluded.lat,
                            excluded.lon);

-- name: region_peaks
-- A region's peak seasons as stored, to compare with the file's.
SELECT name, start_month, start_day, end_month, end_day
FROM region_peaks WHERE region_id = %s ORDER BY name;

-- name: delete_region_peaks
-- The file's peaks replace the region's.
DELETE FROM region_peaks WHERE region_id = %s;

-- name: insert_region_peak
-- One peak season of a region.
INSERT INTO region_peaks (region_id, name, start_month, start_day, end_month, end_day)
VALUES (%s, %s, %s, %s, %s, %s);

-- name: upsert_customers
-- A customer.
INSERT INTO customers (customer_id, name, segment, key_account, region_id, peak_months)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (customer_id) DO UPDATE
    SET name = excluded.name, segment = excluded.segment,
        key_account = excluded.key_account, region_id = excluded.region_id,
        peak_months = excluded.peak_months
    WHERE (customers.name, customers.segment, customers.key_account, customers.region_id,
           customers.peak_months)
          IS DISTINCT FROM (excluded.name, excluded.segment, excluded.key_account,
                            excluded.region_id, excluded.peak_months);

-- name: upsert_stations
-- A service station with its technician count.
INSERT INTO stations (station_id, name, region_id, lat, lon, technicians)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (station_id) DO UPDATE
    SET name = excluded.name, region_id = excluded.region_id, lat = excluded.lat,
        lon = excluded.lon, technicians = excluded.technicians
    WHERE (stations.name, stations.region_id, stations.lat, stations.lon,
           stations.technicians)
          IS DISTINCT FROM (excluded.name, excluded.region_id, excluded.lat, excluded.lon,
                            excluded.technicians);

-- name: upsert_machines
-- A machine.
INSERT INTO machines (machine_id, serial, model, product_line, customer_id, region_id,
                      station_id, delivery_date, warranty_end, site_lat, site_lon)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (machine_id) DO UPDATE
    SET serial = excluded.serial, model = excluded.model,
        product_line = excluded.product_line, customer_id = excluded.customer_id,
        region_id = excluded.region_id, station_id = excluded.station_id,
        delivery_date = excluded.delivery_date, warranty_end = excluded.warranty_end,
        site_lat = excluded.site_lat, site_lon = excluded.site_lon
    WHERE (machines.serial, machines.model, machines.product_line, machines.customer_id,
           machines.region_id, machines.station_id, machines.delivery_date,
           machines.warranty_end, machines.site_lat, machines.site_lon)
          IS DISTINCT FROM (excluded.serial, excluded.model, excluded.product_line,
                            excluded.customer_id, excluded.region_id, excluded.station_id,
                            excluded.delivery_date, excluded.warranty_end, excluded.site_lat,
                            excluded.site_lon);

-- name: insert_dead_letters
-- Rows of a master-data file that could not be stored.
INSERT INTO dead_letters (received_at, source, topic, reason, detail, payload, payload_bytes)
VALUES (%s, %s, %s, %s, %s, %s, %s);

-- name: catalogue_spns
-- Fault codes the imported catalogue knows (besides the built-in ones).
SELECT spn FROM catalogue_fault_codes;

-- name: catalogue_components
-- Component names the imported catalogue knows (besides the built-in families).
SELECT component_id FROM catalogue_components;

-- name: machine_keys
-- Every machine id with its serial number (imports match rows by either).
SELECT machine_id, serial FROM machines;
