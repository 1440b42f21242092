"""Health check of a running ingest process, from its metrics port (compose runs it).

`python -m ingest.health [--port 9108] [--stuck 120]` exits 0 when the process is
connected to the broker and draining (nothing pending, or a batch committed within
--stuck seconds), else 1 with one line saying why. Only the standard library: the check
runs every 30 s and must stay light.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import urllib.error
import urllib.request


def metric(text: str, name: str) -> float | None:
    """The value of an unlabelled metric in Prometheus text format."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.MULTILINE)
    return float(match.group(1)) if match else None


def check(text: str, *, stuck_s: float = 120.0, now: float | None = None) -> str | None:
    """None if healthy, else why not."""
    now = time.time() if now is None else now
    if not metric(text, "fleetcare_ingest_broker_connected"):
        failures = metric(text, "fleetcare_ingest_broker_connect_failures_total") or 0
        return f"not connected to the MQTT broker ({failures:.0f} failed attempts)"
    pending = metric(text, "fleetcare_ingest_pending_messages") or 0
    last_commit = metric(text, "fleetcare_ingest_last_commit_timestamp_seconds") or 0
    if pending and now - last_commit > stuck_s:
        return (f"{pending:.0f} messages pending and no batch committed for "
                f"{now - last_commit:.0f} s (is the database reachable?)")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.health", description=__doc__)
    parser.add_argument("--port", type=int, default=9108)
    parser.add_argument("--stuck", type=float, default=120.0,
                        help="seconds with messages pending and no commit that mean stuck")
    args = parser.parse_args(argv)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except (OSError, urllib.error.URLError) as exc:
        print(f"ingest unhealthy: no metrics on port {args.port} ({exc})", file=sys.stderr)
        return 1
    why = check(text, stuck_s=args.stuck)
    if why:
        print(f"ingest unhealthy: {why}", file=sys.stderr)
        return 1
    print("ingest ok: connected and draining")
    return 0


if __name__ == "__main__":
    sys.exit(main())
