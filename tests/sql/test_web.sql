-- Statements of tests/test_web.py.

-- name: insert_regions
-- Test rows into regions.
INSERT INTO regions VALUES ('east', 'East', 'growth', 'south', 31, 121);

-- name: insert_stations
-- Test rows into stations.
INSERT INTO stations VALUES ('S1', 'Shanghai', 'east', 31, 121, 2);
