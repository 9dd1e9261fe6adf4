"""A write-ahead spool for inbound messages, so none is lost between WhatsApp and the database.

Every inbound message is appended (and fsynced) here before anything else happens to it and is
marked done once stored. If the database is down, the listener retries; if the process dies
meanwhile, the next start replays what was never marked done. Replays are harmless: a message
is stored once per (session, WhatsApp id).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class InboundSpool:
    """Append-only JSON lines: `{"k": key, "e": entry}` for a new one, `{"k": key}` when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._open_keys: set[str] = set()

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            "".join(json.dumps({"k": k, "e": e}) + "\n" for k, e in pending.items()),
            encoding="utf-8",
        )
        os.replace(tmp, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._open_keys = set(pending)
        if pending:
            logger.info("replaying %d inbound messages left from the last run", len(pending))
        return list(pending.items())

    async def append(self, key: str, entry: dict[str, Any]) -> None:
        """Persist an entry before it is processed (fsync: it must survive a crash). The write
        and fsync run in a thread so a slow disk does not stall every session."""
        record = {"k": key, "e": entry}
        await asyncio.to_thread(self._write, record)
        self._open_keys.add(key)

    def done(self, key: str) -> None:
        """Mark an entry as stored; no fsync needed, a lost mark only means a harmless replay."""
        if key in self._open_keys:
            self._open_keys.discard(key)
            self._write({"k": key}, sync=False)

    @property
    def open_entries(self) -> int:
        return len(self._open_keys)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _write(self, record: dict[str, Any], *, sync: bool = True) -> None:
        if self._fd is None:
            raise RuntimeError("the inbound spool is not open")
        os.write(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())
        if sync:
            os.fsync(self._fd)
