"""The estimators of the risk model, each a proper scikit-learn estimator.

``FrameColumns`` fixes the column order and the categories seen at fit, so the
gradient-boosting model's native categorical support sees the same codes at predict
time; ``PerComponentClassifier`` fits one clone of an estimator per component, the
alternative to one model with the component as a feature.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from models.layout import COMPONENT_COL

# Chosen on the synthetic fleet and the demo fleet: shallow-ish trees and many rows per
# leaf, because positives are rare (a few % of component-days) and neighbouring days of
# one machine are nearly copies of each other.
# Early stopping watches a validation set from a *later* period when one is given
# (see fit_with_validation); a random hold-out of the training rows would be nearly a
# copy of them and stop far too late.
DEFAULT_HGB: dict[str, Any] = {
    "learning_rate": 0.06,
    "max_iter": 300,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 400,
    "l2_regularization": 5.0,
    "max_bins": 255,
    "early_stopping": "auto",
    "scoring": "loss",
    "n_iter_no_change": 15,
    "random_state": 0,
}


# Below this many training rows the boosting fits and predicts on one OpenMP thread.
# Small fits split each tree node's work into slivers, and the threads spend their time
# waiting for each other: on a shared two-core machine (load ~17) the demo fleet's fit
# (22,000 rows, 77,000 watched by early stopping) took 92 s of CPU on two threads and
# 9.8 s on one, with the same trees.
ONE_THREAD_BELOW = 200_000


def boosting_threads(n_rows: int, threads: int = 0) -> threadpool_limits:
    """Context manager: OpenMP threads for boosting on `n_rows` training rows.

    `threads` > 0 sets the number; 0 means one thread below ONE_THREAD_BELOW rows, else
    the library's default (every core).
    """
    limit = threads if threads > 0 else (1 if n_rows < ONE_THREAD_BELOW else None)
    return threadpool_limits(limits=limit, user_api="openmp")


_progress = logging.getLogger("models.progress")

class FrameColumns(TransformerMixin, BaseEstimator):
    """Select `columns` in a fixed order; categorical columns get the categories seen at fit.

    Unknown categories at predict time become missing values (the boosting model sends
    them down its missing-value branch) instead of raising. Booleans become 0/1 floats.

    Parameters
    ----------
    columns : sequence of str or None
        Columns to keep, in this order; None keeps all columns seen at fit.
    categorical : sequence of str or None
        Columns to treat as categories; None means object, string and category dtypes.
    """

    def __init__(self, columns: list[str] | tuple[str, ...] | None = None,
                 categorical: list[str] | tuple[str, ...] | None = None) -> None:
        self.columns = columns
        self.categorical = categorical

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []    # always float32 / categories out
        return tags

    def fit(self, X: pd.DataFrame, y: object = None) -> FrameColumns:
        X = _validated_frame(X)
        if isinstance(X.columns, pd.RangeIndex) or not all(isinstance(c, str) for c in X):
            self.n_features_in_ = X.shape[1]
        else:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.n_features_in_ = X.shape[1]
        cols = list(self.columns) if self.columns is not None else list(X.columns)
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ValueError(f"columns missing from the frame: {missing[:5]}")
        if self.categorical is None:
            cats = [c for c in cols if _is_categorical(X[c].dtype)]
        else:
            cats = [c for c in self.categorical if c in cols]
        self.columns_ = cols
        self.categories_ = {
            c: sorted({str(v) for v in X[c].dropna().unique()}) for c in cats
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "columns_")
        X = _validated_frame(X)
        if not hasattr(self, "feature_names_in_") and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but FrameColumns is expecting "
                             f"{self.n_features_in_} features as input")
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ValueError(f"columns missing from the frame: {missing[:5]}")
        out = {}
        for col in self.columns_:
            values = X[col]
            if col in self.categories_:
                out[col] = pd.Categorical(values.astype("string").astype(object),
                                          categories=self.categories_[col])
            elif pd.api.types.is_bool_dtype(values.dtype):
                out[col] = values.astype("float32").to_numpy(na_value=np.nan)
            else:
                out[col] = pd.to_numeric(values, errors="coerce").to_numpy(
                    dtype=np.float32, na_value=np.nan)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "columns_")
        return np.asarray(self.columns_, dtype=object)


class PerComponentClassifier(ClassifierMixin, BaseEstimator):
    """One clone of `estimator` per value of the component column, rows routed by it.

    Parameters
    ----------
    estimator : classifier
        Fitted once per component on that component's rows (without the column itself).
    component_col : str
        The column naming the component of each row.
    """

    def __init__(self, estimator: BaseEstimator | None = None,
                 component_col: str = COMPONENT_COL) -> None:
        self.estimator = estimator
        self.component_col = component_col

    def fit(self, X: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None = None, *,
            X_val: pd.DataFrame | None = None,
            y_val: np.ndarray | None = None) -> PerComponentClassifier:
        X = _as_frame(X)
        y = np.asarray(y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.unique(y)
        base = self.estimator if self.estimator is not None else make_classifier()
        groups = X[self.component_col].astype(str).to_numpy()
        rest = X.drop(columns=[self.component_col])
        self.estimators_: dict[str, BaseEstimator] = {}
        # Components with too few failures to learn from fall back to the fleet base rate.
        self.prior_ = float(np.mean(y == self.classes_[-1])) if len(y) else 0.0
        self.priors_: dict[str, float] = {}
        if X_val is not None:
            val_groups = X_val[self.component_col].astype(str).to_numpy()
            val_rest = X_val.drop(columns=[self.component_col])
        components = np.unique(groups)
        for k, comp in enumerate(components, start=1):
            # Progress: per-component fits are the long part of training at fleet size.
            _progress.info("  component %d/%d: %s (%d rows)", k, len(components), comp,
                           int((groups == comp).sum()))
            mask = groups == comp
            yc = y[mask]
            self.priors_[comp] = float(np.mean(yc == self.classes_[-1]))
            if len(np.unique(yc)) < 2 or (yc == self.classes_[-1]).sum() < 5:
                continue
            est = clone(base)
            if X_val is not None and y_val is not None:
                vmask = val_groups == comp
                if len(np.unique(np.asarray(y_val)[vmask])) == 2:
                    fit_with_validation(est, rest.loc[mask], yc, val_rest.loc[vmask],
                                        np.asarray(y_val)[vmask])
                    self.estimators_[comp] = est
                    continue
            kwargs = {}
            if sample_weight is not None:
                kwargs[_weight_param(base)] = np.asarray(sample_weight)[mask]
            self.estimators_[comp] = est.fit(rest.loc[mask], yc, **kwargs)
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of failure per row (the prior's log-odds for components without a model)."""
        check_is_fitted(self, "estimators_")
        X = _as_frame(X, self.feature_names_in_)
        groups = X[self.component_col].astype(str).to_numpy()
        rest = X.drop(columns=[self.component_col])
        out = np.empty(len(X), dtype=float)
        for comp in np.unique(groups):
            mask = groups == comp
            est = self.estimators_.get(comp)
            if est is None:
                prior = np.clip(self.priors_.get(comp, self.prior_), 1e-6, 1 - 1e-6)
                out[mask] = np.log(prior / (1 - prior))
            else:
                out[mask] = _log_odds(est, rest.loc[mask])
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        z = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def make_classifier(columns: list[str] | tuple[str, ...] | None = None,
                    categorical: list[str] | tuple[str, ...] | None = None,
                    **hgb: Any) -> Pipeline:
    """FrameColumns -> HistGradientBoostingClassifier with native categorical splits."""
    params = {**DEFAULT_HGB, **hgb}
    return Pipeline([
        ("columns", FrameColumns(columns, categorical)),
        ("boost", HistGradientBoostingClassifier(categorical_features="from_dtype", **params)),
    ])


