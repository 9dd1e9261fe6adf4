"""Encrypted session backups: a round trip through the real archive code, and every way a file
can fail to open (wrong passphrase, damage, truncation) is its own clear error."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.session.backup_crypto import (
    MAGIC,
    BackupUnreadable,
    EncryptingWriter,
    WrongPassphrase,
    decrypt,
)
from engine.session.backups import backup_profile, restore_profile
from engine.session.profiles import profile_dir

PASSPHRASE = "correct horse battery staple"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _seal(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, passphrase)
    for at in range(0, len(data), 70_000):  # in pieces, as gzip writes
        writer.write(data[at : at + 70_000])
    writer.finish()
    return out.getvalue()


def _open(sealed: bytes, passphrase: str | None = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(sealed), out, passphrase)
    return out.getvalue()


def test_a_round_trip_across_many_chunks() -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)  # past the 1 MiB read chunk, not a multiple of it
    sealed = _seal(data)
    assert sealed.startswith(MAGIC)
    assert data[:64] not in sealed
    assert _open(sealed) == data
    assert _open(_seal(b"")) == b""


def test_each_failure_says_what_it_is() -> None:
    sealed = _seal(b"the pairing" * 1000)
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        _open(sealed, "Correct horse battery staple")
    with pytest.raises(BackupUnreadable, match="is encrypted: set WAOPS_BACKUP_PASSPHRASE"):
        _open(sealed, None)
    flipped = bytearray(sealed)
    flipped[len(sealed) // 2] ^= 0x01
    with pytest.raises(BackupUnreadable, match="damaged or was altered"):
        _open(bytes(flipped))
    with pytest.raises(BackupUnreadable, match="damaged or was altered"):
        _open(sealed[:-1])
    with pytest.raises(BackupUnreadable, match="not an encrypted waops backup"):
        _open(b"\x1f\x8b plain gzip")
    with pytest.raises(ValueError, match="empty passphrase"):
        EncryptingWriter(io.BytesIO(), "")


def test_a_damaged_encrypted_backup_restores_nothing(tmp_path: Path) -> None:
    source = profile_dir(tmp_path, "haby", "main")
    (source / "Default").mkdir(parents=True)
    (source / "Default" / "Cookies").write_bytes(os.urandom(200_000))
    archive = backup_profile(tmp_path, "haby", "main", tmp_path / "backups", NOW, PASSPHRASE)
    assert archive.name == "haby-main-20261201-120000.tar.gz.enc"

    damaged = bytearray(archive.read_bytes())
    damaged[-100] ^= 0xFF
    archive.write_bytes(bytes(damaged))
    moved = tmp_path / "moved"
    with pytest.raises(BackupUnreadable, match="damaged"):
        restore_profile(moved, "haby", "main", archive, PASSPHRASE)
    target = profile_dir(moved, "haby", "main")
    assert not target.exists(), "checked whole before anything is unpacked"
    assert list(target.parent.iterdir()) == [], "no temporary file left behind"
