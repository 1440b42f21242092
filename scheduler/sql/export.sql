-- Statements of scheduler/export.py.

-- name: visit_details
-- Model, customer, site and station name of the given machines.
SELECT m.machine_id, m.model, coalesce(c.name, m.customer_id) AS customer, m.site_lat,
       m.site_lon, s.name AS station_name
  FROM machines m
  LEFT JOIN customers c USING (customer_id)
  LEFT JOIN stations s ON s.station_id = m.station_id
 WHERE m.machine_id = ANY(%s);
