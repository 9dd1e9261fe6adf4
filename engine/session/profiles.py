"""Where each number's browser profile lives under the data folder."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path


def profile_dir(data_dir: Path, client_slug: str, session_name: str) -> Path:
    """Where a session's Chromium profile (its WhatsApp pairing) lives."""
    return data_dir / "sessions" / client_slug / session_name


# Chromium's profile lock (chrome/browser/process_singleton_posix.cc, and
# chrome/common/process_singleton_lock_posix.cc: kProcessSingletonLockDelimiter '-'): a symlink
# `SingletonLock -> <hostname>-<pid>` beside `SingletonSocket` and `SingletonCookie`. A lock
# naming another host makes Chromium refuse the profile ("in use ... on another computer"),
# since it cannot tell whether that browser still runs; it removes it on a clean exit only.
SINGLETON_FILES = ("SingletonLock", "SingletonSocket", "SingletonCookie")


def clear_foreign_singleton(profile: Path) -> bool:
    """Remove Chromium's singleton files when the lock names another host: for a profile on a
    shared volume whose previous owner (another machine) died, which the caller knows from the
    session's lease. A lock of this host is left to Chromium, which checks the pid itself.
    True when something was removed."""
    lock = profile / SINGLETON_FILES[0]
    try:
        target = os.readlink(lock)
    except OSError:
        return False  # no lock (or not a link): nothing of another machine to clear
    host = target.rpartition("-")[0]
    if not host or host == socket.gethostname():
        return False
    for name in SINGLETON_FILES:
        with contextlib.suppress(FileNotFoundError):
            (profile / name).unlink()
    return True
