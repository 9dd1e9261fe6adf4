"""The media store keeps each file once, by its sha256, whole or not at all, private to waops;
the retention sweep deletes what nothing needs and keeps what a message or a live campaign
still names."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.clock import VirtualClock
from engine.media_store import TEMP_DIR, MediaMissing, MediaStore, MediaTooLarge, StoredMedia
from engine.media_sweep import MediaSweeps, forget_media, sweep_media
from storage.db import Database
from storage.records import CampaignMedia, Direction, MediaInfo, MediaState, NewMessage, Origin
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo
from tests.support.clocks import ManualClock

NOTE = b"OggS" + bytes(range(256)) * 40
NOTE_SHA = hashlib.sha256(NOTE).hexdigest()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _temporaries(store: MediaStore) -> list[Path]:
    folder = store.root / TEMP_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def test_a_file_is_kept_by_content_privately_and_once(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    stored = await store.put(NOTE, max_bytes=len(NOTE))
    assert stored == StoredMedia(NOTE_SHA, len(NOTE))
    path = store.path(NOTE_SHA)
    assert path == tmp_path / "media" / NOTE_SHA[:2] / NOTE_SHA[2:4] / NOTE_SHA
    assert path.read_bytes() == NOTE and await store.read(NOTE_SHA) == NOTE
    assert _mode(path) == 0o600
    assert {_mode(p) for p in (path.parent, path.parent.parent, store.root)} == {0o700}
    assert store.exists(NOTE_SHA) and _temporaries(store) == []

    os.utime(path, (1, 1))  # the same bytes again: no second copy, and the file is new again
    assert await store.put(NOTE, max_bytes=len(NOTE)) == stored
    assert path.stat().st_mtime > time.time() - 60
    assert [p for p in store.root.rglob("*") if p.is_file()] == [path]


async def test_a_damaged_copy_is_written_again(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    await store.put(NOTE, max_bytes=1 << 20)
    store.path(NOTE_SHA).write_bytes(NOTE[:10])  # truncated by a full disk, say
    await store.put(NOTE, max_bytes=1 << 20)
    assert await store.read(NOTE_SHA) == NOTE


async def test_over_the_cap_nothing_is_kept(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    with pytest.raises(MediaTooLarge) as caught:
        await store.put(NOTE, max_bytes=len(NOTE) - 1)
    assert (caught.value.size, caught.value.limit) == (len(NOTE), len(NOTE) - 1)
    assert not store.exists(NOTE_SHA)


async def _chunks(data: bytes, size: int, seen: list[int]) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        seen.append(start)
        yield data[start : start + size]


async def test_a_stream_is_hashed_as_it_comes_and_cut_at_the_cap(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    seen: list[int] = []
    stored = await store.put_stream(_chunks(NOTE, 1000, seen), max_bytes=len(NOTE))
    assert stored == StoredMedia(NOTE_SHA, len(NOTE)) and await store.read(NOTE_SHA) == NOTE
    assert len(seen) == 11

    big = bytes(5000)
    seen.clear()
    with pytest.raises(MediaTooLarge):
        await store.put_stream(_chunks(big, 1000, seen), max_bytes=2500)
    assert seen == [0, 1000, 2000], "it stops reading at the chunk that passes the cap"
    assert not store.exists(hashlib.sha256(big).hexdigest())
    assert _temporaries(store) == [], "the partial file is removed"


async def test_a_write_that_dies_leaves_no_file_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MediaStore(tmp_path / "media")

    def disk_full(handle: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        await store.put(NOTE, max_bytes=1 << 20)
    monkeypatch.undo()
    assert not store.exists(NOTE_SHA) and _temporaries(store) == []

    leftover = store.root / TEMP_DIR / "in-crashed"  # what a SIGKILL mid-write leaves
    leftover.write_bytes(b"half")
    assert await store.clear_temporaries() == 0, "a fresh one may be a write in progress"
    os.utime(leftover, (1, 1))
    assert await store.clear_temporaries() == 1 and _temporaries(store) == []


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "A" * 64, "a" * 63, "a" * 65, "/" + "a" * 63, "", "g" * 64]
)
async def test_only_a_sha256_names_a_file(tmp_path: Path, name: str) -> None:
    store = MediaStore(tmp_path / "media")
    with pytest.raises(ValueError, match="not a sha256"):
        store.path(name)
    with pytest.raises(ValueError, match="not a sha256"):
        await store.read(name)
    with pytest.raises(ValueError, match="not a sha256"):
        await store.delete(name)


async def test_read_and_delete_of_a_missing_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    with pytest.raises(MediaMissing) as caught:
        await store.read(NOTE_SHA)
    assert caught.value.sha256 == NOTE_SHA
    assert await store.delete(NOTE_SHA) is False
    await store.put(NOTE, max_bytes=1 << 20)
    cutoff = datetime.now(UTC) - timedelta(days=1)
    assert await store.delete(NOTE_SHA, unless_newer_than=cutoff) is False, "just written"
    assert await store.delete(NOTE_SHA) is True and not store.exists(NOTE_SHA)


# The sweep, against a real database.

T0 = datetime.now(UTC).replace(microsecond=0)


async def _file(store: MediaStore, data: bytes, age_days: float) -> str:
    stored = await store.put(data, max_bytes=1 << 20)
    when = (T0 - timedelta(days=age_days)).timestamp()
    os.utime(store.path(stored.sha256), (when, when))
    return stored.sha256


async def test_the_sweep_deletes_what_nothing_needs_past_the_retention(
    db: Database, tmp_path: Path
) -> None:
    store, repo, campaigns = MediaStore(tmp_path / "media"), MessageRepo(db), CampaignRepo(db)
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    ana = await ContactRepo(db).ensure(client.id, "5491100000001")
    old, recent, flyer, orphan, fresh_orphan = [
        await _file(store, bytes([n]) * 100, age)
        for n, age in ((1, 40), (2, 3), (3, 40), (4, 40), (5, 0))
    ]
    message_ids = []
    for n, sha in enumerate((old, recent, flyer)):
        info = MediaInfo("image", "image/jpeg", 100, None, None, sha, MediaState.STORED)
        message = await repo.add(
            NewMessage(client.id, ana.id, Direction.IN, Origin.CONTACT, "", T0,
                       session_id=session.id, wa_message_id=f"false_1@c.us_{n}", media=info)
        )  # fmt: skip
        assert message is not None
        message_ids.append(message.id)
    draft = await campaigns.create(client.id, session.id, "feria", "Hola", {"tag": "feria"})
    await campaigns.attach_media(draft.id, CampaignMedia(flyer, "image", "image/jpeg", None, 100))
    async with db.session() as s:  # the old and the flyer's message were stored 40 days ago
        await s.execute(
            text("update messages set stored_at = :at where id in (:a, :b)"),
            {"at": (T0 - timedelta(days=40)).replace(tzinfo=None), "a": message_ids[0],
             "b": message_ids[2]},
        )  # fmt: skip

    clock = VirtualClock(T0)
    assert await sweep_media(repo, store, clock, 30) == 2, "the old file and the orphan"
    assert [store.exists(s) for s in (old, recent, flyer, orphan, fresh_orphan)] == [
        False,
        True,
        True,
        False,
        True,
    ], "the flyer is a draft's; a fresh orphan may be a row not yet committed"
    states = [m.media.state for m in await repo.conversation(ana.id) if m.media]
    assert sorted(states) == [MediaState.EXPIRED, MediaState.EXPIRED, MediaState.STORED]
    assert await sweep_media(repo, store, clock, 0) == 0, "0 days keeps files for ever"

    assert await forget_media(repo, store, {recent, flyer}) == 0, "both still needed"
    await repo.set_media_state(message_ids[1], MediaState.EXPIRED)
    assert await forget_media(repo, store, {recent, flyer}) == 1
    assert not store.exists(recent) and store.exists(flyer)


async def test_the_sweep_runs_soon_after_start_and_then_every_day(
    db: Database, tmp_path: Path
) -> None:
    store, clock = MediaStore(tmp_path / "media"), ManualClock(T0)
    sweeps = MediaSweeps(db, store, clock, days=30, first_s=60.0, interval_s=86400.0)
    orphan = await _file(store, b"\x01" * 100, 40)
    await sweeps.start()
    try:
        await sweeps.run_until_idle()
        assert sweeps.runs == 0 and store.exists(orphan), "nothing before its minute"
        clock.advance(60)
        await sweeps.run_until_idle()
        assert sweeps.runs == 1 and not store.exists(orphan), "the first sweep, a minute in"

        later = await _file(store, b"\x02" * 100, 40)
        clock.advance(86400 - 1)
        await sweeps.run_until_idle()
        assert sweeps.runs == 1 and store.exists(later)
        clock.advance(1)
        await sweeps.run_until_idle()
        assert sweeps.runs == 2 and not store.exists(later), "and again a day later"
    finally:
        await sweeps.stop()


async def test_a_sweep_that_fails_still_arms_the_next(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, clock = MediaStore(tmp_path / "media"), ManualClock(T0)
    sweeps = MediaSweeps(db, store, clock, days=30, first_s=1.0, interval_s=10.0)

    async def disk_gone() -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store, "clear_temporaries", disk_gone)
    await sweeps.start()
    try:
        clock.advance(1)
        await sweeps.run_until_idle()
        clock.advance(10)
        await sweeps.run_until_idle()
        assert sweeps.runs == 2, "the failed sweep re-armed its timer"
    finally:
        await sweeps.stop()
