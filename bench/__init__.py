"""Benchmarks (`fleetcare bench ...`): load generators, scratch databases, timed runs.

Above the stages they measure and outside them: the stages hold only what production
runs, and the root command attaches this package's ``bench`` group.

Module map:

- ``cli``       the ``fleetcare bench`` group
- ``ingest``    ``fleetcare bench ingest``: ingest against a naive subscriber and ceilings
- ``soak``      ``fleetcare bench soak``: hours of bursts against one ingest process
- ``loadgen``   a pipelined QoS 1 publisher (the benchmarks' and tests' load)
- ``features``  ``fleetcare bench features``: full and daily builds against a scan
- ``models``    ``fleetcare bench models``: training on a synthetic or stored fleet
- ``plan``      ``fleetcare bench plan``: the visit planner on a synthetic instance
"""
