"""As root, who runs PostgreSQL, and where its files go when that user cannot reach them.

PostgreSQL refuses to run as root. As root, initdb and postgres run as a system user
(SERVICE_USER, made if missing, else ``nobody``); what that user cannot reach (a data
dir under a 0700 parent such as /root or pytest's tmp dirs, binaries inside a venv
under /root) is kept or copied under FALLBACK_ROOT instead. As a normal user none of
this applies: the server runs as that user, in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetcare.embedded.pg_binaries import PgInstall
from fleetcare.errors import EmbeddedServiceError

log = logging.getLogger("fleetcare.embedded")

# PostgreSQL refuses to run as root: as root, initdb and postgres run as this user.
SERVICE_USER = os.environ.get("FLEETCARE_EMBEDDED_USER", "fleetcare")
# As root, for what SERVICE_USER cannot reach (a data dir under a 0700 parent such as
# /root or pytest's tmp dirs, binaries inside /root/...).
FALLBACK_ROOT = Path(os.environ.get("FLEETCARE_EMBEDDED_FALLBACK", "/var/lib/fleetcare"))


@dataclass(frozen=True)
class RunAs:
    """The OS user that runs initdb and postgres; uid None means "this process's user"."""

    name: str
    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def chown_tree(self, top: Path) -> None:
        if self.uid is None or top.stat().st_uid == self.uid:
            return
        log.info("giving %s to user %s", top, self.name)
        self.chown(top)
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                self.chown(Path(root) / name)

    def can_use(self, path: Path, *, write: bool = False) -> bool:
        """Whether this user can reach (and write) ``path``: asked as that user, not guessed."""
        if self.uid is None:
            return True
        test = 'test -d "$1" && test -x "$1"' + (' && test -w "$1"' if write else "")
        return (
            subprocess.run(["/bin/sh", "-c", test, "sh", str(path)], cwd="/",
                           env={"PATH": "/usr/bin:/bin"}, **self.popen_kwargs()).returncode
            == 0
        )


def server_user() -> RunAs:
    """Who runs PostgreSQL: ourselves, or as root a dedicated system user (made if needed)."""
    if os.geteuid() != 0:
        return RunAs(pwd.getpwuid(os.geteuid()).pw_name)
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        with contextlib.suppress(OSError):
            made = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                check=False, capture_output=True,
            )
            if made.returncode == 0:
                log.info("created system user %s to run PostgreSQL (it refuses root)",
                         SERVICE_USER)
        try:  # also when a concurrent useradd won
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            entry = pwd.getpwnam("nobody")
            log.warning("could not create user %s; running PostgreSQL as nobody", SERVICE_USER)
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def usable_bindir(inst: PgInstall, run_as: RunAs) -> Path:
    """The bin dir, or as root a copy the service user can execute (venvs under /root)."""
    if run_as.uid is None:
        return inst.bindir
    with contextlib.suppress(OSError):  # PermissionError when it cannot get to the binary
        if subprocess.run([str(inst.bindir / "postgres"), "-V"], capture_output=True, cwd="/",
                          **run_as.popen_kwargs()).returncode == 0:
            return inst.bindir
    install_root = inst.bindir.parent  # .../<package>/pginstall*/
    pkgdir = install_root.parent
    libs = pkgdir.parent / f"{pkgdir.name}.libs"  # auditwheel's libs, found via $ORIGIN
    digest = hashlib.sha256(str(inst.bindir).encode()).hexdigest()[:8]
    dest = FALLBACK_ROOT / "pgbin" / f"{pkgdir.name}-{inst.version}-{digest}"
    bindir = dest / pkgdir.name / install_root.name / "bin"
    if not (dest / ".complete").exists():
        log.warning("user %s cannot reach %s; copying the PostgreSQL binaries to %s",
                    run_as.name, inst.bindir, dest)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(install_root, dest / pkgdir.name / install_root.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, dest / libs.name, symlinks=True)
        for path in [FALLBACK_ROOT, FALLBACK_ROOT / "pgbin", dest, *dest.rglob("*")]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(0o755 if path.is_dir() else mode | 0o444 | (0o111 if mode & 0o100 else 0))
        (dest / ".complete").touch()
    return bindir


def prepare_pgdata(data_dir: Path, run_as: RunAs) -> Path:
    """The cluster dir ``data_dir/postgres``, owned by and reachable for ``run_as``.

    As root, when the service user cannot traverse to data_dir (e.g. it is under
    /root or a 0700 temp dir), the cluster lives under FALLBACK_ROOT instead and
    ``data_dir/postgres`` is a symlink to it, so later runs find it again.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    link = data_dir / "postgres"
    if run_as.uid is None:
        link.mkdir(mode=0o700, exist_ok=True)
        return link.resolve()
    if not link.exists() and not link.is_symlink():
        if run_as.can_use(data_dir):
            link.mkdir(mode=0o700)
        else:
            digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
            target = FALLBACK_ROOT / "postgres" / f"{data_dir.name}-{digest}"
            log.warning("user %s cannot reach %s; keeping the PostgreSQL cluster in %s "
                        "(linked from %s)", run_as.name, data_dir, target, link)
            link.symlink_to(target, target_is_directory=True)
    pgdata = link.resolve()
    if not pgdata.exists():  # new, or a fallback dir that was cleaned away
        pgdata.mkdir(parents=True, mode=0o700)
        if pgdata.is_relative_to(FALLBACK_ROOT):  # whatever the umask, keep it traversable
            parent = pgdata.parent
            while parent != FALLBACK_ROOT.parent:
                parent.chmod(0o755)
                parent = parent.parent
    run_as.chown_tree(pgdata)
    pgdata.chmod(0o700)
    if not run_as.can_use(pgdata, write=True):
        raise EmbeddedServiceError(
            f"user {run_as.name} cannot reach {pgdata}: make its parents traversable "
            "(chmod o+x) or choose another data dir"
        )
    return pgdata
