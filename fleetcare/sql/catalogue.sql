-- Statements of fleetcare/catalogue_files.py: the maker's imported catalogue.

-- name: clear_fault_codes
-- Forget the imported fault codes (a new import replaces them all).
DELETE FROM catalogue_fault_codes;

-- name: clear_components
-- Forget the imported components.
DELETE FROM catalogue_components;

-- name: add_component
-- An imported component.
INSERT INTO catalogue_components (component_id, name, family, interval_h) VALUES (%s, %s, %s, %s);

-- name: add_fault_code
-- An imported fault code (SPN) and its component.
INSERT INTO catalogue_fault_codes (spn, name, component) VALUES (%s, %s, %s);

-- name: components
-- The imported components.
SELECT component_id, name, family, interval_h FROM catalogue_components ORDER BY component_id;

-- name: fault_codes
-- The imported fault codes.
SELECT spn, name, component FROM catalogue_fault_codes ORDER BY spn;
