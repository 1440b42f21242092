"""The model registry: every trained model a version in ``model_versions``, one active per kind.

A version stores the fitted object as a pickle with its SHA-256, the feature list with
its hash, the training window, parameters and metrics. Loading checks the checksum
(a corrupt or tampered blob is refused) and the feature list against the current
features (a model trained on features that no longer exist, or whose kind or unit
changed, is refused with the names). Pickles are only ever read from our own database.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import pickle
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import psycopg
import sklearn
from psycopg.rows import kwargs_row

from fleetcare.db import connect
from fleetcare.queries import load as load_queries
from models.errors import ChecksumError, FeatureMismatchError, NoActiveModelError

log = logging.getLogger("models.registry")
_Q = load_queries("models", "registry.sql")

ConnOrUrl = psycopg.Connection | str


class Registrable(Protocol):
    """What the registry needs from a model object."""

    kind: str

    @property
    def features(self) -> tuple[str, ...]: ...

    @property
    def feature_hash(self) -> str: ...


@dataclass(frozen=True)
class Version:
    """One row of ``model_versions`` (without the blob)."""

    model_id: int
    kind: str
    created_at: Any
    created_by: str
    train_start: date | None
    train_end: date | None
    calib_end: date | None
    features: tuple[str, ...]
    feature_hash: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    blob_sha256: str
    active: bool


@contextmanager
def _conn(conn_or_url: ConnOrUrl) -> Iterator[psycopg.Connection]:
    if isinstance(conn_or_url, str):
        with connect(conn_or_url) as conn:
            yield conn
    else:
        yield conn_or_url


def dumps(model: object) -> tuple[bytes, str]:
    """The pickled model and its SHA-256 hex digest."""
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return blob, hashlib.sha256(blob).hexdigest()


def store(conn_or_url: ConnOrUrl, model: Registrable, *, metrics: Mapping[str, Any] | None = None,
          params: Mapping[str, Any] | None = None, train_start: date | None = None,
          train_end: date | None = None, calib_end: date | None = None,
          created_by: str | None = None, activate: bool = False) -> int:
    """Store `model` as a new version; returns its model_id. Optionally make it active."""
    blob, digest = dumps(model)
    params = {**(params or {}), "sklearn": sklearn.__version__}
    with _conn(conn_or_url) as conn, conn.transaction():
        row = conn.execute(
            _Q.insert_version,
            (model.kind, created_by or _who(), train_start, train_end, calib_end,
             json.dumps(params, default=str), list(model.features), model.feature_hash,
             json.dumps(metrics or {}, default=str), blob, digest),
        ).fetchone()
        model_id = int(row[0])  # type: ignore[index]
        if activate:
            _activate(conn, model_id)
    log.info("stored %s model %d (%d bytes)%s", model.kind, model_id, len(blob),
             ", active" if activate else "")
    return model_id


def activate(conn_or_url: ConnOrUrl, model_id: int) -> None:
    """Make `model_id` the active version of its kind (and no other)."""
    with _conn(conn_or_url) as conn, conn.transaction():
        _activate(conn, model_id)


def _activate(conn: psycopg.Connection, model_id: int) -> None:
    row = conn.execute(_Q.lock_version, (model_id,)).fetchone()
    if row is None:
        raise NoActiveModelError(f"no model version {model_id}")
    # Two statements in one transaction; the partial unique index guards the invariant.
    conn.execute(_Q.deactivate_kind, (row[0],))
    conn.execute(_Q.activate_version, (model_id,))


def versions(conn_or_url: ConnOrUrl, kind: str | None = None) -> list[Version]:
    """Every stored version (newest first), without blobs."""
    with _conn(conn_or_url) as conn, conn.cursor(row_factory=kwargs_row(_version)) as cur:
        return cur.execute(_Q.versions, {"kind": kind}).fetchall()


def active_version(conn_or_url: ConnOrUrl, kind: str) -> Version:
    """The active version of `kind` (without the blob)."""
    with _conn(conn_or_url) as conn, conn.cursor(row_factory=kwargs_row(_version)) as cur:
        row = cur.execute(_Q.active_version, (kind,)).fetchone()
    if row is None:
        raise NoActiveModelError(f"no active {kind} model: run `fleetcare train` first")
    return row


def load(conn_or_url: ConnOrUrl, model_id: int, *,
         current_features: Iterable[str] | Mapping[str, Any] | None = None) -> Any:
    """Unpickle version `model_id` after checking its checksum and feature list."""
    with _conn(conn_or_url) as conn:
        row = conn.execute(_Q.blob, (model_id,)).fetchone()
    if row is None:
        raise NoActiveModelError(f"no model version {model_id}")
    blob, digest, features, kind = bytes(row[0]), row[1], tuple(row[2]), row[3]
    if hashlib.sha256(blob).hexdigest() != digest:
        raise ChecksumError(f"{kind} model {model_id}: stored blob does not match its SHA-256")
    model = pickle.loads(blob)  # noqa: S301 - our own registry, checksum verified above
    if tuple(model.features) != features:
        raise ChecksumError(f"{kind} model {model_id}: blob and feature list disagree")
    if current_features is not None:
        check_feature_list(model, current_features, model_id=model_id)
    return model


_cache: dict[tuple[str, str], tuple[int, str, Any]] = {}
_cache_lock = threading.Lock()


def load_active(conn_or_url: ConnOrUrl, kind: str, *,
                current_features: Iterable[str] | Mapping[str, Any] | None = None
                ) -> tuple[int, Any]:
    """(model_id, model) of the active version; unpickled once per process and version.

    The backtest scores every simulated week: the cache makes that one small query.
    """
    version = active_version(conn_or_url, kind)
    key = (_dsn(conn_or_url), kind)
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] == version.model_id and hit[1] == version.blob_sha256:
        model = hit[2]
        if current_features is not None:
            check_feature_list(model, current_features, model_id=version.model_id)
        return version.model_id, model
    model = load(conn_or_url, version.model_id, current_features=current_features)
    with _cache_lock:
        _cache[key] = (version.model_id, version.blob_sha256, model)
    return version.model_id, model


def check_feature_list(model: Registrable, current: Iterable[str] | Mapping[str, Any], *,
                       model_id: int | None = None) -> None:
    """Refuse a model whose features are missing from `current` or changed kind or unit.

    `current` is a list of feature names, or a mapping name -> info with ``kind`` and
    ``unit`` (e.g. the features catalogue). New features the model does not use are fine.
    """
    names = set(current.keys()) if isinstance(current, Mapping) else set(current)
    label = f"{model.kind} model" + (f" {model_id}" if model_id is not None else "")
    missing = [f for f in model.features if f not in names]
    if missing:
        shown = ", ".join(missing[:6]) + (f" (+{len(missing) - 6} more)" if len(missing) > 6
                                          else "")
        raise FeatureMismatchError(
            f"{label} was trained on features the current features lack: {shown}; "
            "retrain with `fleetcare train`"
        )
    if isinstance(current, Mapping):
        info = getattr(getattr(model, "layout", None), "info", {}) or {}
        changed = []
        for name in model.features:
            old, new = info.get(name), current[name]
            # Only features described by the catalogue at training time can be compared.
            if old is None or new is None or not getattr(old, "unit", ""):
                continue
            for attr in ("kind", "unit"):
                was, now = getattr(old, attr, None), _get(new, attr)
                if was and now and str(was) != str(now):
                    changed.append(f"{name} {attr} {was!r} -> {now!r}")
        if changed:
            raise FeatureMismatchError(
                f"{label}: features changed meaning since training: {'; '.join(changed[:4])}; "
                "retrain with `fleetcare train`"
            )


def clear_cache() -> None:
    """Forget unpickled models (tests that rewrite blobs)."""
    with _cache_lock:
        _cache.clear()


def _version(*, model_id: int, features: list[str], params: dict[str, Any] | None,
             metrics: dict[str, Any] | None, active: bool, **rest: Any) -> Version:
    """A `versions` / `active_version` row by column name."""
    return Version(model_id=int(model_id), features=tuple(features), params=params or {},
                   metrics=metrics or {}, active=bool(active), **rest)


def _get(obj: Any, attr: str) -> Any:
    return obj.get(attr) if isinstance(obj, Mapping) else getattr(obj, attr, None)


def _dsn(conn_or_url: ConnOrUrl) -> str:
    return conn_or_url if isinstance(conn_or_url, str) else conn_or_url.info.dsn


def _who() -> str:
    try:
        return f"{getpass.getuser()} (fleetcare train)"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "fleetcare train"
