"""The example import sequence of examples/import/README.md works on an empty database."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.importer import import_file

ROOT = Path(__file__).resolve().parent.parent


def test_readme_import_sequence_on_an_empty_database(db_url: str) -> None:
    text = (ROOT / "examples/import/README.md").read_text("utf-8")
    block = text.split("```", 2)[1]
    steps = re.findall(r"^fleetcare import (\w+)\s+(\S+)", block, flags=re.M)
    assert steps[0][0] == "regions" and len(steps) == 7
    results = {f"{kind} {Path(file).name}": import_file(db_url, kind, ROOT / file)
               for kind, file in steps}
    for name, r in results.items():
        dead = sum(r["dead_letters"].values())
        assert r["rows"] == r["stored"] + r["duplicates"] + dead, name
    # Every reference resolves: only the rows the README says are bad become dead letters.
    assert results["machines machines.csv"]["stored"] == 3
    assert results["telemetry telemetry.csv"]["dead_letters"] == {}
    assert sum(results["telemetry telemetry_bad_rows.csv"]["dead_letters"].values()) == 7
    assert "unknown_reference" not in results["machines machines.csv"]["dead_letters"]
