"""Plan audit: EXPLAIN every statement a piece of real work runs, and judge the plans.

`Audit.recording(label)` wraps psycopg's Cursor.execute/executemany for the duration:
before each SELECT / INSERT / UPDATE / DELETE / WITH statement runs, the same statement
with the same parameters is EXPLAINed on the same connection, in the same transaction
(inside a savepoint), so the plan judged is the plan that runs. The work itself runs
unchanged against the real database.

A plan is refused when it reads history whole:

- full scan: a Seq Scan (or an index scan with no index condition) of a hypertable's
  chunk or of a table that grows with history, at least `min_rows` rows big in the
  audited database (smaller tables are read whole by any sane plan);
- every chunk, per row: a scan of every chunk of a hypertable repeated for each outer
  row (a nested loop's inner side or a correlated subplan), with no plan-time chunk
  exclusion and no ChunkAppend that excludes chunks per row (runtime exclusion) or,
  ordered under a LIMIT, stops at the first chunk holding a row.

No helper tests here; tests/test_plan_audit.py drives it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from fleetcare.queries import beside

Q = beside(__file__)

# Tables whose rows accumulate with the fleet's history (hypertables are found by
# asking TimescaleDB; these are the plain ones).
GROWING_TABLES = frozenset({
    "telemetry", "fault_codes", "service_records", "meter_resets", "dead_letters",
    "features_daily", "feat_telemetry_daily", "feat_fault_daily", "feat_fault_first_seen",
    "feat_service_hours", "risk_scores", "wear_forecasts", "job_runs", "plans",
    "plan_visits", "plan_parts", "plan_reviews",
})
FULL_SCANS = {"Seq Scan", "Parallel Seq Scan", "Sample Scan"}
INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
_EXPLAINABLE = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|VALUES)\b", re.I)
_COMMENT = re.compile(r"^\s*--[^\n]*\n")


@dataclass
class Finding:
    label: str
    statement: str
    problem: str

    def __str__(self) -> str:
        text = " ".join(self.statement.split())
        return f"[{self.label}] {self.problem}\n    in: {text[:300]}"


@dataclass
class Audit:
    url: str
    min_rows: float = 5_000
    findings: list[Finding] = field(default_factory=list)
    explained: dict[str, int] = field(default_factory=dict)   # label -> statements
    _chunks: dict[str, tuple[str, int]] = field(default_factory=dict)  # chunk -> (ht, n)
    _rows: dict[str, float] = field(default_factory=dict)

    def refresh_catalog(self) -> None:
        """Learn the hypertables' chunks and the tables' sizes (call after filling)."""
        with psycopg.connect(self.url) as conn:
            has_ts = conn.execute(
                Q.pg_extension_exists_select_1
            ).fetchone()[0]  # type: ignore[index]
            self._chunks = {}
            if has_ts:
                rows = conn.execute(
                    Q.timescaledb_information_chunks_chunk_name
                ).fetchall()
                self._chunks = {c: (h, int(n)) for c, h, n in rows}
            self._rows = {name: float(n) for name, n in conn.execute(
                Q.pg_class_relname)}

    @contextmanager
    def recording(self, label: str) -> Iterator[None]:
        """EXPLAIN and judge every explainable statement run inside the block."""
        audit = self
        original_execute = psycopg.Cursor.execute
        original_many = psycopg.Cursor.executemany

        def execute(cur: psycopg.Cursor, query: Any, params: Any = None,
                    **kwargs: Any) -> Any:
            audit._explain(label, cur.connection, original_execute, query, params)
            return original_execute(cur, query, params, **kwargs)

        def executemany(cur: psycopg.Cursor, query: Any, params_seq: Any,
                        **kwargs: Any) -> Any:
            params_seq = list(params_seq)
            if params_seq:
                audit._explain(label, cur.connection, original_execute, query, params_seq[0])
            return original_many(cur, query, params_seq, **kwargs)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
        try:
            yield
        finally:
            psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
            psycopg.Cursor.executemany = original_many  # type: ignore[method-assign]

    def _explain(self, label: str, conn: psycopg.Connection, execute: Any, query: Any,
                 params: Any) -> None:
        text = _text(query, conn)
        body = text
        while _COMMENT.match(body):
            body = _COMMENT.sub("", body, count=1)
        if not _EXPLAINABLE.match(body) or "pg_advisory" in body:
            return
        if isinstance(query, str | bytes):
            prefix = "EXPLAIN (FORMAT JSON) "
            explain: Any = (prefix.encode() + query if isinstance(query, bytes)
                            else prefix + query)
        else:
            explain = sql.Composed([sql.SQL("EXPLAIN (FORMAT JSON) "), query])
        status = conn.info.transaction_status
        cur = conn.cursor()
        if status == psycopg.pq.TransactionStatus.INTRANS:
            with conn.transaction():
                execute(cur, explain, params)
                plan = cur.fetchone()[0]  # type: ignore[index]
        else:
            execute(cur, explain, params)
            plan = cur.fetchone()[0]  # type: ignore[index]
            if not conn.autocommit:
                conn.rollback()   # leave the connection as the work expects it (idle)
        cur.close()
        if isinstance(plan, str):
            plan = json.loads(plan)
        self.explained[label] = self.explained.get(label, 0) + 1
        for problem in self.judge(plan[0]["Plan"]):
            self.findings.append(Finding(label, text, problem))

    def judge(self, root: dict[str, Any]) -> list[str]:
        """What is wrong with one plan (an empty list: nothing)."""
        problems: list[str] = []
        self._walk(root, per_row=False, under_limit=False, problems=problems)
        return problems

    def _walk(self, node: dict[str, Any], *, per_row: bool, under_limit: bool,
              problems: list[str]) -> None:
        kind = node.get("Node Type", "")
        rel = node.get("Relation Name")
        if rel and kind in FULL_SCANS | INDEX_SCANS:
            self._scan(node, kind, rel, problems)
        if kind in ("Append", "Merge Append", "Custom Scan") and per_row:
            self._all_chunks(node, kind, under_limit, problems)
        children = node.get("Plans", [])
        for i, child in enumerate(children):
            relationship = child.get("Parent Relationship", "")
            inner = (kind == "Nested Loop" and (relationship == "Inner" or i == 1)) or (
                relationship == "SubPlan")
            self._walk(child, per_row=per_row or inner,
                       under_limit=kind == "Limit" or (under_limit and kind != "Limit"
                                                         and kind in ("Custom Scan",
                                                                      "Result")),
                       problems=problems)

    def _scan(self, node: dict[str, Any], kind: str, rel: str, problems: list[str]) -> None:
        hypertable = self._chunks.get(rel, (None, 0))[0]
        if hypertable is None and rel not in GROWING_TABLES:
            return
        if self._rows.get(rel, 0.0) < self.min_rows:
            return
        where = f"{rel} (chunk of {hypertable})" if hypertable else rel
        if kind in FULL_SCANS:
            problems.append(f"{kind} of {where}, {self._rows.get(rel, 0):.0f} rows")
        elif "Index Cond" not in node and kind != "Bitmap Index Scan":
            problems.append(f"{kind} of {where} without an index condition (whole index)")

    def _all_chunks(self, node: dict[str, Any], kind: str, under_limit: bool,
                    problems: list[str]) -> None:
        chunks: dict[str, int] = {}
        for child in node.get("Plans", []):
            rel = child.get("Relation Name")
            if rel in self._chunks:
                hypertable, total = self._chunks[rel]
                chunks[hypertable] = chunks.get(hypertable, 0) + 1
        chunk_append = node.get("Custom Plan Provider") == "ChunkAppend"
        # ChunkAppend skips chunks per row (runtime exclusion) or, ordered under a LIMIT,
        # stops at the first chunk that has a row.
        ordered = chunk_append and (bool(node.get("Runtime Exclusion"))
                                    or (under_limit and "Order" in node))
        for hypertable, n in chunks.items():
            total = next(t for h, t in self._chunks.values() if h == hypertable)
            if n >= total and total > 1 and not ordered:
                problems.append(f"every chunk of {hypertable} ({n}) scanned once per outer row")


def _text(query: Any, conn: psycopg.Connection) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode()
    return query.as_string(conn)
