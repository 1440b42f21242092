-- Statements of gateways/master.py: the simulated fleet's master data, upserted.

-- name: regions
-- A region, or its new values.
INSERT INTO regions (region_id, name, market, climate, lat, lon)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (region_id) DO UPDATE SET
    name = EXCLUDED.name, market = EXCLUDED.market, climate = EXCLUDED.climate,
    lat = EXCLUDED.lat, lon = EXCLUDED.lon;

-- name: region_peaks
-- A region's peak season, or its new dates.
INSERT INTO region_peaks (region_id, name, start_month, start_day, end_month, end_day)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (region_id, name) DO UPDATE SET
    start_month = EXCLUDED.start_month, start_day = EXCLUDED.start_day,
    end_month = EXCLUDED.end_month, end_day = EXCLUDED.end_day;

-- name: customers
-- A customer, or its new values.
INSERT INTO customers (customer_id, name, segment, key_account, region_id, peak_months)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (customer_id) DO UPDATE SET
    name = EXCLUDED.name, segment = EXCLUDED.segment, key_account = EXCLUDED.key_account,
    region_id = EXCLUDED.region_id, peak_months = EXCLUDED.peak_months;

-- name: stations
-- A service station, or its new values.
INSERT INTO stations (station_id, name, region_id, lat, lon, technicians)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (station_id) DO UPDATE SET
    name = EXCLUDED.name, region_id = EXCLUDED.region_id, lat = EXCLUDED.lat,
    lon = EXCLUDED.lon, technicians = EXCLUDED.technicians;

-- name: machines
-- A machine, or its new values.
INSERT INTO machines (machine_id, serial, model, product_line, customer_id, region_id,
                      station_id, delivery_date, warranty_end, site_lat, site_lon)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (machine_id) DO UPDATE SET
    serial = EXCLUDED.serial, model = EXCLUDED.model,
    product_line = EXCLUDED.product_line, customer_id = EXCLUDED.customer_id,
    region_id = EXCLUDED.region_id, station_id = EXCLUDED.station_id,
    delivery_date = EXCLUDED.delivery_date, warranty_end = EXCLUDED.warranty_end,
    site_lat = EXCLUDED.site_lat, site_lon = EXCLUDED.site_lon;
