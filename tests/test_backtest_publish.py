"""The backtest's publishing path stores exactly the rows production ingest stores.

The backtest sends each simulated week through the gateways' uplink and ingest's direct
path in one large batch, stamped as received at the end of the week. The same messages
published to a real Mosquitto and drained by the `fleetcare ingest` service give the
same telemetry, fault codes, work orders, meter resets and dead letters (all but the
server receive time). Gateway clock skew is off here: a skewed-ahead clock at the very
end of a week is the one case where the two receive times could order differently.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from test_ingest_helpers import broker, fast_publish, ingest_config, stored_rows  # noqa: F401

from backtest.publish import Publisher
from fleetcare.queries import beside
from gateways.fleet import build_fleet
from gateways.master import write_master_data
from gateways.simulator import BackgroundService, SimConfig, Simulator
from gateways.sinks import pairs
from gateways.uplink import Messiness, Uplink
from ingest.subscriber import Ingest, prepare_session

Q = beside(__file__)

START = date(2025, 4, 7)
DAYS = 21
# Every kind of mess but clock skew, at rates high enough to occur in a small fleet.
MESS = Messiness(gap_rate=0.05, duplicate_rate=0.03, out_of_order_rate=0.05, skew_share=0.0,
                 meter_reset_rate=2.0, malformed_rate=0.01)
TABLES = ("telemetry", "fault_codes", "service_records")


def _snapshot(url: str) -> dict[str, object]:
    out: dict[str, object] = {t: stored_rows(url, t) for t in TABLES}
    with psycopg.connect(url) as conn:
        out["meter_resets"] = conn.execute(
            Q.meter_resets_machine_id).fetchall()
        out["dead_letters"] = sorted(conn.execute(
            Q.dead_letters_source).fetchall(), key=repr)
    return out


def test_backtest_path_stores_what_mqtt_ingest_stores(db_url: str, broker) -> None:  # noqa: F811
    fleet = build_fleet(30, 5, START, DAYS)
    sim = Simulator(fleet, SimConfig(5, BackgroundService(maker_inspections=False)),
                    horizon_days=DAYS)
    records = list(sim.run(DAYS))
    with psycopg.connect(db_url) as conn:
        write_master_data(conn, fleet)
        publisher = Publisher(Uplink(fleet, 5, MESS, days=DAYS), conn)
        for week in range(DAYS // 7):
            publisher.feed(records[7 * week:7 * week + 7])
            publisher.store(records[7 * week + 6].day + timedelta(days=1))
    assert publisher.counts.meter_resets > 0 and publisher.counts.dead_letters_total > 0
    assert publisher.counts.duplicates_total > 0
    backtest_rows = _snapshot(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(Q.truncate)
    uplink = Uplink(fleet, 5, MESS, days=DAYS)
    messages = [m for rec in records for m in pairs(uplink.feed(rec))]
    cfg = ingest_config(broker.url, db_url, client_id="backtest-same", once=True)
    prepare_session(broker.url, cfg.client_id)
    fast_publish(broker.url, messages)
    Ingest(cfg).run()
    mqtt_rows = _snapshot(db_url)
    for key, rows in backtest_rows.items():
        assert rows == mqtt_rows[key], key
    assert len(backtest_rows["telemetry"]) > 1000  # type: ignore[arg-type]
