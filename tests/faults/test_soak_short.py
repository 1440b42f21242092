"""`fleetcare bench soak` in short: the same code as the 30-minute run, 20 seconds of a
fleet's steady traffic with two x20 bursts; nothing lost or doubled, both bursts worked
off, memory sampled."""

from __future__ import annotations

from test_ingest_helpers import broker  # noqa: F401 - fixture

from bench.soak import SoakConfig, format_result, run_soak


def test_short_soak_loses_nothing_and_recovers_from_bursts(db_url: str, broker) -> None:
    cfg = SoakConfig(seconds=20, rate=170, burst_factor=20, burst_every_s=10, burst_s=2,
                     machines=2000, sample_s=2)
    result = run_soak(db_url, broker.url, cfg)
    out = result.as_dict()
    print(format_result(out, cfg))
    assert out["published"] == 20 * 170 + 2 * 2 * 170 * 19
    assert out["stored"] == out["published"] and out["lost"] == 0
    assert out["duplicates_stored"] == 0 and out["dead_letters"] == 0
    assert len(out["bursts"]) == 2 and out["bursts_unrecovered"] == 0
    assert out["rss_mb_start"] and out["rss_mb_end"] and len(out["rss_samples"]) >= 5
    assert not broker.dropped_messages()
