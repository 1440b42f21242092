"""`Ingest` as a child process the kill test can SIGKILL, without the CLI's start-up.

`python -m fleetcare ingest` imports every stage (models, backtest...) before it runs,
tens of seconds on a loaded two-core machine; this runs the same `ingest.subscriber.Ingest`
with the same settings the command uses. Usage: ingest_child.py MQTT_URL DB_URL CLIENT_ID
"""

import sys

from ingest.subscriber import Ingest, IngestConfig

if __name__ == "__main__":
    mqtt_url, db_url, client_id = sys.argv[1:4]
    once = "--once" in sys.argv
    Ingest(IngestConfig(mqtt_url=mqtt_url, database_url=db_url, client_id=client_id,
                        batch_messages=250, max_latency_s=0.2, once=once, idle_exit_s=2.0,
                        log_every_s=3600)).run()
