-- Statements of scheduler/leader.py and scheduler/health.py: advisory locks.

-- name: try_lock
-- Take a session advisory lock if free; true when taken.
SELECT pg_try_advisory_lock(%s);

-- name: unlock
-- Release a session advisory lock.
SELECT pg_advisory_unlock(%s);

-- name: ping
-- Is the lock's connection alive?
SELECT 1;

-- name: leader_held
-- Does any session hold the leader lock (its key split in %(hi)s and %(lo)s halves)?
SELECT EXISTS (
    SELECT 1 FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND database = (
             SELECT oid FROM pg_database WHERE datname = current_database())
       AND classid = %(hi)s::bigint::oid AND objid = %(lo)s::bigint::oid
       AND objsubid = 1);
