"""A write-ahead spool for inbound messages, so none is lost between WhatsApp and the database.

Every inbound message is appended (and fsynced) here before anything else happens to it and is
marked done once stored. If the database is down, the listener retries; if the process dies
meanwhile, the next start replays what was never marked done. Replays are harmless: a message
is stored once per (session, WhatsApp id). The file is compacted as it goes (and when a contact
is forgotten), so it holds only what is still in flight, not every body of the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

COMPACT_AFTER_LINES = 1000  # done marks and entries written since the last compaction


class InboundSpool:
    """Append-only JSON lines: `{"k": key, "e": entry}` for a new one, `{"k": key}` when done."""

    def __init__(self, path: Path, *, compact_after_lines: int = COMPACT_AFTER_LINES) -> None:
        self.path = path
        self._fd: int | None = None
        self._open: dict[str, dict[str, Any]] = {}
        self._lines = 0
        self._compact_after_lines = compact_after_lines
        self._lock = threading.Lock()  # appends run in threads; compaction swaps the file
        self._torn = False

    def open(self) -> list[tuple[str, dict[str, Any]]]:
        """Open the spool, compact it, and return (key, entry) still to process, oldest first."""
        pending: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    logger.warning("skipping a torn line in %s", self.path)  # a crash mid-write
                    continue
                if "e" in record:
                    pending[record["k"]] = record["e"]
                else:
                    pending.pop(record["k"], None)
        self._open = pending
        self._rewrite()
        if pending:
            logger.info("replaying %d inbound messages left from the last run", len(pending))
        return list(pending.items())

    def _rewrite(self) -> None:
        """Write only the open entries to a new file and switch to it (fsynced, atomic)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.writelines(
                json.dumps({"k": k, "e": e}, ensure_ascii=False) + "\n"
                for k, e in self._open.items()
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        old, self._fd = self._fd, os.open(self.path, os.O_WRONLY | os.O_APPEND)
        if old is not None:
            os.close(old)
        self._lines = len(self._open)

    def compact(self) -> None:
        """Drop what is done from the file (blocking: call it in a thread)."""
        with self._lock:
            if self._fd is not None:
                self._rewrite()

    async def append(self, key: str, entry: dict[str, Any]) -> None:
        """Persist an entry before it is processed (fsync: it must survive a crash). The write
        and fsync run in a thread so a slow disk does not stall every session."""
        record = {"k": key, "e": entry}
        # Open before the write: a compaction meanwhile keeps it (at worst written twice, and a
        # replay reads one entry per key).
        self._open[key] = entry
        try:
            await asyncio.to_thread(self._write, record)
        except BaseException:
            self._open.pop(key, None)
            raise
        if self._lines >= self._compact_after_lines:
            await asyncio.to_thread(self.compact)

    def done(self, key: str) -> None:
        """Mark an entry as stored; no fsync needed, a lost mark only means a harmless replay."""
        if self._open.pop(key, None) is not None:
            self._write({"k": key}, sync=False)

    @property
    def open_entries(self) -> int:
        return len(self._open)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _write(self, record: dict[str, Any], *, sync: bool = True) -> None:
        with self._lock:
            if self._fd is None:
                raise RuntimeError("the inbound spool is not open")
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
            # After a write that failed half-way, start on a new line: the torn one is skipped
            # on replay instead of swallowing this record.
            data = memoryview(b"\n" + line if self._torn else line)
            try:
                while data:  # os.write may write less than asked (a disk filling up)
                    data = data[os.write(self._fd, data) :]
            except OSError:
                self._torn = True
                raise
            self._torn = False
            self._lines += 1
            if sync:
                os.fsync(self._fd)
