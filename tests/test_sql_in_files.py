"""Every SQL statement lives in a .sql file, read by fleetcare/queries.py.

A stage's statements sit in <stage>/sql/<module>.sql, a test module's in sql/<module>.sql
beside it, each under a `-- name:` with a one-line description. This scans the string
literals of every Python module of the packages and the tests for statements and fails
on any outside the short list below, each there for the reason it gives.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fleetcare import queries

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fleetcare", "gateways", "ingest", "features", "models", "scheduler", "backtest",
            "tests")
# Statements, not the words: "SELECT privilege" or "COPY ceiling" in prose pass.
STATEMENT = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TEMP\w*\s+|UNIQUE\s+|OR\s+REPLACE\s+)?"
    r"(TABLE|INDEX|VIEW|FUNCTION|DATABASE|SCHEMA|ROLE|EXTENSION)\b"
    r"|ALTER\s+(TABLE|DATABASE|ROLE)\b|DROP\s+(TABLE|DATABASE|ROLE|SCHEMA)\b"
    r"|TRUNCATE\s+\w|COPY\s+[\w(][^\n]*\b(FROM|TO)\s+STD(IN|OUT))")
ALLOWED = {
    "fleetcare/schema.py": "writes the catalogue out as DDL-like text for fleetcare/schema.sql; "
                           "the text is read by people, never executed",
    "tests/faults/test_faults_hostile.py": "SQL injection payloads sent as data; the test "
                                           "proves they are stored as text, never run",
    "tests/test_sql_in_files.py": "plants statements to show this scan and the loader's "
                                  "checks catch them",
}


def _strings(path: Path) -> list[tuple[int, str]]:
    """String literals (f-string parts included) but docstrings, with their lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef)
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def _offenders(path: Path) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line}: {' '.join(text.split())[:70]}"
            for line, text in _strings(path) if STATEMENT.search(text)]


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_no_sql_in_python_outside_the_allow_list() -> None:
    found = [o for p in _modules() if str(p.relative_to(ROOT)) not in ALLOWED
             for o in _offenders(p)]
    assert not found, ("SQL in Python; move it to a .sql file beside its module:\n"
                       + "\n".join(found))


def test_the_allow_list_is_still_needed() -> None:
    stale = [name for name in ALLOWED if not _offenders(ROOT / name)]
    assert not stale, f"allow-listed but clean now, take them off: {stale}"


def test_the_scan_catches_a_statement(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text('"""SELECT in a docstring is prose."""\n'
                     'Q = ("SELECT machine_id "\n     "FROM machines")\n'
                     'T = f"DELETE FROM {table}"\nP = "(c) COPY ceiling"\n', encoding="utf-8")
    hits = [text for _, text in _strings(leaky) if STATEMENT.search(text)]
    assert hits == ["SELECT machine_id FROM machines", "DELETE FROM "]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT) for p in ROOT.rglob("sql/*.sql")
                                        if ".venv" not in p.parts), ids=str)
def test_every_sql_file_loads(path: Path) -> None:
    """Names are unique lower_case words with a description line; no statement is empty."""
    loaded = queries.load_path(ROOT / path)
    assert len(loaded) and all(loaded.descriptions.values())


def test_a_misspelt_name_names_the_file() -> None:
    q = queries.load("scheduler", "store.sql")
    with pytest.raises(AttributeError, match=r"scheduler/sql/store.sql has no statement "
                                             r"'stationz' \(it has: .*stations"):
        q.stationz  # noqa: B018


def test_malformed_files_are_refused() -> None:
    for text, why in [("-- name: a\nSELECT 1;", "no description"),
                      ("-- name: a\n-- one\nSELECT 1;\n-- name: a\n-- two\nSELECT 2;",
                       "defined twice"),
                      ("-- name: Bad-Name\n-- x\nSELECT 1;", "bad statement name"),
                      ("-- name: get\n-- x\nSELECT 1;", "hides Queries.get"),
                      ("-- name: a\n-- only a comment\n", "is empty")]:
        with pytest.raises(ValueError, match=why):
            queries.parse(text, "x.sql")
