-- Statements of models/registry.py: model versions, their blobs and the active one.

-- name: insert_version
-- A trained model, pickled with its checksum; returns its id.
INSERT INTO model_versions
       (kind, created_by, train_start, train_end, calib_end, params, features,
        feature_hash, metrics, blob, blob_sha256)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
RETURNING model_id;

-- name: lock_version
-- A version's kind, locked while the active one changes.
SELECT kind FROM model_versions WHERE model_id = %s FOR UPDATE;

-- name: deactivate_kind
-- No version of a kind is active (the partial unique index allows at most one).
UPDATE model_versions SET active = false WHERE kind = %s AND active;

-- name: activate_version
-- One version becomes the active one of its kind.
UPDATE model_versions SET active = true WHERE model_id = %s;

-- name: versions
-- Every version (of a kind, or all), newest first, without blobs.
SELECT model_id, kind, created_at, created_by, train_start, train_end, calib_end,
       features, feature_hash, params, metrics, blob_sha256, active
  FROM model_versions
 WHERE %(kind)s::text IS NULL OR kind = %(kind)s
 ORDER BY model_id DESC;

-- name: active_version
-- The active version of a kind, without its blob.
SELECT model_id, kind, created_at, created_by, train_start, train_end, calib_end,
       features, feature_hash, params, metrics, blob_sha256, active
  FROM model_versions WHERE kind = %s AND active;

-- name: blob
-- A version's pickled model, checksum, feature list and kind.
SELECT blob, blob_sha256, features, kind FROM model_versions WHERE model_id = %s;
