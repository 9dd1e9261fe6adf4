"""The daily retention sweep of the media store (WAOPS_MEDIA_RETENTION_DAYS).

Two passes. First the files messages stored before the cutoff: they are marked expired in the
database, and deleted unless something still needs them (another message, or a campaign that
may still send the file). Then the orphans: files nothing names, written before the cutoff (a
contact forgotten with /forget, a campaign finished without sending, a download stored just
before a crash recorded it). The database is asked first and the disk second, so a file is
deleted only once no row needs it; a file written (or put again) after the cutoff is kept
whatever the rows say, because the row that will name it may not be committed yet.

The cutoff comes from the injected clock and is compared with the files' modification times:
a test with a virtual clock far ahead sees every file as old (set their times to match).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from engine.clock import Clock
from engine.media_store import MediaStore
from engine.timers import Timers
from storage.db import Database, StorageError
from storage.repos import MessageRepo

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 24 * 3600.0
"""How often `MediaSweeps` runs `sweep_media`."""
FIRST_SWEEP_S = 60.0
"""The first sweep after a start, once the sessions had their minute to come up: what a stopped
process left past its retention goes the same day, not a day later."""
_TIMER = "media-sweep"


class MediaSweeps:
    """Runs `sweep_media` `first_s` after `start()` and then every `interval_s`, on the one timer
    mechanism (engine/timers.py), so tests move a virtual clock. A sweep that fails (the
    database or the disk unavailable) is logged and the next one is still armed."""

    def __init__(
        self,
        db: Database,
        store: MediaStore,
        clock: Clock,
        *,
        days: int,
        first_s: float = FIRST_SWEEP_S,
        interval_s: float = SWEEP_INTERVAL_S,
    ) -> None:
        self._repo = MessageRepo(db)
        self._store = store
        self._clock = clock
        self._days = days
        self._first_s = first_s
        self._interval_s = interval_s
        self._timers = Timers(clock)
        self.runs = 0

    async def start(self) -> None:
        self._timers.start(_TIMER, self._first_s, self._sweep)

    async def stop(self) -> None:
        await self._timers.shutdown()

    async def run_until_idle(self) -> None:
        """For tests: until a sweep that is due has finished and the next one is armed."""
        await self._timers.run_until_idle()

    async def _sweep(self) -> None:
        try:
            await sweep_media(self._repo, self._store, self._clock, self._days)
        except (StorageError, OSError) as exc:
            logger.warning("media sweep skipped this time: %s", exc)
        finally:
            self.runs += 1
            self._timers.start(_TIMER, self._interval_s, self._sweep)


async def sweep_media(repo: MessageRepo, store: MediaStore, clock: Clock, days: int) -> int:
    """Expire and delete the files older than `days`; how many files were deleted. `days`
    0 keeps files for ever (only dead temporary files go)."""
    await store.clear_temporaries()
    if days <= 0:
        return 0
    cutoff = clock.now() - timedelta(days=days)
    deleted = 0
    for sha256 in await repo.expire_media(cutoff):
        deleted += await store.delete(sha256, unless_newer_than=cutoff)
    in_use = await repo.media_in_use()
    for sha256 in await store.older_than(cutoff):
        if sha256 not in in_use:
            deleted += await store.delete(sha256, unless_newer_than=cutoff)
    if deleted:
        logger.info("media sweep: deleted %d files kept more than %d days", deleted, days)
    return deleted


async def forget_media(repo: MessageRepo, store: MediaStore, sha256s: set[str]) -> int:
    """Delete these files now unless something still needs them: what /forget calls with
    `repo.contact_media(contact_id)` read before the contact's rows are deleted."""
    in_use = await repo.media_in_use()
    deleted = 0
    for sha256 in sorted(sha256s - in_use):
        deleted += await store.delete(sha256)
    return deleted
