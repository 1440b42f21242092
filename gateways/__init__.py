"""Simulated machine gateways: a fleet with a hidden wear-and-failure process.

Module map:
- fleet.py      master data (regions, stations, customers, machines) + per-machine arrays
- seasons.py    activity and ambient temperature by region and day
- wear.py       parameters of the hidden process (Weibull wear, P-F intervals, codes)
- simulator/    Simulator: step() a day → DayRecords; apply_visit(), snapshot(), copy()
                (engine: step(); state; maintenance: visits, repairs; customers; records)
- uplink.py     gateways: seq numbers, store-and-forward, resends, skew, meter resets
- publisher.py  MQTT (paho 2.x, QoS 1, PUBACK window); sinks.py: pairs, jsonl
- migrations/, truth.py the `truth` schema, its own migration track (evaluation, backtests)
- master.py     upsert master data, CSV export; report.py run statistics
- run.py        SimulationRun: the pieces wired together; cli.py `fleetcare simulate`
"""
