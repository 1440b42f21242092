"""`fleetcare bench soak`: ingest under a fleet's steady rate with bursts, for a long time.

A 10,000-machine fleet reporting once a minute is ~170 msgs/s. Every ``burst_every``
seconds a burst adds the store-and-forward backlog of an outage (readings with older
timestamps) at ``burst_factor`` times that rate for ``burst_s`` seconds. ``fleetcare
ingest`` runs as its own process (so its memory can be sampled) against our own Mosquitto
(project config, free port) and a scratch database on the configured (or embedded)
PostgreSQL. Each second the publisher sends that second's messages at QoS 1 and waits for
every PUBACK (published = the broker has it); every ``sample_s`` the ingest's RSS and
its stored-row counter are sampled.

Figures: messages published, rows stored, lost (published − stored), duplicates stored,
peak lag (receive time − gateway send time, over every row), backlog peak, recovery time
after each burst (until the backlog is below one second of steady traffic), and RSS at
start (after the first burst, once the process is warm), end and peak.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import psycopg

from fleetcare.clikit import settings_of
from fleetcare.queries import load

log = logging.getLogger("bench.soak")
_Q = load("bench", "soak.sql")


@dataclass
class SoakConfig:
    """The load: duration, steady rate, bursts and fleet size."""

    seconds: float = 1800.0
    rate: float = 170.0
    burst_factor: float = 20.0
    burst_every_s: float = 300.0
    burst_s: float = 20.0
    machines: int = 10_000
    sample_s: float = 5.0


@dataclass
class SoakResult:
    published: int = 0
    stored: int = 0
    duplicates_stored: int = 0
    duplicates_delivered: int = 0
    dead_letters: int = 0
    peak_lag_s: float = 0.0
    p99_lag_s: float = 0.0
    peak_backlog: int = 0
    bursts: list[dict[str, float]] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (elapsed s, MB)
    seconds: float = 0.0
    publisher_late_s: float = 0.0
    ingest_exit: int | None = None

    @property
    def lost(self) -> int:
        return self.published - self.stored

    def as_dict(self) -> dict[str, Any]:
        rss = [mb for _, mb in self.rss_mb]
        warm = self._warm_rss()
        recoveries = [b["recovery_s"] for b in self.bursts if b["recovery_s"] is not None]
        return {
            "seconds": round(self.seconds, 1), "published": self.published,
            "stored": self.stored, "lost": self.lost,
            "duplicates_stored": self.duplicates_stored,
            "duplicates_delivered": self.duplicates_delivered,
            "dead_letters": self.dead_letters,
            "peak_lag_s": round(self.peak_lag_s, 2), "p99_lag_s": round(self.p99_lag_s, 2),
            "peak_backlog": self.peak_backlog, "bursts": self.bursts,
            "recovery_s_max": max(recoveries) if recoveries else None,
            "bursts_unrecovered": sum(1 for b in self.bursts if b["recovery_s"] is None),
            "rss_mb_start": warm, "rss_mb_end": rss[-1] if rss else None,
            "rss_mb_peak": max(rss) if rss else None,
            "rss_samples": [(round(t), round(mb, 1)) for t, mb in self.rss_mb],
            "publisher_late_s": round(self.publisher_late_s, 1),
            "ingest_exit": self.ingest_exit,
        }

    def _warm_rss(self) -> float | None:
        """RSS once warm: the first sample after the first burst (or the first sample)."""
        if not self.rss_mb:
            return None
        after = self.bursts[0]["end_s"] if self.bursts else 0.0
        return next((mb for t, mb in self.rss_mb if t >= after), self.rss_mb[0][1])


class Fleet:
    """Readings of ``machines`` gateways: one a minute each, plus outage backlogs."""

    def __init__(self, machines: int) -> None:
        self.ids = [f"S{m:05d}" for m in range(machines)]
        self.seq = [0] * machines
        self.hours = [1000.0 + (m % 997) for m in range(machines)]
        self._next = 0

    def _reading(self, m: int, ts: datetime, sent: datetime) -> tuple[str, bytes]:
        seq = self.seq[m]
        self.seq[m] += 1
        self.hours[m] += 1 / 60
        mid = self.ids[m]
        body = {"machine_id": mid, "seq": seq, "ts": ts.isoformat(),
                "sent_at": sent.isoformat(), "engine_hours": round(self.hours[m], 3),
                "idle_hours": round(self.hours[m] * 0.2, 3), "fuel_used_l": 14.0 * seq,
                "lat": 31.2, "lon": 121.5, "coolant_temp_c": 86.0,
                "hydraulic_oil_temp_c": 58.0, "engine_load_pct": 60.0,
                "hydraulic_pressure_bar": 280.0}
        return f"fleet/v1/{mid}/telemetry", json.dumps(body, separators=(",", ":")).encode()

    def live(self, n: int, now: datetime) -> list[tuple[str, bytes]]:
        """The next n machines in turn report a reading taken now."""
        out = []
        for _ in range(n):
            m = self._next
            self._next = (self._next + 1) % len(self.ids)
            out.append(self._reading(m, now, now))
        return out

    def backlog(self, n: int, now: datetime, outage_s: float) -> list[tuple[str, bytes]]:
        """n readings held by gateways through an outage, uploaded now."""
        out = []
        for i in range(n):
            m = (self._next + i) % len(self.ids)
            ts = now - timedelta(seconds=outage_s * (1 - i / max(n, 1)))
            out.append(self._reading(m, ts, now))
        return out


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


_STORED = re.compile(r'^fleetcare_ingest_rows_stored_total\{stream="telemetry"\} (\S+)$', re.M)
_DUPS = re.compile(r'^fleetcare_ingest_rows_duplicate_total\{stream="telemetry"\} (\S+)$', re.M)


def _scrape(port: int) -> tuple[int, int] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    stored, dups = _STORED.search(text), _DUPS.search(text)
    return (int(float(stored.group(1))) if stored else 0,
            int(float(dups.group(1))) if dups else 0)


def _seed(url: str, ids: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_Q.seed_region)
        with conn.cursor().copy(_Q.copy_machines) as copy:
            for mid in ids:
                copy.write_row((mid, "ZY210", "crawler_excavator", "soak", "2023-01-01"))


def run_soak(database_url: str, mqtt_url: str, config: SoakConfig,
             *, progress: bool = False) -> SoakResult:
    """Run the soak against a migrated, empty ``database_url`` and a broker at ``mqtt_url``."""
    from bench.loadgen import publish
    from fleetcare.embedded import free_port
    from ingest.subscriber import prepare_session

    cfg = config
    fleet = Fleet(cfg.machines)
    _seed(database_url, fleet.ids)
    client_id = f"soak-{uuid.uuid4().hex[:6]}"
    prepare_session(mqtt_url, client_id)
    port = free_port()
    env = {**os.environ, "FLEETCARE_DATABASE_URL": database_url, "FLEETCARE_MQTT_URL": mqtt_url}
    # The child's log goes to a file: a pipe nobody reads would fill up and block it.
    ingest_log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in the finally below
        prefix="fleetcare-soak-ingest-", suffix=".log",
        delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetcare", "ingest", "--client-id", client_id,
         "--metrics-port", str(port), "--log-every", "60"],
        env=env, stdout=ingest_log, stderr=subprocess.STDOUT)
    log.info("ingest pid %d, log %s", proc.pid, ingest_log.name)
    result = SoakResult()
    published = [0]
    stop = threading.Event()
    samples: list[tuple[float, int, int]] = []  # (elapsed, published, stored)
    t0 = time.monotonic()

    def sampler() -> None:
        next_rss = 0.0
        while not stop.wait(1.0):
            got = _scrape(port)
            elapsed = time.monotonic() - t0
            if got is not None:
                samples.append((elapsed, published[0], got[0]))
            if elapsed >= next_rss and proc.poll() is None:
                result.rss_mb.append((elapsed, rss_mb(proc.pid)))
                next_rss = elapsed + cfg.sample_s
                if progress:
                    backlog = published[0] - (got[0] if got else 0)
                    log.info("soak %5.0fs: published %d, backlog %d, ingest RSS %.1f MB",
                             elapsed, published[0], backlog, result.rss_mb[-1][1])

    try:
        # `fleetcare ingest` imports every stage first: minutes on a loaded machine.
        deadline = time.monotonic() + 600
        while _scrape(port) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                with open(ingest_log.name, errors="replace") as f:
                    err = f.read()
                raise click.ClickException(f"ingest did not start: {err[-2000:]}")
            time.sleep(0.2)
        t0 = time.monotonic()
        watcher = threading.Thread(target=sampler, daemon=True)
        watcher.start()
        second = 0
        carry = 0.0
        burst: dict[str, float] | None = None
        while second < cfg.seconds:
            due = t0 + second
            now_mono = time.monotonic()
            if now_mono < due:
                time.sleep(due - now_mono)
            else:
                result.publisher_late_s = max(result.publisher_late_s, now_mono - due)
            if proc.poll() is not None:
                break
            carry += cfg.rate
            n = int(carry)
            carry -= n
            now = datetime.now(UTC)
            messages = fleet.live(n, now)
            in_burst = (cfg.burst_every_s > 0 and second >= cfg.burst_every_s / 2
                        and (second - cfg.burst_every_s / 2) % cfg.burst_every_s < cfg.burst_s)
            if in_burst:
                if burst is None:
                    burst = {"start_s": float(second)}
                extra = int(cfg.rate * (cfg.burst_factor - 1))
                messages += fleet.backlog(extra, now, cfg.burst_every_s)
            elif burst is not None:
                burst["end_s"] = float(second)
                result.bursts.append(burst)
                burst = None
            publish(mqtt_url, messages, window=5000)
            published[0] += len(messages)
            second += 1
        if burst is not None:
            burst["end_s"] = float(second)
            result.bursts.append(burst)
        # Let ingest catch up with everything published.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            got = _scrape(port)
            if got and got[0] + got[1] >= published[0]:
                break
            time.sleep(0.5)
        time.sleep(cfg.sample_s)
        stop.set()
        watcher.join()
        final = _scrape(port)
        result.duplicates_delivered = final[1] if final else -1
        result.seconds = time.monotonic() - t0
    finally:
        stop.set()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        result.ingest_exit = proc.returncode
        ingest_log.close()
    result.published = published[0]
    for b in result.bursts:
        b["recovery_s"] = _recovery(samples, b["end_s"], cfg.rate)  # type: ignore[assignment]
    result.peak_backlog = max((p - s for _, p, s in samples), default=0)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(_Q.telemetry_outcome).fetchone()
        dead = conn.execute(_Q.dead_letters).fetchone()
    assert row is not None and dead is not None
    result.stored = int(row[1])
    result.duplicates_stored = int(row[0]) - int(row[1])
    result.peak_lag_s = float(row[2] or 0.0)
    result.p99_lag_s = float(row[3] or 0.0)
    result.dead_letters = int(dead[0])
    return result


def _recovery(samples: list[tuple[float, int, int]], end_s: float, rate: float) -> float | None:
    """Seconds from a burst's end until the backlog is below one second of steady traffic."""
    for elapsed, pub, stored in samples:
        if elapsed >= end_s and pub - stored <= rate:
            return round(elapsed - end_s, 1)
    return None


