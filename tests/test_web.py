"""`fleetcare serve` answers over real HTTP with what the database holds."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import ThreadingHTTPServer

import psycopg

from app.web import make_handler
from fleetcare.queries import beside

Q = beside(__file__)


def test_status_page_and_summary(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(Q.insert_regions)
        conn.execute(Q.insert_stations)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(db_url))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/api/summary", timeout=10) as resp:
            data = json.load(resp)
        assert data["stations"] == 1 and data["machines"] == 0
        with urllib.request.urlopen(base + "/", timeout=10) as resp:
            page = resp.read().decode()
        assert "<h1>Fleetcare</h1>" in page and "no plans yet" in page
        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            assert resp.status == 200
    finally:
        server.shutdown()
        server.server_close()
