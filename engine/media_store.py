"""The files contacts and operators send, kept on disk by content: `<root>/ab/cd/<sha256>`.

Never in the database: a voice note is tens of kilobytes and a video megabytes, and the rows
name a file by its sha256 (`messages.media_sha256`, `campaigns.media_sha256`). Content
addressing makes the same flyer sent to a thousand chats one file, and a path that cannot be
steered anywhere else: names are 64 lowercase hex digits, checked on every call.

A file appears whole or not at all: it is written to `<root>/tmp/`, fsynced, moved into place
with `os.replace` (atomic on one filesystem) and its folder fsynced, so a crash leaves at worst
a temporary file, which the sweep removes. Files are 0600 and folders 0700, like everything
under the data directory (engine/private_files.py). Disk work runs in `asyncio.to_thread`:
the event loop carries every session's lanes and must not wait for a disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.private_files import FILE_MODE, private_dir

logger = logging.getLogger(__name__)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TEMP_DIR = "tmp"
TEMP_MAX_AGE_S = 24 * 3600.0
"""A temporary file this old belongs to a write that died (a crash): the sweep deletes it."""


class MediaTooLarge(Exception):
    """The file is over the cap it was put with; nothing was kept."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size} bytes, over the {limit}-byte limit")
        self.size = size
        self.limit = limit


class MediaMissing(Exception):
    """No file with this sha256 is in the store (never stored, or deleted by the sweep)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"no media file {sha256}")
        self.sha256 = sha256


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """Where a file is kept (its sha256) and how many bytes it has."""

    sha256: str
    size: int


def check_sha256(sha256: str) -> str:
    """`sha256` if it is 64 lowercase hex digits, else ValueError: nothing else is a name."""
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise ValueError(f"not a sha256 (64 lowercase hex digits): {sha256!r}")
    return sha256


class MediaStore:
    """Content-addressed files under `root` (the settings' data_dir / "media")."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the file with this sha256 is (or would be): `<root>/ab/cd/<sha256>`."""
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    async def put(self, data: bytes, *, max_bytes: int) -> StoredMedia:
        """Keep `data`; MediaTooLarge over `max_bytes`. A file already kept is not written
        again (its time is refreshed, so the sweep sees it as new)."""
        if len(data) > max_bytes:
            raise MediaTooLarge(len(data), max_bytes)
        return await asyncio.to_thread(self._put, data)

    async def put_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredMedia:
        """Keep what `chunks` yield without holding it all in memory, hashing as it goes;
        MediaTooLarge as soon as it passes `max_bytes` (the partial file is removed)."""
        digest = hashlib.sha256()
        size = 0
        handle, temp = await asyncio.to_thread(self._temp_file)
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(size, max_bytes)
                digest.update(chunk)
                await asyncio.to_thread(_write_all, handle, chunk)
            await asyncio.to_thread(os.fsync, handle)
        except BaseException:
            os.close(handle)
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        os.close(handle)
        stored = StoredMedia(digest.hexdigest(), size)
        await asyncio.to_thread(self._settle, temp, stored)
        return stored

    async def read(self, sha256: str) -> bytes:
        """The file's bytes; MediaMissing when it is not kept."""
        path = self.path(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise MediaMissing(sha256) from None

    async def delete(self, sha256: str, *, unless_newer_than: datetime | None = None) -> bool:
        """Remove the file; True when there was one. With `unless_newer_than`, a file written
        (or put again) after that instant is kept: something has just started using it."""
        path = self.path(sha256)
        return await asyncio.to_thread(_unlink, path, unless_newer_than)

    async def older_than(self, cutoff: datetime) -> list[str]:
        """The sha256s of kept files last written before `cutoff` (for the sweep's orphans)."""
        return await asyncio.to_thread(self._older_than, cutoff.timestamp())

    async def clear_temporaries(self) -> int:
        """Delete temporary files of writes that died (older than TEMP_MAX_AGE_S)."""
        return await asyncio.to_thread(self._clear_temporaries)

    # The blocking parts, run in a worker thread.

    def _put(self, data: bytes) -> StoredMedia:
        stored = StoredMedia(hashlib.sha256(data).hexdigest(), len(data))
        if self._refresh(stored):
            return stored
        handle, temp = self._temp_file()
        try:
            _write_all(handle, data)
            os.fsync(handle)
        except BaseException:
            os.close(handle)
            temp.unlink(missing_ok=True)
            raise
        os.close(handle)
        self._settle(temp, stored)
        return stored

    def _refresh(self, stored: StoredMedia) -> bool:
        """True when the file is kept already with the right size (then its time is renewed).
        A file of another size is damaged: it is written again."""
        path = self.path(stored.sha256)
        try:
            if path.stat().st_size == stored.size:
                os.utime(path)
                return True
        except FileNotFoundError:
            return False
        logger.warning("media file %s has the wrong size: writing it again", stored.sha256)
        return False

    def _temp_file(self) -> tuple[int, Path]:
        folder = self._private(self.root / TEMP_DIR)
        handle, name = tempfile.mkstemp(dir=folder, prefix="in-")  # mkstemp makes it 0600
        return handle, Path(name)

    def _settle(self, temp: Path, stored: StoredMedia) -> None:
        """Move a complete, fsynced temporary file into its place, or drop it as a duplicate."""
        if self._refresh(stored):
            temp.unlink(missing_ok=True)
            return
        target = self.path(stored.sha256)
        folder = self._private(target.parent)
        os.chmod(temp, FILE_MODE)
        os.replace(temp, target)
        _fsync_dir(folder)

    def _private(self, folder: Path) -> Path:
        """`folder` and every folder between it and the root made 0700: `mkdir(parents=True)`
        gives the parents the umask's mode, not the one asked for."""
        private_dir(self.root)
        for part in reversed(folder.relative_to(self.root).parents[:-1]):
            private_dir(self.root / part)
        return private_dir(folder)

    def _older_than(self, cutoff_ts: float) -> list[str]:
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for first in self.root.iterdir():
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in first.iterdir():
                for path in second.iterdir() if second.is_dir() else ():
                    if _SHA256_RE.match(path.name) and path.stat().st_mtime < cutoff_ts:
                        found.append(path.name)
        return sorted(found)

    def _clear_temporaries(self) -> int:
        folder = self.root / TEMP_DIR
        if not folder.is_dir():
            return 0
        removed = 0
        oldest = time.time() - TEMP_MAX_AGE_S
        for path in folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < oldest:
                    path.unlink()
                    removed += 1
        return removed


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry is the folder's data)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _unlink(path: Path, unless_newer_than: datetime | None) -> bool:
    try:
        if unless_newer_than is not None and path.stat().st_mtime >= unless_newer_than.timestamp():
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True
