"""Errors of the models stage: each one says what to do next, none is worth retrying."""

from __future__ import annotations

from fleetcare.errors import TerminalError


class ModelError(TerminalError):
    """The models stage cannot do what was asked."""


class NoActiveModelError(ModelError):
    """No active model of this kind: run `fleetcare train` first."""


class FeatureMismatchError(ModelError):
    """The model was trained on other features than the current ones: retrain it."""


class ChecksumError(ModelError):
    """A stored model blob does not match its checksum: the registry row is corrupt."""


class TimeSplitError(ModelError):
    """Training, calibration and evaluation periods overlap or are out of order."""


class LeakageError(ModelError):
    """A feature or model knows more than the prediction time allows."""


class NotEnoughDataError(ModelError):
    """Too few labelled rows (or failures) in a period to fit or judge a model."""
