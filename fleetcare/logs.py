"""Logging set-up shared by every command: fleetcare.<stage> loggers, one format."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: int = logging.INFO) -> None:
    """Send fleetcare.* records to stderr with a compact timestamped format."""
    root = logging.getLogger()
    if not any(getattr(h, "_fleetcare", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
        handler._fleetcare = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("fleetcare").setLevel(level)
    for stage in ("gateways", "ingest", "features", "models", "scheduler"):
        logging.getLogger(stage).setLevel(level)