def format_result(r: dict[str, Any], cfg: SoakConfig) -> str:
    lines = [
        f"fleetcare bench soak: {r['seconds']:.0f} s at {cfg.rate:g} msgs/s "
        f"({cfg.machines} machines), bursts x{cfg.burst_factor:g} for {cfg.burst_s:g} s "
        f"every {cfg.burst_every_s:g} s",
        f"  messages published {r['published']:,}, stored {r['stored']:,}, lost {r['lost']}, "
        f"duplicates stored {r['duplicates_stored']} (redeliveries dropped: "
        f"{r['duplicates_delivered']}), dead letters {r['dead_letters']}",
        f"  lag (receive - send): peak {r['peak_lag_s']:.2f} s, p99 {r['p99_lag_s']:.2f} s; "
        f"backlog peak {r['peak_backlog']:,} messages",
    ]
    for i, b in enumerate(r["bursts"], 1):
        rec = "not recovered" if b["recovery_s"] is None else f"recovered in {b['recovery_s']} s"
        lines.append(f"  burst {i}: {b['start_s']:.0f}-{b['end_s']:.0f} s, {rec}")
    lines.append(f"  ingest RSS: start {r['rss_mb_start']:.1f} MB (warm), end "
                 f"{r['rss_mb_end']:.1f} MB, peak {r['rss_mb_peak']:.1f} MB"
                 if r["rss_mb_start"] is not None else "  ingest RSS: no samples")
    ok = r["lost"] == 0 and r["duplicates_stored"] == 0 and not r["bursts_unrecovered"]
    lines.append(f"  {'OK' if ok else 'FAILED'}: lost {r['lost']}, duplicates "
                 f"{r['duplicates_stored']}, bursts not recovered {r['bursts_unrecovered']}")
    return "\n".join(lines)


