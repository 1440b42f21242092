"""Point-in-time features per machine and day, incremental, and labels kept apart.

Module map:

- ``days``       the fleet's time zone (the one place it is named) and day arithmetic
- ``rollup``     keeps ``feat_telemetry_daily`` / ``feat_fault_daily`` (cells keyed by machine,
                 event day and the day the data became known) up to date from raw rows
- ``build``      the daily job: chunks of days x machine shares, each built from the rollups
                 alone (``sql/build.sql``), upserted only where values changed; watermark
- ``catalog``    ``FEATURES``: name, meaning, unit, kind, component of every feature, parsed
                 from the annotated SQL (``fleetcare features list``)
- ``frame``      ``load_features`` (features + labels as a typed DataFrame) and
                 ``wear_intervals`` (censored wear-part lives for survival models)
- ``analysis``   the analysts' reads for notebooks/: fleet, daily hours, gateways, work
                 orders, codes before breakdowns (``sql/analysis.sql``), survival tables
- ``cli``        ``fleetcare features build|list|status`` (its benchmark: ``bench.features``)
- ``synthetic``  bench-scale raw data written by the database (generate_series)
- ``testing``    small hand-made fleets written straight into the raw tables
- ``sql/``       every statement, named (``-- name:``); ``migrations/0200_features.sql``
"""
