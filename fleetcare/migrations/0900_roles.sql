-- 0900 roles: what each Fleetcare service and the analysts may do in the database.
-- Why: a fleet's data is written by one service from the public internet's input; if
-- that service (or the web app, or a notebook) is compromised or buggy it must not be able
-- to rewrite history, change the schema or touch what it does not need. Migrations run
-- as the database owner (the user `fleetcare db upgrade` connects as); the services log in
-- as users that are members of these group roles (deploy/README.md, "Database roles"):
--
--   fleetcare_ingest   INSERT and SELECT on the raw tables (telemetry, fault codes,
--                      service records, dead letters), SELECT on machines, and the
--                      derived meter_resets it recomputes. No UPDATE or DELETE of raw
--                      rows, nothing else.
--   fleetcare_web      SELECT on everything; INSERT/UPDATE on plans and their reviews.
--                      Not the owner: cannot ALTER, DROP, TRUNCATE or CREATE.
--   fleetcare_analyst  SELECT on everything, now and on tables later migrations add.
--
-- Roles are cluster-wide: they are created once (if the owner may create roles) and
-- granted per database. Without CREATEROLE and without the roles, the grants are skipped
-- with a notice and everything still runs as the owner.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['fleetcare_ingest', 'fleetcare_web', 'fleetcare_analyst'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
                WHEN insufficient_privilege THEN
                    RAISE NOTICE 'no CREATEROLE: role % not created, grants skipped', r;
            END;
        END IF;
    END LOOP;

    IF (SELECT count(*) FROM pg_roles WHERE rolname IN
            ('fleetcare_ingest', 'fleetcare_web', 'fleetcare_analyst')) < 3 THEN
        RETURN;
    END IF;

    -- Nobody but the owner creates objects in the schema (the default since PG 15).
    BEGIN
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'not the owner of schema public: CREATE left as it is';
    END;
    GRANT USAGE ON SCHEMA public TO fleetcare_ingest, fleetcare_web, fleetcare_analyst;

    -- Every service runs `db upgrade` at start: with nothing pending it only reads this.
    GRANT SELECT ON schema_migrations TO fleetcare_ingest, fleetcare_web, fleetcare_analyst;

    GRANT SELECT ON machines TO fleetcare_ingest;
    GRANT SELECT, INSERT ON telemetry, fault_codes, service_records, dead_letters
        TO fleetcare_ingest;
    GRANT USAGE ON SEQUENCE dead_letters_id_seq TO fleetcare_ingest;
    -- Meter resets are derived, recomputed around each batch's readings (upsert and delete
    -- in ingest/sql/queries.sql); the readings themselves are never updated.
    GRANT SELECT, INSERT, UPDATE, DELETE ON meter_resets TO fleetcare_ingest;
    GRANT SELECT ON meter_offsets, telemetry_hours TO fleetcare_ingest;

    GRANT SELECT ON ALL TABLES IN SCHEMA public TO fleetcare_web, fleetcare_analyst;
    GRANT INSERT, UPDATE ON plans, plan_reviews, plan_visits, plan_parts TO fleetcare_web;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO fleetcare_web;
    -- Tables added by later migrations (run by this owner) are readable too.
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT SELECT ON TABLES TO fleetcare_web, fleetcare_analyst;
END $$;
