"""How the models read a features frame: keys, labels, features, and which belong to a component.

The features stage gives one row per machine and day (``features.frame.load_features``)
with machine-level columns and component-specific ones (a column whose feature belongs to
one component family, e.g. fault counts of the hydraulic pump). The risk model works on a
long frame instead, one row per machine, day and component, where each component row
carries the machine-level features plus its *own* component's features under a generic
name. That lets one model learn "many fault codes of this component" across components.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fleetcare import catalogue as cat

KEYS = ("machine_id", "day")
COMPONENT_COL = "component"
# Identifiers and raw dates are not features: a model must not learn a machine's name.
NOT_FEATURES = frozenset({
    "machine_id", "day", "customer_id", "station_id", "serial", "delivery_date",
    "warranty_end", "as_of", "computed_at", "arrived_until",
})
_LABEL_PREFIXES = ("label_", "fails_within_", "fail_within_", "failed_within_", "y_")
# Longest first, so that "main_valve" is not mistaken for a feature ending in "valve".
_COMPONENTS_BY_LENGTH = sorted(cat.COMPONENTS, key=len, reverse=True)


@dataclass(frozen=True)
class FeatureInfo:
    """What the models know of one feature: its kind, unit, meaning and component."""

    name: str
    kind: str = "numeric"            # numeric / categorical / boolean / count
    unit: str = ""
    meaning: str = ""
    component: str | None = None     # the component family it describes, if any
    generic: str | None = None       # the name shared by every component's copy

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"


@dataclass(frozen=True)
class Layout:
    """The roles of a frame's columns, resolved once per frame and stored with each model."""

    machine_features: tuple[str, ...]
    component_features: dict[str, dict[str, str]]    # generic -> component -> real column
    categorical: frozenset[str]
    labels: dict[str, str]                           # component -> label column
    info: dict[str, FeatureInfo] = field(default_factory=dict)

    @property
    def generic_features(self) -> tuple[str, ...]:
        return tuple(sorted(self.component_features))

    @property
    def design_columns(self) -> tuple[str, ...]:
        """The columns of the long design frame, in a fixed order (component first)."""
        return (COMPONENT_COL, *self.machine_features, *self.generic_features)

    @property
    def source_features(self) -> tuple[str, ...]:
        """Every real feature column the models read, in a fixed order."""
        comp = sorted({col for per in self.component_features.values() for col in per.values()})
        return (*self.machine_features, *comp)

    def real_name(self, design_col: str, component: str) -> str | None:
        """The real feature behind a design column for a component row."""
        if design_col in self.component_features:
            return self.component_features[design_col].get(component)
        return design_col if design_col in self.machine_features else None

    def restrict(self, design_columns: Iterable[str]) -> Layout:
        """The same layout with only these design columns (and the component) kept."""
        keep = set(design_columns)
        comp = {g: per for g, per in self.component_features.items() if g in keep}
        machine = tuple(c for c in self.machine_features if c in keep)
        used = set(machine) | {col for per in comp.values() for col in per.values()}
        return Layout(machine, comp, frozenset(c for c in self.categorical if c in keep),
                      self.labels, {k: v for k, v in self.info.items() if k in used})

    def components(self) -> tuple[str, ...]:
        """Components that have a label (when labelled) or any specific feature."""
        found = set(self.labels)
        for per in self.component_features.values():
            found |= set(per)
        return tuple(c for c in cat.COMPONENTS if c in found)


# Condition features describe the machine's state now (sensors, fault codes, service
# overdue, recent use); the rest describe who and where it is (line, region, hour meter,
# age, calendar). With few failures to learn from, a model on all of them memorises
# which machines failed in the training period; on condition features it cannot.
_CONDITION_UNITS = frozenset({"°C", "°C/d", "bar", "bar/d", "share", "L/h"})
_CONDITION_NAME = re.compile(
    r"^(faults_|codes_|high_oc_codes|new_codes|overdue_h_|hours_(1|7|30)d$|load_factor)")


def condition_columns(layout: Layout) -> list[str]:
    """The design columns that describe condition: every component-own feature, and the
    machine-level sensor, fault-code, overdue-service and recent-use features."""
    keep = [COMPONENT_COL, *layout.generic_features]
    for col in layout.machine_features:
        info = layout.info.get(col)
        unit = info.unit if info else ""
        if col not in layout.categorical and (unit in _CONDITION_UNITS
                                              or _CONDITION_NAME.match(col)):
            keep.append(col)
    return keep


def split_component(name: str) -> tuple[str, str] | None:
    """("faults_7d", "engine") for "faults_7d_engine"; None for a machine-level name."""
    for comp in _COMPONENTS_BY_LENGTH:
        for sep in ("__", "_"):
            suffix = sep + comp
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)], comp
    return None


def label_component(name: str) -> str | None:
    """The component a label column names, or None if it is not a label."""
    low = name.lower()
    if not low.startswith(_LABEL_PREFIXES):
        return None
    for prefix in _LABEL_PREFIXES:
        if low.startswith(prefix):
            rest = low[len(prefix):]
            rest = re.sub(r"^\d+d_", "", rest)            # label_30d_engine
            rest = re.sub(r"_\d+d$", "", rest)            # label_engine_30d
            return rest if rest in cat.COMPONENTS else None
    return None


