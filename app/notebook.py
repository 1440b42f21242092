"""The analysts' notebooks: `fleetcare notebook`, and the connection the notebooks open.

`fleetcare notebook` starts (or points at) the database the settings name, puts its URL in
FLEETCARE_DATABASE_URL and runs JupyterLab on notebooks/, stopping an embedded server it
started when Jupyter exits. A notebook calls `database_url()`, which reads the same
settings, so it also works from a plain `jupyter lab` or from the tests.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import click

from fleetcare.clikit import settings_of
from fleetcare.errors import FleetcareError
from fleetcare.settings import Settings, load_settings

# The notebooks folder of a source checkout (this file is app/notebook.py).
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

_open = ExitStack()
atexit.register(_open.close)
_url: str | None = None


def _settings() -> Settings:
    settings = load_settings()
    # Jupyter starts a kernel in the notebook's folder, while the demo's embedded database
    # lives in the data folder of the project root, where `fleetcare demo` ran.
    cwd = Path.cwd()
    if ("FLEETCARE_DATA_DIR" not in os.environ and not settings.database_url
            and cwd.name == "notebooks" and not (cwd / settings.data_dir).exists()):
        settings = settings.model_copy(update={"data_dir": cwd.parent / settings.data_dir})
    return settings


def database_url() -> str:
    """The database the settings name (FLEETCARE_DATABASE_URL, else the embedded one of the
    data folder, started for this kernel's lifetime); refuses a database with no fleet."""
    global _url
    if _url is None:
        from features.analysis import fleet_size
        from fleetcare.runtime import services

        url = _open.enter_context(services(_settings(), migrate=False)).db
        if not fleet_size(url):
            raise FleetcareError(
                "the database holds no fleet: run `fleetcare demo` first (or set "
                "FLEETCARE_DATABASE_URL to a database that has one)")
        _url = url
    return _url


@click.command("notebook")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=None, help=f"Folder to open [default: {NOTEBOOKS}].")
@click.option("--app", type=click.Choice(["lab", "notebook"]), default="lab",
              show_default=True, help="JupyterLab or the classic Notebook interface.")
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def notebook(ctx: click.Context, folder: Path | None, app: str,
             jupyter_args: tuple[str, ...]) -> None:
    """Open the analysts' notebooks in Jupyter, on the settings' database.

    The database's URL goes to the notebooks as FLEETCARE_DATABASE_URL; an embedded
    database is started for as long as Jupyter runs. Arguments after `--` go to Jupyter
    (`fleetcare notebook -- --no-browser --port 8899`).
    """
    from fleetcare.runtime import services

    folder = (folder or NOTEBOOKS).absolute()
    if not folder.is_dir():
        raise click.UsageError(f"no notebooks folder at {folder}: pass --dir")
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter")
    if jupyter is None:
        raise click.ClickException(
            "jupyter is not installed: `uv sync` installs the notebooks group (JupyterLab)")
    with services(settings_of(ctx), migrate=False) as svc:
        env = {**os.environ, "FLEETCARE_DATABASE_URL": svc.db}
        click.echo(f"notebooks in {folder}; Ctrl-C stops Jupyter"
                   + (" and the embedded database" if svc.embedded else ""), err=True)
        try:
            code = subprocess.call([jupyter, app, f"--notebook-dir={folder}", *jupyter_args],
                                   env=env, cwd=folder)
        except KeyboardInterrupt:
            code = 0
    if code:
        raise click.ClickException(f"jupyter {app} exited with code {code}")
