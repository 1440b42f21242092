"""A stage function for the scheduler kill test: the real features build, then (on its
first run only) the long rest of a job, during which the test kills the scheduler."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def build(url: str) -> Any:
    from features.build import build as features_build

    result = features_build(url)
    marker = Path(os.environ["FLEETCARE_TEST_SLOWJOB_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(600)  # killed here
    return result
