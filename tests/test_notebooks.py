"""The analysts' notebooks run top to bottom on the demo's data and are stored clean.

The demo data is made once for this module by the real command (`fleetcare demo` at 60
machines x 365 days without the backtest: a year is what training needs), in its own
database on the test server; every notebook is then executed in a fresh kernel with
FLEETCARE_DATABASE_URL pointing at it, and any cell error fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import psycopg
import pytest
from conftest import ADMIN, ADMIN_URL, url_for
from nbclient import NotebookClient
from psycopg import sql

from features.analysis import fleet_size, time_to_failure

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("01_fleet_overview", "02_failure_analysis", "03_model_review", "04_service_policy")


def _fleetcare(*args: str, env: dict[str, str], cwd: Path,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetcare", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCARE_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    """A database filled by `fleetcare demo` (small fleet, no backtest)."""
    base = Path(tempfile.mkdtemp(prefix="fc-notebooks-"))
    base.chmod(0o755)
    name = f"fct_nb_{uuid.uuid4().hex[:10]}"
    env = _clean_env(FLEETCARE_DATABASE_URL=ADMIN_URL,
                     FLEETCARE_DATA_DIR=str(base / "data"))
    t0 = time.monotonic()
    done = _fleetcare("demo", "--machines", "60", "--days", "365", "--no-backtest",
                      "--database", name, "--out", str(base / "out"), env=env, cwd=base)
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        print(f"demo data for the notebooks: {time.monotonic() - t0:.0f} s")
        yield url_for(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(ADMIN.drop_database.format(name=sql.Identifier(name)))
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_on_the_demo_data(name: str, demo_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("FLEETCARE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FLEETCARE_DATABASE_URL", demo_url)   # the kernel inherits it
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.monotonic()
    client.execute()   # CellExecutionError (with the cell and traceback) on any error
    print(f"{name}: {time.monotonic() - t0:.0f} s")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors


def _tracked() -> list[Path]:
    """The files of notebooks/ under version control (local paired .ipynb are ignored)."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "notebooks"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return [ROOT / line for line in out.splitlines()]
    return [p for p in NOTEBOOKS.iterdir() if p.suffix in (".py", ".ipynb")]


def test_notebooks_are_stored_without_outputs() -> None:
    tracked = _tracked()
    scripts = sorted(p.stem for p in tracked if p.suffix == ".py")
    assert scripts == list(NAMES), "every notebook is stored as its percent script"
    for path in tracked:
        if path.suffix == ".py":
            text = path.read_text("utf-8")
            assert "format_name: percent" in text, f"{path.name}: not a jupytext percent script"
            nb = jupytext.reads(text, fmt="py:percent")
        elif path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
        else:
            continue
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, (
                    f"{path.name} is stored with outputs: store the .py script only")


def test_readme_lists_every_notebook() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in NAMES:
        assert f"notebooks/{name}.py" in readme, name


def test_fleetcare_notebook_starts_jupyter_on_the_configured_database(tmp_path: Path) -> None:
    # `--version` makes Jupyter print and exit: the command's own path (folder, executable,
    # settings' URL in the environment) runs for real without a server left behind.
    env = _clean_env(FLEETCARE_DATABASE_URL=url_for("postgres"))
    done = _fleetcare("notebook", "--", "--version", env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()[0].isdigit(), done.stdout
    assert str(NOTEBOOKS) in done.stderr
    missing = _fleetcare("notebook", "--dir", str(tmp_path / "nowhere"), env=env,
                         cwd=tmp_path, timeout=120)
    assert missing.returncode == 2 and "no notebooks folder" in missing.stderr


def test_time_to_failure_censors_and_truncates() -> None:
    day = pd.Timestamp
    fleet = pd.DataFrame({"machine_id": ["A", "B", "C"], "product_line": ["x", "x", "y"],
                          "delivery_date": [day("2024-01-01"), day("2025-01-01"),
                                            day("2025-01-01")]})
    gateways = pd.DataFrame({"machine_id": ["A", "B", "C"],
                             "first_day": [day("2025-01-01")] * 3,
                             "last_day": [day("2025-12-31")] * 3})
    events = pd.DataFrame({
        "machine_id": ["A", "A", "B", "B", "C"],
        "day": [day("2025-03-01"), day("2025-06-01"), day("2025-02-01"), day("2025-04-01"),
                day("2025-05-01")],
        "kind": ["breakdown", "preventive", "preventive", "breakdown", "preventive"],
        "component": ["engine", None, None, "cooling", None]})
    delivery = time_to_failure(events, fleet, gateways, since="delivery").set_index(
        "machine_id")
    # A: delivered a year before the data starts (enters at 366 days), fails at 425.
    assert delivery.loc["A", ["entry", "duration", "observed"]].tolist() == [366, 425, True]
    assert delivery.loc["B", ["entry", "duration", "observed"]].tolist() == [0, 90, True]
    assert delivery.loc["C", ["entry", "duration", "observed"]].tolist() == [0, 364, False]
    engine = time_to_failure(events, fleet, gateways, since="delivery", component="engine")
    assert engine.set_index("machine_id").loc["B", "observed"] == False  # noqa: E712
    service = time_to_failure(events, fleet, gateways, since="service").set_index(
        "machine_id")
    # B: serviced 2025-02-01, broke 2025-04-01 (59 days); A: no breakdown after 2025-06-01.
    assert service.loc["B", ["duration", "observed"]].tolist() == [59, True]
    assert service.loc["A", ["duration", "observed"]].tolist() == [213, False]
    with pytest.raises(ValueError, match="since"):
        time_to_failure(events, fleet, gateways, since="repair")


def test_a_database_without_a_fleet_is_refused_with_what_to_do(
        empty_db_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.notebook as notebook
    from fleetcare.errors import FleetcareError

    assert fleet_size(empty_db_url) == 0 and fleet_size(db_url) == 0
    for url in (empty_db_url, db_url):   # no schema at all; migrated but empty
        monkeypatch.setattr(notebook, "_url", None)
        monkeypatch.setenv("FLEETCARE_DATABASE_URL", url)
        with pytest.raises(FleetcareError, match="run `fleetcare demo` first"):
            notebook.database_url()