def fit_with_validation(estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray,
                        X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> BaseEstimator:
    """Fit, early-stopping the boosting on (X_val, y_val): rows from a later period.

    Works for a FrameColumns -> HistGradientBoosting pipeline (the validation rows go
    through the fitted FrameColumns so they get the same categories) and for a
    PerComponentClassifier (each component's model stops on its own rows).
    """
    if X_val is None or y_val is None or len(np.unique(y_val)) < 2:
        return estimator.fit(X, y)
    if isinstance(estimator, PerComponentClassifier):
        return estimator.fit(X, y, X_val=X_val, y_val=y_val)
    if isinstance(estimator, Pipeline):
        head = Pipeline(estimator.steps[:-1]).fit(X, y)
        name = estimator.steps[-1][0]
        estimator.set_params(**{f"{name}__early_stopping": True})
        return estimator.fit(X, y, **{f"{name}__X_val": head.transform(X_val),
                                      f"{name}__y_val": np.asarray(y_val)})
    estimator.set_params(early_stopping=True)
    return estimator.fit(X, y, X_val=X_val, y_val=y_val)


def used_features(estimator: Any) -> set[str] | None:
    """Columns any tree of a fitted boosting pipeline splits on (None if unknown).

    A column no tree uses cannot contribute to any prediction, so reasons skip it.
    Reads the fitted trees' node arrays, which scikit-learn keeps as ``_predictors``.
    """
    if isinstance(estimator, PerComponentClassifier):
        parts = [used_features(e) for e in estimator.estimators_.values()]
        if any(p is None for p in parts):
            return None
        return set().union(*parts) | {estimator.component_col}  # type: ignore[arg-type]
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    predictors = getattr(estimator, "_predictors", None)
    names = getattr(estimator, "feature_names_in_", None)
    if predictors is None or names is None:
        return None
    used: set[str] = set()
    for iteration in predictors:
        for tree in iteration:
            nodes = tree.nodes
            used.update(names[np.unique(nodes["feature_idx"][~nodes["is_leaf"].astype(bool)])])
    return used


def log_odds(estimator: BaseEstimator, X: pd.DataFrame) -> np.ndarray:
    """The estimator's log-odds of the positive class (before any calibration)."""
    return _log_odds(estimator, X)


def _log_odds(est: BaseEstimator, X: pd.DataFrame) -> np.ndarray:
    if hasattr(est, "decision_function"):
        return np.asarray(est.decision_function(X), dtype=float).reshape(-1)
    p = np.clip(est.predict_proba(X)[:, 1], 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _weight_param(est: BaseEstimator) -> str:
    if isinstance(est, Pipeline):
        return f"{est.steps[-1][0]}__sample_weight"
    return "sample_weight"


def _is_categorical(dtype: object) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype))


def _validated_frame(X: object) -> pd.DataFrame:
    """A DataFrame as is; anything else through check_array (2-D, finite or NaN, dense)."""
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"Found array with shape {X.shape}: need at least one row and "
                             "one column")
        return X
    arr = check_array(X, dtype=None, ensure_all_finite="allow-nan")
    if arr.dtype.kind == "O":
        arr = check_array(X, dtype=None, ensure_all_finite=False)
    elif arr.dtype.kind not in "biuf":
        arr = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
    return pd.DataFrame(arr)


def _as_frame(X: object, columns: Any = None) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    names = list(columns) if columns is not None and len(columns) == arr.shape[1] else None
    return pd.DataFrame(arr, columns=names)
