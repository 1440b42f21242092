"""Named SQL statements of the features stage, read from features/sql/*.sql.

Each statement starts with ``-- name: <name>`` followed by a one-line description. A few
statements carry ``{placeholders}`` for identifiers and fixed fragments that Python fills
with psycopg.sql objects built from constants, never from user input.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.M)


@cache
def load(filename: str) -> dict[str, str]:
    """The statements of one features/sql file, by name."""
    text = resources.files("features").joinpath("sql", filename).read_text("utf-8")
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in out:
            raise ValueError(f"{filename}: statement {name} defined twice")
        # Whole-line comments are documentation; dropping them keeps a %(name)s written in
        # prose from being taken for a parameter. Trailing comments stay (catalog.py).
        lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith("--")]
        out[name] = "\n".join(lines).strip()
    return out


def get(filename: str, name: str) -> str:
    """One named statement."""
    return load(filename)[name]
