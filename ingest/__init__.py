"""Ingest: MQTT (and archives) → validation → batched idempotent writes → ack after commit.

Module map:

- ``records``     msgspec structs mirroring the JSON Schemas (the fast, strict decoder)
- ``decode``      topic/size checks, decode, JSON Schema fallback, plausibility, routing
                  into row tuples and dead letters; the reason codes
- ``writer``      one transaction per batch: COPY into staging, ON CONFLICT DO NOTHING
                  merge, meter-reset recomputation, dead letters (SQL in ``sql/queries.sql``)
- ``pipeline``    ``Pipeline`` (decode + machine cache + writer) and ``Counts``: the one
                  path every message takes
- ``direct``      ``ingest_messages(conn_or_url, messages)``: that path without a broker;
                  ``ingest_direct``: the simulator's ``--sink direct``
- ``subscriber``  ``Ingest`` / ``IngestConfig``: persistent QoS 1 session, writer thread,
                  backpressure, acks after commit, reconnects; ``prepare_session``
- ``fastsock``    read-ahead socket and batched PUBACKs for paho
- ``metrics``     Prometheus counters and the log summary
- ``importer``    ``fleetcare import``: CSV / Parquet / AEMP 2.0 through the same path
- ``tables``      reading import files: encodings, CSV / Parquet columns, AEMP pages
- ``master``      master data files (regions ... machines): upserts, unknown references
- ``cli``         ``fleetcare ingest`` and ``fleetcare import``
- ``migrations``  0100: ``meter_resets``, ``meter_offsets``, ``telemetry_hours``
"""
