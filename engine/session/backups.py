"""Back up and restore a session's browser profile, which is its WhatsApp pairing: whoever has
a copy is that number. So an archive is 0600 in a 0700 folder whatever the umask, and with a
passphrase (WAOPS_BACKUP_PASSPHRASE) it is encrypted as well (engine/session/backup_crypto.py).
"""

from __future__ import annotations

import gzip
import os
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from engine.private_files import DIR_MODE, FILE_MODE
from engine.session.backup_crypto import MAGIC, EncryptingWriter, decrypt, is_encrypted
from engine.session.profiles import profile_dir
from engine.texts import phrase
from engine.whatsapp.errors import ProfileInUse
from engine.whatsapp.profile_lock import ProfileLock
from storage.db import NotFound

PLAIN_SUFFIX = ".tar.gz"
ENCRYPTED_SUFFIX = ".tar.gz.enc"
# Chromium's run-time files and caches: not part of the pairing, and unsafe to copy live.
_VOLATILE = {"SingletonLock", "SingletonSocket", "SingletonCookie", "waops.lock", "lockfile"}
_SKIPPED_DIRS = {"Cache", "Code Cache", "GPUCache", "GrShaderCache", "ShaderCache", "DawnCache"}


def backup_profile(
    data_dir: Path,
    client_slug: str,
    name: str,
    dest_dir: Path,
    now: datetime,
    passphrase: str | None = None,
) -> Path:
    """Archive a stopped session's profile to a .tar.gz (.tar.gz.enc with a passphrase) in
    `dest_dir`, which is created 0700 if missing; ProfileInUse while the session runs."""
    source = profile_dir(data_dir, client_slug, name)
    if not source.is_dir():
        raise NotFound(phrase("runner.no_profile", client=client_slug, name=name, path=str(source)))
    lock = ProfileLock(source)
    lock.acquire()  # raises ProfileInUse while a driver holds it
    try:
        dest_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        suffix = ENCRYPTED_SUFFIX if passphrase else PLAIN_SUFFIX
        target = dest_dir / f"{client_slug}-{name}-{now:%Y%m%d-%H%M%S}{suffix}"
        try:
            _write(source, target, passphrase)
        except BaseException:
            target.unlink(missing_ok=True)  # never leave half an archive behind
            raise
        return target
    finally:
        lock.release()


def _write(source: Path, target: Path, passphrase: str | None) -> None:
    # Created 0600 (O_EXCL: never through an existing file or link), then set exactly so.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        sealer = EncryptingWriter(out, passphrase) if passphrase else None
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=sealer or out) as packed,
            tarfile.open(fileobj=packed, mode="w") as archive,
        ):
            for path in sorted(source.rglob("*")):
                if path.name in _VOLATILE or any(part in _SKIPPED_DIRS for part in path.parts):
                    continue
                archive.add(path, arcname=str(path.relative_to(source)), recursive=False)
        if sealer is not None:
            sealer.finish()


def is_encrypted_backup(archive_path: Path) -> bool:
    """True for an archive written with a passphrase."""
    with archive_path.open("rb") as source:
        return is_encrypted(source.read(len(MAGIC)))


def restore_profile(
    data_dir: Path,
    client_slug: str,
    name: str,
    archive_path: Path,
    passphrase: str | None = None,
) -> Path:
    """Unpack a backup into the session's profile directory, which must not exist or be empty.

    An encrypted one is decrypted and checked whole (into a private temporary file) before
    anything is unpacked: BackupUnreadable (WrongPassphrase) and nothing is written otherwise.
    """
    target = profile_dir(data_dir, client_slug, name)
    if target.exists() and any(target.iterdir()):
        raise ProfileInUse(f"{target} is not empty: remove the session's profile before restoring")
    if not is_encrypted_backup(archive_path):
        with archive_path.open("rb") as source:
            _unpack(source, target)
        return target
    target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    with archive_path.open("rb") as source, tempfile.TemporaryFile(dir=target.parent) as plain:
        decrypt(source, plain, passphrase)
        plain.seek(0)
        _unpack(plain, target)
    return target


def _unpack(archive: BinaryIO, target: Path) -> None:
    target.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    with tarfile.open(fileobj=archive, mode="r:gz") as unpacked:
        unpacked.extractall(target, filter="data")
    # The archive brings back its folders' old modes; the profile itself stays closed.
    target.chmod(DIR_MODE)
