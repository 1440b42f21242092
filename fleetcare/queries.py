"""Named SQL statements, read from the `.sql` files beside the stage that owns them.

Every statement of the project lives in a file like scheduler/sql/queries.sql as

    -- name: latest_plan_id
    -- The newest non-rejected plan of a kind.
    SELECT ...;

a name, at least one line of description, then the statement. ``load("scheduler")``
returns that file's statements, checked once and cached; ``Q.latest_plan_id`` (or
``Q["latest_plan_id"]``) is a ``psycopg.sql.SQL`` ready for ``execute``, ``copy`` or
``.format(table=sql.Identifier(...))`` where a statement has ``{placeholders}`` for
identifiers. A misspelt name fails with the file and the names it holds.

Why not aiosql: it turns each statement into a function over a connection and rewrites
``:name`` parameters, while these statements are composed with psycopg.sql, fed to COPY
and executemany, and already use psycopg's ``%(name)s``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path

from psycopg import sql

_HEADER = re.compile(r"^-- name: *(.*?)\s*$", re.M)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Queries(Mapping[str, sql.SQL]):
    """The statements of one .sql file, by name."""

    def __init__(self, where: str, statements: dict[str, str], descriptions: dict[str, str]
                 ) -> None:
        self.where = where
        self._text = statements
        self.descriptions = descriptions
        # The text comes from a file shipped with the package, never from input: it is
        # what psycopg's LiteralString annotation asks for, which mypy treats as str.
        self._sql = {n: sql.SQL(t) for n, t in statements.items()}

    def __getitem__(self, name: str) -> sql.SQL:
        try:
            return self._sql[name]
        except KeyError:
            raise KeyError(f"{self.where} has no statement {name!r} "
                           f"(it has: {', '.join(sorted(self._sql))})") from None

    def __getattr__(self, name: str) -> sql.SQL:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(exc.args[0]) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._sql)

    def __len__(self) -> int:
        return len(self._sql)

    def text(self, name: str) -> str:
        """The statement as plain text (for code that reads the SQL itself)."""
        self[name]
        return self._text[name]


def parse(text: str, where: str) -> Queries:
    """Split a .sql file's text into named statements, refusing malformed ones."""
    parts = _HEADER.split(text)
    statements: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise ValueError(f"{where}: bad statement name {name!r} (lower_case_words)")
        if hasattr(Queries, name):
            raise ValueError(f"{where}: statement name {name!r} hides Queries.{name}")
        if name in statements:
            raise ValueError(f"{where}: statement {name} defined twice")
        lines = body.strip("\n").splitlines()
        if not lines or not lines[0].startswith("-- "):
            raise ValueError(f"{where}: statement {name} has no description line")
        descriptions[name] = lines[0].removeprefix("-- ").strip()
        # Whole-line comments are documentation; dropping them keeps a %(x)s written in
        # prose from being taken for a parameter. Trailing comments stay.
        code = "\n".join(ln for ln in lines if not ln.lstrip().startswith("--")).strip()
        # Without its final semicolon a statement also composes into a larger one.
        code = code.removesuffix(";").rstrip()
        if not code:
            raise ValueError(f"{where}: statement {name} is empty")
        statements[name] = code
    return Queries(where, statements, descriptions)


@cache
def load(package: str, filename: str = "queries.sql") -> Queries:
    """The statements of `<package>/sql/<filename>`."""
    text = resources.files(package).joinpath("sql", filename).read_text("utf-8")
    return parse(text, f"{package}/sql/{filename}")


@cache
def load_path(path: Path) -> Queries:
    """The statements of a .sql file outside the packages (the tests' tests/sql/)."""
    return parse(path.read_text("utf-8"), str(path))


def beside(module_file: str) -> Queries:
    """The statements of the module at `module_file`, in sql/<module>.sql next to it (how
    the tests keep theirs: ``Q = beside(__file__)``)."""
    path = Path(module_file)
    return load_path(path.parent / "sql" / f"{path.stem}.sql")
