"""Media end to end: simulator (following WA-JS 4.6.0 downloadMedia/sendFileMessage) -> real
Chromium -> driver -> listener, media store, transcription and the model on the real openai
SDK (against the fake server) -> campaigns -> simulator."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from storage.records import ContactInput, MediaState, Message, RecipientState
from storage.repos import CampaignRepo, ContactRepo, MessageRepo
from tests.support.fakes.openai_server import Reply
from tests.support.live_env import Live, LiveMedia, make_live
from tests.support.poll import poll_until
from tests.support.sim_world import World

pytestmark = pytest.mark.browser

ANA = "5491155550000"
BETO = "5491155550001"
CARLA = "5491155550002"
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 40  # ~10 KB, like a few seconds of opus
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 20
CAP = 200_000


@pytest.fixture
async def live(world: World, tmp_path: Path) -> AsyncIterator[Live]:
    async with make_live(world, tmp_path, LiveMedia(max_bytes=CAP)) as built:
        yield built


async def _messages(live: Live, phone: str) -> list[Message]:
    contact = await ContactRepo(live.world.db).get(live.client_id, phone)
    return list(reversed(await MessageRepo(live.world.db).conversation(contact.id, 50)))


async def test_a_voice_note_is_stored_transcribed_and_answered_from_its_words(
    live: Live,
) -> None:
    live.fake.hear(VOICE, "hola, ¿tienen el sillón gris en stock?")
    live.fake.script(Reply("¡Sí! El sillón gris está en stock."))
    await live.send_file(ANA, "ptt", VOICE, mimetype="audio/ogg; codecs=opus", duration=4)

    note, answer = await _messages(live, ANA)
    sha = hashlib.sha256(VOICE).hexdigest()
    assert note.type == "ptt" and note.media is not None
    assert (note.media.state, note.media.sha256) == (MediaState.STORED, sha)
    assert note.media.duration_s == 4 and note.media.size_bytes == len(VOICE)
    assert live.store is not None and await live.store.read(sha) == VOICE
    [heard] = live.fake.transcriptions
    assert heard.sha256 == sha, "the bytes WhatsApp had reached the transcription"
    assert heard.model == "gpt-4o-mini-transcribe"
    assert heard.filename and heard.filename.endswith(".ogg")
    assert note.media.transcript == "hola, ¿tienen el sillón gris en stock?"
    assert "tienen el sillón gris en stock" in str(live.fake.messages[-1])
    assert answer.body == "¡Sí! El sillón gris está en stock."
    assert (await live.sent())[-1] == (f"{ANA}@c.us", "¡Sí! El sillón gris está en stock.")


async def test_a_voice_note_saying_baja_opts_the_contact_out(live: Live) -> None:
    live.fake.hear(VOICE, "Baja.")
    await live.send_file(ANA, "ptt", VOICE, mimetype="audio/ogg; codecs=opus", duration=1)
    contact = await ContactRepo(live.world.db).get(live.client_id, ANA)
    assert contact.opted_out_at is not None
    assert live.fake.requests == [], "no model turn for an opt-out"
    [(_to, body)] = await live.sent()
    assert body.startswith("Listo, no vas a recibir más mensajes")


async def test_a_photo_with_a_caption_reaches_a_vision_model_as_an_image(live: Live) -> None:
    live.fake.script(Reply("¡Lo tenemos en gris y en beige!"))
    await live.send_file(
        ANA, "image", PHOTO, caption="¿tienen este en gris?", mimetype="image/jpeg"
    )
    photo, _answer = await _messages(live, ANA)
    assert photo.body == "¿tienen este en gris?"
    assert photo.media is not None and photo.media.state is MediaState.STORED
    [image] = [i for i in live.fake.images if i.request >= 0]
    assert image.sha256 == hashlib.sha256(PHOTO).hexdigest(), "the photo's own bytes"
    assert image.mimetype == "image/jpeg"
    assert "¿tienen este en gris?" in str(live.fake.messages[image.request][image.message])


async def test_a_failed_download_is_retried_then_failed_and_a_large_file_never_fetched(
    live: Live,
) -> None:
    await live.world.sim.media_failures("haby-main", 2)
    live.fake.script(Reply("¡Qué lindo!"))
    await live.send_file(ANA, "image", PHOTO, caption="mirá", mimetype="image/jpeg")
    assert (await _messages(live, ANA))[0].media.state is MediaState.STORED  # type: ignore[union-attr]

    await live.world.sim.media_failures("haby-main", 3)
    live.fake.script(Reply("No pude abrir la foto, ¿me la mandás de nuevo?"))
    await live.send_file(ANA, "image", PHOTO + b"2", caption="y esta?", mimetype="image/jpeg")
    failed = (await _messages(live, ANA))[2]
    assert failed.body == "y esta?" and failed.media is not None
    assert failed.media.state is MediaState.FAILED, "three attempts, then given up; kept"

    # One failure pending: a download of the big file would use it up.
    await live.world.sim.media_failures("haby-main", 1)
    big = b"%PDF-1.4 " + b"x" * CAP
    live.fake.script(Reply("Recibí el documento."), Reply("Recibí la otra foto."))
    await live.send_file(BETO, "document", big, mimetype="application/pdf", filename="a.pdf")
    [document, _reply] = await _messages(live, BETO)
    assert document.media is not None and document.media.state is MediaState.TOO_LARGE
    await live.send_file(BETO, "image", PHOTO + b"3", mimetype="image/jpeg")
    later = (await _messages(live, BETO))[2]
    assert later.media is not None and later.media.state is MediaState.STORED
    await live.world.sim.media_failures("haby-main", 0)


async def test_a_campaign_with_an_image_reaches_each_prospect_once(live: Live) -> None:
    db = live.world.db
    await ContactRepo(db).upsert_many(
        live.client_id, [ContactInput(ANA, "Ana"), ContactInput(BETO, "Beto"), ContactInput(CARLA)]
    )
    engine = CampaignEngine(
        db, live.world.bus, live.manager, PacingPolicy.unpaced(), media=live.store
    )
    await engine.start()
    service = CampaignService(db, engine, PacingPolicy.unpaced(), media=live.store)
    try:
        draft = await service.create_draft("haby", "main", "all", "Hola {name|amigo}, mirá esto")
        await service.attach(draft.campaign.id, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
        await service.launch(draft.campaign.id)
        await engine.run_until_idle()
        await engine.run_until_idle()
    finally:
        await engine.stop()
    rows = await live.world.sim.sent("haby-main")
    sha = hashlib.sha256(PHOTO).hexdigest()
    assert sorted((r["to"], r["kind"], r["sha256"], r["caption"]) for r in rows) == [
        (f"{ANA}@c.us", "image", sha, "Hola Ana, mirá esto"),
        (f"{BETO}@c.us", "image", sha, "Hola Beto, mirá esto"),
        (f"{CARLA}@c.us", "image", sha, "Hola amigo, mirá esto"),
    ]
    states = [r.state async for r in CampaignRepo(db).recipients(draft.campaign.id)]
    assert states == [RecipientState.SENT] * 3


async def test_a_media_send_cut_off_mid_way_is_unknown_and_never_sent_again(
    live: Live,
) -> None:
    """The engine stops while WhatsApp has the file but has not answered (as in
    tests/engine/campaign/test_crash.py, in process): the recipient is `unknown` after the
    restart, and the restarted engine does not send it again."""
    db = live.world.db
    await ContactRepo(db).upsert_many(live.client_id, [ContactInput(ANA), ContactInput(BETO)])
    engine = CampaignEngine(
        db, live.world.bus, live.manager, PacingPolicy.unpaced(), media=live.store
    )
    await engine.start()
    service = CampaignService(db, engine, PacingPolicy.unpaced(), media=live.store)
    draft = await service.create_draft("haby", "main", "all", "Hola, mirá el catálogo")
    await service.attach(draft.campaign.id, PHOTO, filename="flyer.jpg", mimetype="image/jpeg")
    await live.world.sim.action("haby-main", "stall-sends")
    await service.launch(draft.campaign.id)

    async def in_flight() -> bool:
        return len(await live.world.sim.sent("haby-main")) >= 1

    await poll_until(in_flight, "a media send in flight", 60)
    await asyncio.wait_for(engine.stop(), 30)  # cut off: WhatsApp never answered
    await live.world.sim.action("haby-main", "release-sends")

    restarted = CampaignEngine(
        db, live.world.bus, live.manager, PacingPolicy.unpaced(), media=live.store
    )
    await restarted.start()
    try:
        await restarted.run_until_idle()
        await restarted.run_until_idle()
    finally:
        await restarted.stop()
    states = sorted([r.state async for r in CampaignRepo(db).recipients(draft.campaign.id)])
    assert states == sorted([RecipientState.UNKNOWN, RecipientState.SENT])
    rows = await live.world.sim.sent("haby-main")
    assert sorted(r["to"] for r in rows) == [f"{ANA}@c.us", f"{BETO}@c.us"], "once each"
