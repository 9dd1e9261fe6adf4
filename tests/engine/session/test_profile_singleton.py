"""A profile on a shared volume keeps Chromium's singleton lock of the machine that last ran
it (chrome/browser/process_singleton_posix.cc: `SingletonLock -> <host>-<pid>`); the next owner
of the session's lease clears a lock of another host, and leaves one of its own to Chromium."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from engine.session.profiles import SINGLETON_FILES, clear_foreign_singleton


def _lock(profile: Path, host: str) -> None:
    profile.mkdir(parents=True)
    os.symlink(f"{host}-4242", profile / "SingletonLock")
    (profile / "SingletonCookie").write_text("1")
    os.symlink("/tmp/gone/SingletonSocket", profile / "SingletonSocket")


def test_a_lock_of_another_host_goes_with_its_socket_and_cookie(tmp_path: Path) -> None:
    profile = tmp_path / "haby" / "main"
    _lock(profile, "worker-7.cluster.local")
    assert clear_foreign_singleton(profile)
    assert [name for name in SINGLETON_FILES if os.path.lexists(profile / name)] == []


def test_a_lock_of_this_host_or_none_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    _lock(mine, socket.gethostname())
    assert not clear_foreign_singleton(mine)
    assert os.path.lexists(mine / "SingletonLock")
    assert not clear_foreign_singleton(tmp_path / "never-opened")
