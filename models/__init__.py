"""Failure-risk and wear-part life models: training, evaluation against today's rules, scoring.

Module map:

- ``layout``: how a features frame's columns map to model inputs (machine-level vs a
  component's own features) and the long machine x day x component design frame.
- ``timesplit``: train / calibrate / evaluate periods by date with a one-horizon embargo.
- ``estimators``: scikit-learn estimators (``FrameColumns``, ``PerComponentClassifier``)
  and the boosted-trees pipeline.
- ``risk``: fit, choose the variant (one model or one per component; all features or the
  screened ones) on the calibration period, calibrate; ``RiskModel``.
- ``baselines``: the calendar, hour-interval and fault-code rules as scores.
- ``metrics``: PR-AUC, Brier, calibration table, recall at visit budget (defined there).
- ``evaluate`` / ``oracle`` / ``oracle_store``: methods side by side on the held-out period,
  the oracle from the simulator's truth store (only these read it), the leakage check.
- ``reasons`` / ``fault_detail``: per-prediction contributions in planner words.
- ``survival`` / ``wear`` / ``usage``: Weibull AFT part lives (censored, truncated), the
  seasonal hours forecast, wear-part due dates.
- ``registry``: model versions in ``model_versions`` (checksum, feature list, one active).
- ``scoring``: ``score_day`` / ``score_frame`` (the backtest's weekly call) and writes.
- ``jobs`` / ``cli`` / ``plot``: the commands ``train``, ``evaluate``, ``score`` (the
  benchmark, ``bench models``, is ``bench.models``).
- ``synthetic``: a features-shaped synthetic fleet with known hazards, for tests and bench.
"""
