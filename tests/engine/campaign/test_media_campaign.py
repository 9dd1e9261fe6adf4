"""A campaign with a file: attached once (checked against WhatsApp's limits), sent to every
recipient with their own caption on the text path's at-most-once rules."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.campaign.worker import MEDIA_MISSING
from engine.clock import VirtualClock
from engine.errors import InvalidInput
from engine.media import MediaRejected
from engine.media_store import MediaStore
from engine.whatsapp.errors import SendFailed, SendUnknown
from storage.db import Database
from storage.records import CampaignStatus, MediaState, Origin, RecipientState
from storage.repos import CampaignRepo, ContactRepo, MessageRepo
from tests.engine.campaign.env import START, Env, make_env, phones

PHOTO = b"\xff\xd8\xff\xe0" + b"flyer" * 2000  # a JPEG's magic, then anything
SHA = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
async def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
async def env(db: Database, store: MediaStore) -> AsyncIterator[Env]:
    async with make_env(db, VirtualClock(START), media=store) as env:
        yield env


async def test_each_recipient_gets_the_file_once_with_their_own_caption(
    env: Env, store: MediaStore
) -> None:
    await env.contacts(*phones(3))
    campaign = await env.campaign("Hola {name}, mirá el catálogo")
    attached = await env.service.attach(
        campaign, PHOTO, filename="flyer.jpg", mimetype="image/jpeg"
    )
    assert attached.media is not None
    assert (attached.media.sha256, attached.media.kind, attached.media.size) == (
        SHA,
        "image",
        len(PHOTO),
    )
    assert store.exists(SHA)

    preview = await env.service.preview_checked(campaign)
    assert preview.media == attached.media and preview.data == PHOTO
    assert preview.samples[0][1] == "Hola N01, mirá el catálogo"

    await env.service.launch(campaign)
    await env.engine.run_until_idle()
    await env.engine.run_until_idle()  # nothing more goes out on a second look
    assert [(chat, f.sha256, f.kind, f.data == PHOTO) for chat, f in env.numbers.files] == [
        (f"{p}@c.us", SHA, "image", True) for p in phones(3)
    ]
    assert [text for _at, _chat, text in env.numbers.sent] == [
        f"Hola N{p[-2:]}, mirá el catálogo" for p in phones(3)
    ]
    states = {r.phone: r.state async for r in CampaignRepo(env.db).recipients(campaign)}
    assert set(states.values()) == {RecipientState.SENT}

    contact = await ContactRepo(env.db).get(env.client_id, phones(3)[0])
    [message] = await MessageRepo(env.db).conversation(contact.id)
    assert message.origin is Origin.CAMPAIGN and message.type == "image"
    assert message.body == "Hola N01, mirá el catálogo"
    assert message.media is not None
    assert (message.media.sha256, message.media.state) == (SHA, MediaState.STORED)


async def test_a_refused_send_fails_an_unknown_one_is_never_sent_again(env: Env) -> None:
    await env.contacts(*phones(3))
    campaign = await env.campaign("Hola {name}")
    await env.service.attach(campaign, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
    env.numbers.failures.extend([SendFailed("file_too_large"), SendUnknown("timeout")])
    await env.service.launch(campaign)
    await env.engine.run_until_idle()
    await env.engine.run_until_idle()
    states = [r.state async for r in CampaignRepo(env.db).recipients(campaign)]
    assert sorted(states) == sorted(
        [RecipientState.FAILED, RecipientState.UNKNOWN, RecipientState.SENT]
    )
    assert len(env.numbers.files) == 1, "only the third send reached WhatsApp"


async def test_a_file_missing_at_send_time_pauses_the_campaign_and_sends_nothing(
    env: Env, store: MediaStore
) -> None:
    await env.contacts(*phones(2))
    campaign = await env.campaign("Hola {name}")
    await env.service.attach(campaign, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
    await env.service.launch(campaign)
    # Launched: the recipients are frozen. The file goes before the worker's first send.
    assert await store.delete(SHA)
    await env.engine.run_until_idle()
    fresh = await env.service.get(campaign)
    assert (fresh.status, fresh.status_reason) == (CampaignStatus.PAUSED, MEDIA_MISSING)
    assert env.numbers.sent == []
    states = [r.state async for r in CampaignRepo(env.db).recipients(campaign)]
    assert states == [RecipientState.QUEUED, RecipientState.QUEUED], "nobody lost"

    # Attached again while paused, resumed: both go out once.
    await env.service.attach(campaign, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
    await env.service.resume(campaign)
    await env.engine.run_until_idle()
    assert len(env.numbers.files) == 2


async def test_attach_checks_the_state_and_whatsapps_limits(env: Env, tmp_path: Path) -> None:
    await env.contacts(*phones(1))
    campaign = await env.campaign("Hola")
    big = b"\xff\xd8" + b"x" * 6_000_000
    with pytest.raises(MediaRejected) as rejected:
        await env.service.attach(campaign, big, filename="big.jpg", mimetype="image/jpeg")
    assert "5 MB" in str(rejected.value), "the limit is named"
    with pytest.raises(MediaRejected):
        await env.service.attach(campaign, b"", filename="x.pdf", mimetype="application/pdf")
    assert not [f for f in (tmp_path / "media").rglob("*") if f.is_file()], "nothing kept"

    pdf = await env.service.attach(
        campaign, b"%PDF-1.4 lista", filename="lista.pdf", mimetype="application/pdf"
    )
    assert pdf.media is not None and pdf.media.kind == "document"
    await env.service.launch(campaign)
    await env.engine.run_until_idle()
    with pytest.raises(InvalidInput) as refused:
        await env.service.attach(campaign, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
    assert refused.value.text.key == "attach.not_editable"


async def test_a_launch_whose_file_is_gone_is_refused(env: Env, store: MediaStore) -> None:
    await env.contacts(*phones(1))
    campaign = await env.campaign("Hola")
    await env.service.attach(campaign, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
    await store.delete(SHA)
    with pytest.raises(InvalidInput) as refused:
        await env.service.launch(campaign)
    assert refused.value.text.key == "attach.missing"
    assert (await env.service.get(campaign)).status is CampaignStatus.DRAFT
