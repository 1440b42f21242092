-- Statements of tests/test_models_registry.py.

-- name: update_model_versions
-- Change model_versions rows.
UPDATE model_versions SET blob = overlay(blob placing '\x00'::bytea from 100 for 1) WHERE
    model_id = %s;