@click.command("soak")
@click.option("--minutes", type=click.FloatRange(0.1), default=30.0, show_default=True)
@click.option("--rate", type=click.FloatRange(1), default=170.0, show_default=True,
              help="steady messages per second (10,000 machines once a minute)")
@click.option("--burst-factor", type=click.FloatRange(1), default=20.0, show_default=True)
@click.option("--burst-every", "burst_every_s", type=click.FloatRange(0), default=300.0,
              show_default=True, help="seconds between bursts (0: none)")
@click.option("--burst-seconds", "burst_s", type=click.FloatRange(1), default=20.0,
              show_default=True)
@click.option("--machines", type=click.IntRange(1, 99_999), default=10_000, show_default=True)
@click.option("--sample-every", "sample_s", type=click.FloatRange(1), default=5.0,
              show_default=True, help="seconds between RSS samples")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench_soak(ctx: click.Context, minutes: float, rate: float, burst_factor: float,
               burst_every_s: float, burst_s: float, machines: int, sample_s: float,
               as_json: bool) -> None:
    """Ingest at a fleet's rate with bursts for a long time: loss, lag, recovery, memory.

    Starts its own Mosquitto (project config, free port), a scratch database on the
    configured or embedded PostgreSQL (dropped afterwards) and `fleetcare ingest` as a
    child process. Exits 1 if anything was lost or stored twice, or a burst's backlog was
    not worked off.
    """
    from bench.ingest import scratch_database
    from fleetcare.embedded import start_mosquitto
    from fleetcare.runtime import services

    settings = settings_of(ctx)
    cfg = SoakConfig(seconds=minutes * 60, rate=rate, burst_factor=burst_factor,
                     burst_every_s=burst_every_s, burst_s=burst_s, machines=machines,
                     sample_s=sample_s)
    with services(settings, migrate=False) as svc, \
            scratch_database(svc.db, settings.timescaledb) as scratch, \
            start_mosquitto() as broker:
        result = run_soak(scratch, broker.url, cfg, progress=not as_json)
        dropped = broker.dropped_messages()
    out = result.as_dict()
    out["broker_dropped"] = dropped
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(format_result(out, cfg))
    if out["lost"] or out["duplicates_stored"] or out["bursts_unrecovered"] or dropped:
        ctx.exit(1)
