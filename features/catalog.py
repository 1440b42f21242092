"""The feature list: every feature's name, meaning, unit, kind and component.

Read from the SQL that computes them (features/sql/build.sql for the stored per-day
features, features/sql/frame.sql for the context joined on at load time): each output
column there carries a ``-- [unit] meaning`` comment, so the list and the SQL cannot drift.
``FEATURES`` is what models store with a trained model and check at scoring time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from fleetcare import catalogue as cat
from fleetcare import queries

Kind = Literal["numeric", "count", "boolean", "categorical"]

_COLUMN = re.compile(r"\bAS (\w+),?\s+-- \[([^\]]*)\] (.+?)\s*$")
# Longest first, so "main_valve" is not read as a feature of "valve".
_BY_LENGTH = sorted(cat.COMPONENTS, key=len, reverse=True)


@dataclass(frozen=True)
class Feature:
    """One feature: what it means, its unit, its kind, and the component it describes."""

    name: str
    meaning: str
    unit: str
    kind: Kind
    source: str                   # "daily" (stored per day) or "context" (joined at load)
    component: str | None = None  # component family of a per-component feature
    generic: str | None = None    # its name without the component suffix

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"


def _kind(unit: str) -> Kind:
    if unit == "category":
        return "categorical"
    if unit == "bool":
        return "boolean"
    if unit == "count":
        return "count"
    return "numeric"


def _component(name: str) -> tuple[str | None, str | None]:
    if name.startswith("part_hours_") or name.startswith("overdue_h_"):
        return None, None
    for comp in _BY_LENGTH:
        if name.endswith("_" + comp):
            return comp, name[: -len(comp) - 1]
    return None, None


def parse(text: str, source: str) -> list[Feature]:
    """The annotated output columns of one SQL text, in order."""
    out = []
    for line in text.splitlines():
        match = _COLUMN.search(line)
        if match:
            name, unit, meaning = match.groups()
            comp, generic = _component(name)
            out.append(Feature(name, meaning, unit, _kind(unit), source, comp, generic))
    return out


def _load() -> tuple[Feature, ...]:
    daily = parse(queries.load("features", "build.sql").text("feature_rows"), "daily")
    context = parse(queries.load("features", "frame.sql").text("frame"), "context")
    names = [f.name for f in (*context, *daily)]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"features defined twice: {sorted(dupes)}")
    return (*context, *daily)


FEATURES: tuple[Feature, ...] = _load()
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
DAILY_COLUMNS: tuple[str, ...] = tuple(f.name for f in FEATURES if f.source == "daily")
CONTEXT_COLUMNS: tuple[str, ...] = tuple(f.name for f in FEATURES if f.source == "context")


def feature_names(*, kind: Kind | None = None) -> list[str]:
    """Names of all features (optionally of one kind), in the frame's column order."""
    return [f.name for f in FEATURES if kind is None or f.kind == kind]


def label_column(component: str) -> str:
    """The label column of a component in a labelled frame: fails within H days after D."""
    return f"fails_within_{component}"
