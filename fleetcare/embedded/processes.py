"""Process and port helpers shared by the embedded PostgreSQL and broker.

Both servers are started by one fleetcare process and may be reused by others that
work on the same data dir: a file lock serialises the starters, and a "starter" file
(pid plus start time) says who stops the server, so that a reused pid is never taken
for the process that wrote it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def flock(path: Path) -> Iterator[None]:
    """Serialise fleetcare processes that start a server for the same data dir."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def process_token(pid: int) -> str:
    """pid plus its start time, so that a reused pid is not taken for the same process."""
    try:
        return f"{pid}:{Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return str(pid)


def starter_exited(starter_file: Path) -> bool:
    """Whether the file names a fleetcare process that started a server and has died."""
    try:
        token = starter_file.read_text().strip()
        pid = int(token.split(":")[0])
    except (OSError, ValueError):
        return False  # no record: not ours to stop (e.g. started by hand)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return process_token(pid) != token
