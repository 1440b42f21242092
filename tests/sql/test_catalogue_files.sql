-- Statements of tests/test_catalogue_files.py.

-- name: value_fleetcare_component_family_pum
-- fleetcare_component_family('Pumpe'), fleetcare_component_family('swing').
SELECT fleetcare_component_family('Pumpe'), fleetcare_component_family('swing');

-- name: count_catalogue_components
-- Rows in catalogue_components.
SELECT count(*) FROM catalogue_components;
