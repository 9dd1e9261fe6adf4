"""Files only waops's own user may read: the database, the spool, the browser profiles (each a
logged-in WhatsApp account) and session backups.

Every entry point sets the 0077 umask (`keep_private`), so whatever waops or its Chromium
creates is 0600/0700; `private_dir` and `private_file` tighten what an older version left more
open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from storage.db import sqlite_database

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def keep_private() -> int:
    """Set the process umask to 0077 and return the one it replaces."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter: created 0700, or tightened to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Make an existing file 0600 (nothing when it does not exist)."""
    if path.exists():
        _tighten(path, FILE_MODE)


def private_sqlite(database_url: str) -> None:
    """Make a SQLite database file and its WAL companions 0600 (other databases: nothing)."""
    database = sqlite_database(database_url)
    if database is None:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        private_file(Path(database + suffix))


def is_private(path: Path) -> bool:
    """True when neither the group nor others have any access to `path`."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def _tighten(path: Path, mode: int) -> None:
    """chmod `path` to `mode` if it is ours and more open; a failure is logged, not raised
    (the folder may be a mount or belong to root, as systemd's StateDirectory can)."""
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077 == 0:
        return
    if info.st_uid != os.geteuid():
        logger.warning("%s is readable by others and not ours to change: fix its mode", path)
        return
    try:
        path.chmod(mode)
    except OSError as exc:
        logger.warning("could not make %s private: %s", path, exc)
    else:
        logger.info("made %s private (mode %o)", path, mode)
