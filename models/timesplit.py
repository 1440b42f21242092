"""Train / calibrate / evaluate periods by date, with an embargo of one horizon between them.

A label for day D looks H days ahead (does the component fail in (D, D+H]?), so the last
training day's label already uses events up to train_end + H. The next period therefore
starts no earlier than train_end + H + 1: otherwise one failure would be a positive in
both the training and the calibration rows, and the later period would not be unseen.
Never a random split across time: `TimeSplit.split` is the only way rows reach a period.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import pandas as pd

from models.errors import NotEnoughDataError, TimeSplitError

PERIODS = ("train", "calibrate", "evaluate")


@dataclass(frozen=True)
class TimeSplit:
    """Three date ranges (inclusive) in time order, each at least `horizon_d` days apart."""

    train_start: date
    train_end: date
    calib_start: date
    calib_end: date
    eval_start: date
    eval_end: date
    horizon_d: int

    def __post_init__(self) -> None:
        ranges = [
            ("train", self.train_start, self.train_end),
            ("calibrate", self.calib_start, self.calib_end),
            ("evaluate", self.eval_start, self.eval_end),
        ]
        for name, start, end in ranges:
            if end < start:
                raise TimeSplitError(f"{name} period ends ({end}) before it starts ({start})")
        gap = timedelta(days=self.horizon_d)
        for (prev, _, prev_end), (name, start, _) in zip(ranges, ranges[1:], strict=False):
            if start <= prev_end + gap:
                raise TimeSplitError(
                    f"{name} period starts {start}, but {prev} labels reach "
                    f"{prev_end + gap} (end {prev_end} + horizon {self.horizon_d} d): "
                    "periods must not share any failure"
                )

    def period_of(self, day: date) -> str | None:
        """The period a day belongs to, or None (embargo gap or outside)."""
        if self.train_start <= day <= self.train_end:
            return "train"
        if self.calib_start <= day <= self.calib_end:
            return "calibrate"
        if self.eval_start <= day <= self.eval_end:
            return "evaluate"
        return None

    def bounds(self, period: str) -> tuple[date, date]:
        """(first day, last day) of a period."""
        if period == "train":
            return self.train_start, self.train_end
        if period == "calibrate":
            return self.calib_start, self.calib_end
        if period == "evaluate":
            return self.eval_start, self.eval_end
        raise ValueError(f"unknown period {period!r}; one of {PERIODS}")

    def select(self, frame: pd.DataFrame, period: str, *, day_col: str = "day") -> pd.DataFrame:
        """The rows of `frame` whose day lies in `period`."""
        start, end = self.bounds(period)
        days = pd.to_datetime(frame[day_col])
        mask = (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))
        return frame.loc[mask.to_numpy()]

    def split(self, frame: pd.DataFrame, *, day_col: str = "day"
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(train, calibrate, evaluate) rows; rows in the embargo gaps are dropped."""
        return tuple(self.select(frame, p, day_col=day_col) for p in PERIODS)  # type: ignore[return-value]

    def to_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TimeSplit:
        kwargs = {k: (date.fromisoformat(v) if isinstance(v, str) else v) for k, v in data.items()}
        return cls(**kwargs)  # type: ignore[arg-type]


def require_after(frame: pd.DataFrame, not_before: date, what: str, *,
                  day_col: str = "day") -> None:
    """Refuse rows dated before `not_before`: e.g. calibrating on days the model trained on."""
    if frame.empty:
        return
    first = pd.to_datetime(frame[day_col]).min().date()
    if first < not_before:
        raise TimeSplitError(
            f"{what} rows start {first}, but must not start before {not_before} "
            "(they would overlap the earlier period or its labels)"
        )


def default_split(first_day: date, last_labelled_day: date, horizon_d: int, *,
                  eval_days: int = 90, calib_days: int = 60, warmup_days: int = 14,
                  min_train_days: int = 60) -> TimeSplit:
    """The latest `eval_days` labelled days evaluate, the `calib_days` before them calibrate
    (after a one-horizon embargo), and everything earlier trains.

    The first `warmup_days` are skipped: 30-day windows are not yet full there.
    Short histories shrink calibration and evaluation in proportion rather than fail.
    """
    start = first_day + timedelta(days=warmup_days)
    span = (last_labelled_day - start).days + 1
    needed = eval_days + calib_days + 2 * horizon_d + min_train_days
    if span < needed:
        scale = (span - 2 * horizon_d - min_train_days) / (eval_days + calib_days)
        if scale <= 0.25:
            raise NotEnoughDataError(
                f"{span} labelled days from {start} to {last_labelled_day} are too few for "
                f"train / calibrate / evaluate periods with a {horizon_d}-day horizon "
                f"(need about {needed})"
            )
        eval_days, calib_days = int(eval_days * scale), int(calib_days * scale)
    eval_end = last_labelled_day
    eval_start = eval_end - timedelta(days=eval_days - 1)
    calib_end = eval_start - timedelta(days=horizon_d + 1)
    calib_start = calib_end - timedelta(days=calib_days - 1)
    train_end = calib_start - timedelta(days=horizon_d + 1)
    return TimeSplit(start, train_end, calib_start, calib_end, eval_start, eval_end, horizon_d)
