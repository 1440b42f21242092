"""`fleetcare serve`: a small read-only status page and JSON summary over the database.

The planners' review UI (approve / change / reject plans) is its own later stage; this is
the always-on page operators and the compose health check look at.
"""

from __future__ import annotations

import html
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click
import psycopg

from fleetcare.clikit import settings_of
from fleetcare.queries import load

log = logging.getLogger("fleetcare.web")

# Master data is small: exact counts. Tables that grow with history are counted from the
# planner's statistics (approximate, no scan): the page is polled, and must stay cheap.
_Q = load("app", "web.sql")
_COUNTS = {"machines": _Q.count_machines, "stations": _Q.count_stations}
_GROWING = {"telemetry_rows": "telemetry", "fault_codes": "fault_codes",
            "service_records": "service_records", "dead_letters": "dead_letters"}


def approximate_rows(conn: psycopg.Connection, table: str) -> int:
    """Rows in `table` from statistics (TimescaleDB's approximate_row_count if loaded)."""
    tsdb = conn.execute(_Q.has_timescaledb).fetchone()
    row = (conn.execute(_Q.approx_rows_tsdb, (table,)) if tsdb
           else conn.execute(_Q.approx_rows_pg, (table, table))).fetchone()
    return max(int(row[0] or 0), 0) if row else 0


def summary(url: str) -> dict[str, Any]:
    """Counts per table (approximate for history), the newest reading, jobs and plans."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        out: dict[str, Any] = {
            name: conn.execute(sql).fetchone()[0]  # type: ignore[index]
            for name, sql in _COUNTS.items()
        }
        for name, table in _GROWING.items():
            out[name] = approximate_rows(conn, table)
        out["counts_note"] = "history counts are estimates from table statistics"
        newest = conn.execute(_Q.newest_reading).fetchone()
        out["newest_reading"] = newest[0].isoformat() if newest else None
        out["jobs"] = [
            {"job": j, "started_at": s.isoformat(), "outcome": o}
            for j, s, o in conn.execute(_Q.recent_jobs)
        ]
        out["plans"] = [
            {"plan_id": p, "kind": k, "status": st, "window_start": ws.isoformat(),
             "window_end": we.isoformat(), "summary": sm}
            for p, k, st, ws, we, sm in conn.execute(_Q.recent_plans)
        ]
    return out


def _page(data: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in data.items()
        if not isinstance(v, list)
    )
    plans = "".join(
        f"<tr><td>{p['plan_id']}</td><td>{p['kind']}</td><td>{html.escape(p['status'])}</td>"
        f"<td>{p['window_start']} – {p['window_end']}</td></tr>" for p in data["plans"]
    ) or "<tr><td colspan=4>no plans yet</td></tr>"
    jobs = "".join(
        f"<tr><td>{html.escape(j['job'])}</td><td>{j['started_at']}</td>"
        f"<td>{html.escape(str(j['outcome']))}</td></tr>" for j in data["jobs"]
    ) or "<tr><td colspan=3>no job runs yet</td></tr>"
    return f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Fleetcare</title>
<style>body{{font:14px sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:left}}</style>
<h1>Fleetcare</h1><h2>Data</h2><table>{rows}</table>
<h2>Plans</h2><table><tr><th>id</th><th>kind</th><th>status</th><th>window</th></tr>{plans}</table>
<h2>Recent jobs</h2><table><tr><th>job</th><th>started</th><th>outcome</th></tr>{jobs}</table>
<p><a href="/api/summary">JSON</a></p></html>"""


def make_handler(url: str) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one database URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?")[0]
            if path not in ("/", "/api/summary", "/healthz"):
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
                return
            try:
                if path == "/healthz":  # answering and reaching the database; no table read
                    with psycopg.connect(url, connect_timeout=5) as conn:
                        conn.execute(_Q.ping)
                    self._send(HTTPStatus.OK, "text/plain", b"ok\n")
                    return
                data = summary(url)
            except psycopg.Error as exc:
                log.warning("database unavailable: %s", exc)
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain",
                           b"database unavailable\n")
                return
            if path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", _page(data).encode())
            else:
                body = json.dumps(data, default=str).encode()
                self._send(HTTPStatus.OK, "application/json", body)

        def _send(self, status: HTTPStatus, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


@click.command()
# The settings' variables (also read from .env), not FLEETCARE_SERVE_*: one name each.
@click.option("--host", default=None, envvar="FLEETCARE_WEB_HOST", help="Bind address.")
@click.option("--port", type=int, default=None, envvar="FLEETCARE_WEB_PORT", help="Port.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the status page and JSON summary over HTTP until stopped."""
    from fleetcare.errors import TerminalError
    from fleetcare.runtime import services

    settings = settings_of(ctx)
    address = (host or settings.web_host, settings.web_port if port is None else port)
    with services(settings) as svc:
        try:
            server = ThreadingHTTPServer(address, make_handler(svc.db))
        except OSError as exc:
            raise TerminalError(
                f"cannot listen on {address[0]}:{address[1]} ({exc.strerror or exc}); stop "
                "what uses it or choose another with --port / FLEETCARE_WEB_PORT") from None
        log.info("serving on http://%s:%d/", *server.server_address[:2])
        try:
            server.serve_forever()
        finally:
            server.server_close()
