"""The inbound path's one transaction: a deadlock MariaDB broke is run again at once, a
duplicate WhatsApp id stores nothing, and nothing else is retried."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from storage.db import Database, StorageUnavailable
from storage.repos import InboundRepo
from storage.repos.inbound import InboundUnit


def _unavailable(code: int) -> StorageUnavailable:
    """What `Database.session()` raises for a driver error with this MySQL code."""
    orig = Exception(code, "Deadlock found when trying to get lock; try restarting transaction")
    try:
        raise StorageUnavailable("database unavailable") from OperationalError("x", {}, orig)
    except StorageUnavailable as exc:
        return exc


def test_only_error_1213_is_a_deadlock() -> None:
    assert _unavailable(1213).deadlock
    assert not _unavailable(1205).deadlock, "a lock wait timeout is not retried at once"
    assert not StorageUnavailable("the disk is gone").deadlock


async def test_a_deadlock_victim_runs_again_and_gives_up_after_a_few(db: Database) -> None:
    calls = 0

    async def work(_unit: InboundUnit) -> str:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise _unavailable(1213)
        return "stored"

    assert await InboundRepo(db).run(work) == "stored" and calls == 3

    async def always(_unit: InboundUnit) -> str:
        raise _unavailable(1213)

    with pytest.raises(StorageUnavailable):
        await InboundRepo(db).run(always)

    async def outage(_unit: InboundUnit) -> str:
        nonlocal calls
        calls += 1
        raise _unavailable(2013)  # lost connection: the listener's own backoff handles it

    calls = 0
    with pytest.raises(StorageUnavailable):
        await InboundRepo(db).run(outage)
    assert calls == 1