def catalog_info() -> dict[str, FeatureInfo]:
    """Feature metadata from ``features.catalog.FEATURES`` when that module is installed."""
    try:
        from features import catalog  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return {}
    entries = getattr(catalog, "FEATURES", ())
    if isinstance(entries, dict):
        entries = [
            v if not isinstance(v, dict) else {"name": k, **v} for k, v in entries.items()
        ]
    out: dict[str, FeatureInfo] = {}
    for entry in entries:
        get = entry.get if isinstance(entry, dict) else lambda k, e=entry: getattr(e, k, None)
        name = get("name")
        if not name:
            continue
        kind = str(get("kind") or get("dtype") or "numeric")
        component = get("component")
        meaning = get("meaning") or get("description") or get("doc") or ""
        out[name] = FeatureInfo(name, kind, str(get("unit") or ""), str(meaning),
                                component if component in cat.COMPONENTS else None)
    return out


def resolve(frame: pd.DataFrame, *, info: dict[str, FeatureInfo] | None = None,
            exclude: Iterable[str] = ()) -> Layout:
    """Work out the roles of `frame`'s columns (catalogue metadata first, names second)."""
    info = dict(catalog_info() if info is None else info)
    excluded = set(exclude) | NOT_FEATURES
    labels: dict[str, str] = {}
    machine: list[str] = []
    component: dict[str, dict[str, str]] = {}
    categorical: set[str] = set()
    resolved: dict[str, FeatureInfo] = {}
    for col in frame.columns:
        if col in excluded:
            continue
        comp_of_label = label_component(col)
        if comp_of_label is not None or col.lower().startswith(_LABEL_PREFIXES):
            if comp_of_label:
                labels[comp_of_label] = col
            continue
        dtype = frame[col].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            continue
        meta = info.get(col)
        is_cat = (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
                  or pd.api.types.is_object_dtype(dtype)
                  or (meta is not None and meta.is_categorical))
        kind = "categorical" if is_cat else (meta.kind if meta else _kind_of(dtype))
        split = split_component(col)
        comp = meta.component if meta and meta.component else (split[1] if split else None)
        if comp is not None and split is not None and split[1] == comp:
            generic = split[0]
        elif comp is not None:
            generic = col.replace(comp, "").strip("_") or col
        else:
            generic = None
        resolved[col] = FeatureInfo(col, kind, meta.unit if meta else "",
                                    meta.meaning if meta else _meaning_from_name(col),
                                    comp, generic)
        if is_cat:
            categorical.add(generic or col)
        if comp is None:
            machine.append(col)
        else:
            component.setdefault(generic or col, {})[comp] = col
    return Layout(tuple(machine), component, frozenset(categorical), labels, resolved)


def design(frame: pd.DataFrame, layout: Layout, *, components: Sequence[str] | None = None,
           with_labels: bool = False, drop_absent: bool = True) -> pd.DataFrame:
    """The long frame: one row per machine, day and component, own-component features generic.

    Rows for components a machine does not have (by its product line, or all of its own
    features missing) are left out; with labels, censored rows (label missing) too.
    """
    comps = tuple(components or layout.components())
    keys = frame[list(KEYS)].reset_index(drop=True)
    base = frame[list(layout.machine_features)].reset_index(drop=True)
    lines = frame["product_line"].reset_index(drop=True) if "product_line" in frame else None
    parts = []
    for comp in comps:
        cols = {g: per[comp] for g, per in layout.component_features.items() if comp in per}
        block = pd.concat([keys, base], axis=1)
        block.insert(2, COMPONENT_COL, comp)
        present = np.ones(len(frame), dtype=bool)
        for generic in layout.generic_features:
            real = cols.get(generic)
            if real is None:
                block[generic] = np.nan
            else:
                block[generic] = frame[real].to_numpy()
        if drop_absent:
            if lines is not None:
                present &= _has_component(lines, comp)
            if cols:
                own = frame[list(cols.values())]
                present &= own.notna().any(axis=1).to_numpy()
        if with_labels:
            label_col = layout.labels.get(comp)
            if label_col is None:
                continue
            y = frame[label_col]
            present &= y.notna().to_numpy()
            block["y"] = y.fillna(False).astype(bool).to_numpy().astype(np.int8)
        parts.append(block.loc[present])
    if not parts:
        return pd.DataFrame(columns=[*KEYS, COMPONENT_COL, *layout.design_columns[1:]])
    out = pd.concat(parts, ignore_index=True)
    out[COMPONENT_COL] = pd.Categorical(out[COMPONENT_COL], categories=list(cat.COMPONENTS))
    for col in layout.categorical:
        if col in out and not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    out["day"] = pd.to_datetime(out["day"])
    return out


def feature_hash(layout: Layout) -> str:
    """A digest of the feature list with kinds and units: a changed meaning changes it."""
    digest = hashlib.sha256()
    for name in layout.source_features:
        meta = layout.info.get(name, FeatureInfo(name))
        digest.update(f"{name}|{meta.kind}|{meta.unit}\n".encode())
    return digest.hexdigest()


def _has_component(lines: pd.Series, comp: str) -> np.ndarray:
    # A line the catalogue does not know keeps every component: better a row too many.
    has = {line: comp in p.components for line, p in cat.PRODUCT_LINES.items()}
    return lines.astype("category").map(has).fillna(True).astype(bool).to_numpy()


def _kind_of(dtype: object) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    return "numeric"


def _meaning_from_name(name: str) -> str:
    return name.replace("_", " ")
