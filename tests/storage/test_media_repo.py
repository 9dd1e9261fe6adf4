"""Media in the message and campaign repositories: the file's facts are stored and read back,
the download's outcome and the transcript are recorded, and the retention expiry hands back
only the files nothing needs any more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage.db import Database, NotFound
from storage.records import (
    CampaignMedia,
    CampaignStatus,
    Direction,
    MediaInfo,
    MediaState,
    NewMessage,
    Origin,
)
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SHA_A, SHA_B, SHA_C, SHA_D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


async def _world(db: Database) -> tuple[int, int, int, int]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    ana = await ContactRepo(db).ensure(client.id, "5491100000001")
    beto = await ContactRepo(db).ensure(client.id, "5491100000002")
    return client.id, session.id, ana.id, beto.id


def _media_message(
    ids: tuple[int, int, int], wa_id: str, media: MediaInfo | None, minutes: int = 0
) -> NewMessage:
    client_id, session_id, contact_id = ids
    return NewMessage(
        client_id,
        contact_id,
        Direction.IN,
        Origin.CONTACT,
        "mirá esto" if media is not None and media.kind == "image" else "",
        T0 + timedelta(minutes=minutes),
        session_id=session_id,
        wa_message_id=wa_id,
        media=media,
    )


async def test_media_facts_are_stored_with_the_message_and_updated(db: Database) -> None:
    client_id, session_id, ana, _beto = await _world(db)
    repo = MessageRepo(db)
    note = MediaInfo("ptt", "audio/ogg; codecs=opus", 9810, 4, None, None, MediaState.PENDING)
    stored = await repo.add(_media_message((client_id, session_id, ana), "false_1@c.us_A", note))
    assert stored is not None and stored.media == note and stored.type == "ptt"
    text_message = await repo.add(
        NewMessage(client_id, ana, Direction.IN, Origin.CONTACT, "hola", T0, session_id=session_id)
    )
    assert text_message is not None and text_message.media is None

    await repo.set_media_state(stored.id, MediaState.STORED, sha256=SHA_A, size_bytes=9811)
    await repo.set_transcript(stored.id, "quiero darme de baja")
    [again] = [m for m in await repo.conversation(ana) if m.id == stored.id]
    assert again.media == MediaInfo(
        "ptt", "audio/ogg; codecs=opus", 9811, 4, None, SHA_A, MediaState.STORED,
        "quiero darme de baja",
    )  # fmt: skip
    assert again.body == "", "the transcript never goes into the body"
    await repo.set_media_state(stored.id, MediaState.FAILED)
    [failed] = [m for m in await repo.conversation(ana) if m.id == stored.id]
    assert failed.media is not None and failed.media.state is MediaState.FAILED
    assert failed.media.sha256 == SHA_A, "a state alone keeps the file's facts"


async def test_media_messages_lists_only_media_newest_first(db: Database) -> None:
    client_id, session_id, ana, beto = await _world(db)
    repo = MessageRepo(db)
    ids = (client_id, session_id, ana)
    await repo.add(_media_message(ids, "false_1@c.us_P", MediaInfo("ptt"), minutes=1))
    await repo.add(
        NewMessage(client_id, ana, Direction.IN, Origin.CONTACT, "hola", T0, session_id=session_id)
    )
    await repo.add(_media_message(ids, "false_1@c.us_I", MediaInfo("image"), minutes=3))
    await repo.add(_media_message(ids, "false_1@c.us_D", MediaInfo("document"), minutes=2))
    await repo.add(
        _media_message((client_id, session_id, beto), "false_2@c.us_X", MediaInfo("video"))
    )
    found = await repo.media_messages(client_id, ana, limit=10)
    assert [m.type for m in found] == ["image", "document", "ptt"]
    assert [m.type for m in await repo.media_messages(client_id, ana, limit=1)] == ["image"]
    assert await repo.media_messages(client_id + 1, ana, limit=10) == []


async def test_expiry_returns_only_files_nothing_needs(db: Database) -> None:
    client_id, session_id, ana, beto = await _world(db)
    repo, campaigns = MessageRepo(db), CampaignRepo(db)
    stored = MediaState.STORED

    async def add(contact: int, wa_id: str, sha: str) -> int:
        info = MediaInfo("image", "image/jpeg", 10, None, None, sha, stored)
        message = await repo.add(_media_message((client_id, session_id, contact), wa_id, info))
        assert message is not None
        return message.id

    old = [await add(ana, f"false_1@c.us_{n}", sha) for n, sha in enumerate((SHA_A, SHA_B, SHA_C))]
    shared_new = await add(beto, "false_2@c.us_N", SHA_B)  # the same file, sent again later
    flyer = await campaigns.create(client_id, session_id, "feria", "Hola", {"tag": "feria"})
    await campaigns.attach_media(flyer.id, CampaignMedia(SHA_C, "image", "image/jpeg", None, 10))
    async with db.engine.begin() as c:  # the first three were stored 40 days ago
        await c.execute(
            text("update messages set stored_at = :at where id in (:a, :b, :c)"),
            {"at": (T0 - timedelta(days=40)).replace(tzinfo=None), "a": old[0], "b": old[1],
             "c": old[2]},
        )  # fmt: skip
    assert await repo.media_in_use() == {SHA_A, SHA_B, SHA_C}

    assert await repo.expire_media(T0 - timedelta(days=30)) == [SHA_A], (
        "B is still another message's, C a draft campaign's"
    )
    states = {m.id: m.media.state for m in await repo.conversation(ana) if m.media}
    assert set(states.values()) == {MediaState.EXPIRED}
    assert await repo.media_in_use() == {SHA_B, SHA_C}
    assert await repo.expire_media(T0 - timedelta(days=30)) == [], "expired once"

    await campaigns.set_status(flyer.id, CampaignStatus.COMPLETED)
    assert await repo.media_in_use() == {SHA_B}, "a finished campaign sends nothing more"
    assert await repo.contact_media(ana) == {SHA_A, SHA_B, SHA_C}
    assert await repo.contact_media(beto) == {SHA_B}
    assert shared_new not in old


async def test_a_campaign_attachment_is_set_read_and_refused_once_it_runs(db: Database) -> None:
    client_id, session_id, _ana, _beto = await _world(db)
    campaigns = CampaignRepo(db)
    draft = await campaigns.create(client_id, session_id, "feria", "Hola", {"tag": "feria"})
    assert draft.media is None
    flyer = CampaignMedia(SHA_D, "document", "application/pdf", "catalogo.pdf", 183_000)
    editable = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED)
    attached = await campaigns.attach_media(draft.id, flyer, expect=editable)
    assert attached.media == flyer and (await campaigns.get(draft.id)).media == flyer
    assert [c.media for c in await campaigns.list(client_id=client_id)] == [flyer]

    await campaigns.set_status(draft.id, CampaignStatus.RUNNING)
    with pytest.raises(NotFound, match="is running, not draft/scheduled/paused"):
        await campaigns.attach_media(draft.id, None, expect=editable)
    assert (await campaigns.get(draft.id)).media == flyer, "refused means unchanged"
    removed = await campaigns.attach_media(draft.id, None)
    assert removed.media is None
    with pytest.raises(NotFound):
        await campaigns.attach_media(9999, flyer)
