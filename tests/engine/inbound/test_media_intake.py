"""Inbound media through the listener: stored first, downloaded with bounded retries into the
media store, voice notes transcribed, and the rules and the model reading the transcript."""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.events import ContactOptedOut, SessionStateChanged
from engine.inbound.media import MediaIntake, MediaPolicy
from engine.media_store import MediaStore
from engine.retry import Backoff
from engine.whatsapp.errors import MediaUnavailable, NotLoggedIn
from storage.db import Database
from storage.records import MediaState, Message, SessionState
from storage.repos import ContactRepo, MessageRepo
from tests.engine.inbound.env import CONTACT, Env, make_env
from tests.support.fakes.openai_server import Reply

VOICE = b"OggS" + b"\x01voice" * 500
PHOTO = b"\xff\xd8\xff\xe0" + b"photo" * 300
CAP = 64_000


class Source:
    """The sessions' side of downloads: a file per WhatsApp id, failures on demand."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.failures: deque[Exception] = deque()
        self.calls: list[str] = []
        self.hang = False
        self.called = asyncio.Event()

    async def download_media(self, session_id: int, message_id: str, *, max_bytes: int) -> bytes:
        self.calls.append(message_id)
        self.called.set()
        if self.hang:
            await asyncio.sleep(3600)
        if self.failures:
            raise self.failures.popleft()
        data = self.files[message_id]
        if len(data) > max_bytes:
            raise MediaUnavailable("too_large", "over the cap")
        return data


class Heard:
    """A transcriber that hears a scripted text per file (engine/ia/transcribe.py's role)."""

    def __init__(self) -> None:
        self.texts: dict[bytes, str] = {}
        self.calls: list[dict[str, Any]] = []

    async def transcribe(
        self,
        *,
        client_id: int,
        message_id: int,
        data: bytes,
        filename: str | None,
        mimetype: str,
        contact_id: int | None = None,
        duration_s: float | None = None,
    ) -> str | None:
        self.calls.append({"client_id": client_id, "filename": filename, "mimetype": mimetype})
        return self.texts.get(data)


class World:
    def __init__(self, env: Env, source: Source, heard: Heard, store: MediaStore) -> None:
        self.env, self.source, self.heard, self.store = env, source, heard, store

    async def send(self, kind: str, data: bytes, caption: str = "", **fields: Any) -> str:
        msg_id = f"false_{CONTACT}@c.us_M{len(self.source.files) + len(self.source.calls)}"
        self.source.files[msg_id] = data
        fields.setdefault("size_bytes", len(data))
        await self.env.inbound(caption, kind=kind, msg_id=msg_id, **fields)
        await self.env.listener.run_until_idle()
        return msg_id

    async def messages(self) -> list[Message]:
        contact = await ContactRepo(self.env.db).get(self.env.haby.client_id, CONTACT)
        return list(reversed(await MessageRepo(self.env.db).conversation(contact.id, 50)))


@pytest.fixture
async def world(db: Database, tmp_path: Path) -> AsyncIterator[World]:
    source, heard, store = Source(), Heard(), MediaStore(tmp_path / "media")
    policy = MediaPolicy(
        max_bytes=CAP, attempts=3, attempt_timeout_s=0.5, backoff=Backoff(0.01, 0.02)
    )

    def intake(database: Database) -> MediaIntake:
        return MediaIntake(database, source, store, policy=policy, transcriptions=heard)

    async with make_env(db, tmp_path, media=intake) as env:
        yield World(env, source, heard, store)


def _prompt(world: World) -> str:
    return str(world.env.fake.messages[-1])


async def test_a_voice_note_is_stored_transcribed_and_answered_from_its_words(
    world: World,
) -> None:
    world.heard.texts[VOICE] = "quiero el sillón gris, ¿cuánto sale?"
    world.env.fake.script(Reply("El sillón gris sale $250.000."))
    await world.send("ptt", VOICE, mimetype="audio/ogg; codecs=opus", duration_s=4)

    note, answer = await world.messages()
    assert note.type == "ptt" and note.media is not None
    sha = hashlib.sha256(VOICE).hexdigest()
    assert (note.media.state, note.media.sha256, note.media.size_bytes) == (
        MediaState.STORED,
        sha,
        len(VOICE),
    )
    assert note.media.transcript == "quiero el sillón gris, ¿cuánto sale?"
    assert note.body == "", "the transcript stays out of the text column"
    assert await world.store.read(sha) == VOICE
    assert world.heard.calls[0]["mimetype"] == "audio/ogg"
    assert answer.body == "El sillón gris sale $250.000."
    assert "quiero el sillón gris" in _prompt(world)


async def test_baja_said_in_a_voice_note_opts_out(world: World) -> None:
    world.heard.texts[VOICE] = "Baja"
    await world.send("ptt", VOICE, mimetype="audio/ogg; codecs=opus")
    contact = await ContactRepo(world.env.db).get(world.env.haby.client_id, CONTACT)
    assert contact.opted_out_at is not None
    assert len(world.env.of(ContactOptedOut)) == 1
    assert world.env.sender.texts == [
        "Listo, no vas a recibir más mensajes nuestros. Si cambiás de idea, escribinos."
    ]
    assert world.env.fake.requests == [], "no model call on an opt-out"
    [note, _reply] = await world.messages()
    assert note.intent == "opt_out"


async def test_a_download_is_retried_then_failed_and_the_message_stays(world: World) -> None:
    world.source.failures.extend(
        [MediaUnavailable("media_not_found", "gone"), NotLoggedIn("offline")]
    )
    world.env.fake.script(Reply("¡Linda foto!"))
    await world.send("image", PHOTO, "mirá", mimetype="image/jpeg")
    [photo, _reply] = await world.messages()
    assert photo.media is not None and photo.media.state is MediaState.STORED
    assert len(world.source.calls) == 3, "two failures, then the third attempt worked"

    world.source.failures.extend([MediaUnavailable("media_not_found", "gone")] * 3)
    world.env.fake.script(Reply("No pude ver la foto, ¿me la mandás de nuevo?"))
    await world.send("image", PHOTO, "y esta?", mimetype="image/jpeg")
    *_, failed, reply = await world.messages()
    assert (failed.body, failed.media and failed.media.state) == ("y esta?", MediaState.FAILED)
    assert len(world.source.calls) == 6, "three attempts, then given up"
    assert reply.body.startswith("No pude ver")


async def test_a_file_over_the_cap_is_never_downloaded(world: World) -> None:
    world.env.fake.script(Reply("Recibido."))
    await world.send("video", b"v" * (CAP + 1), "el video", mimetype="video/mp4")
    [video, _reply] = await world.messages()
    assert video.media is not None and video.media.state is MediaState.TOO_LARGE
    assert world.source.calls == []

    # WhatsApp did not say the size: the driver's own check of the Blob stops it, once.
    world.env.fake.script(Reply("Recibido el documento."))
    await world.send("document", b"d" * (CAP + 1), mimetype="application/pdf", size_bytes=None)
    [document] = [m for m in await world.messages() if m.type == "document"]
    assert document.media is not None and document.media.state is MediaState.TOO_LARGE
    assert len(world.source.calls) == 1, "too large is final: not asked again"


async def test_a_download_that_hangs_does_not_hold_the_chat(world: World) -> None:
    world.source.hang = True
    world.env.fake.script(Reply("¿Me repetís?"))
    await world.send("ptt", VOICE, mimetype="audio/ogg; codecs=opus")
    [note, reply] = await world.messages()
    assert note.media is not None and note.media.state is MediaState.FAILED
    assert len(world.source.calls) == 3, "each attempt had its deadline"
    assert world.heard.calls == [], "nothing to transcribe"
    assert reply.body == "¿Me repetís?"


async def test_order_in_a_chat_is_kept_a_voice_note_then_a_text(world: World) -> None:
    world.heard.texts[VOICE] = "hola, busco una mesa"
    world.env.fake.script(Reply("¡Tenemos mesas de roble!"))
    msg_id = f"false_{CONTACT}@c.us_ORDER1"
    world.source.files[msg_id] = VOICE
    await world.env.inbound(
        "", kind="ptt", msg_id=msg_id, mimetype="audio/ogg; codecs=opus", size_bytes=len(VOICE)
    )
    await world.env.inbound("de 6 personas")
    await world.env.listener.run_until_idle()
    prompt = _prompt(world)
    assert prompt.index("busco una mesa") < prompt.index("de 6 personas")
    bodies = [m.body for m in await world.messages()]
    assert bodies == ["", "de 6 personas", "¡Tenemos mesas de roble!"]


async def test_a_file_from_the_business_phone_is_kept_without_a_reply(world: World) -> None:
    msg_id = f"true_{CONTACT}@c.us_PHONE1"
    world.source.files[msg_id] = PHOTO
    await world.env.inbound(
        "catálogo", kind="image", msg_id=msg_id, from_me=True, mimetype="image/jpeg"
    )
    await world.env.listener.run_until_idle()
    [photo] = await world.messages()
    assert photo.media is not None and photo.media.state is MediaState.STORED
    assert world.env.fake.requests == [] and world.env.sender.sent == []


async def test_files_an_earlier_run_left_pending_are_fetched_once_connected(world: World) -> None:
    """A run stops between storing two media messages and downloading their files; the next
    one fetches both once the session is connected, opts out on the voice note's "baja", and
    sends nothing back (like a message caught up late)."""
    env, source = world.env, world.source
    world.heard.texts[VOICE] = "baja"
    source.hang = True
    for kind, data, mimetype in (("image", PHOTO, "image/jpeg"), ("ptt", VOICE, "audio/ogg")):
        msg_id = f"false_{CONTACT}@c.us_LEFT{kind}"
        source.files[msg_id] = data
        await env.inbound("", kind=kind, msg_id=msg_id, mimetype=mimetype, size_bytes=len(data))
    async with asyncio.timeout(5):
        while len(source.calls) < 2:
            source.called.clear()
            await source.called.wait()
    await env.listener.stop()  # the run ends with both downloads under way
    assert [m.media and m.media.state for m in await world.messages()] == [MediaState.PENDING] * 2
    assert env.sender.sent == [], "no answer started before the files were in"

    source.hang, source.calls = False, []
    await env.listener.start()
    connected = SessionStateChanged(
        env.haby, SessionState.STARTING, SessionState.CONNECTED, None, datetime.now(UTC)
    )
    await env.bus.publish(connected)
    await env.bus.publish(connected)  # a reconnect while they are under way fetches not twice
    await env.listener.run_until_idle()

    photo, note = await world.messages()
    assert (photo.media and photo.media.state, note.media and note.media.state) == (
        MediaState.STORED,
        MediaState.STORED,
    )
    assert sorted(source.calls) == sorted(source.files), "each file fetched once"
    assert await world.store.read(hashlib.sha256(VOICE).hexdigest()) == VOICE
    assert note.media is not None and note.media.transcript == "baja"
    contact = await ContactRepo(env.db).get(env.haby.client_id, CONTACT)
    assert contact.opted_out_at is not None and note.intent == "opt_out"
    assert env.sender.sent == [] and env.fake.requests == [], "nothing sent back, no model"

    source.calls = []
    await env.bus.publish(connected)
    await env.listener.run_until_idle()
    assert source.calls == [], "nothing is left pending"


async def test_a_photo_without_a_caption_is_answered_after_its_download(world: World) -> None:
    """The AI turn of a caption-less photo starts once the file is in (the model can then see
    it), not at once from a placeholder."""
    world.source.hang = True
    world.env.fake.script(Reply("¿Qué te gustaría saber de la foto?"))
    msg_id = f"false_{CONTACT}@c.us_BARE1"
    world.source.files[msg_id] = PHOTO
    await world.env.inbound("", kind="image", msg_id=msg_id, mimetype="image/jpeg")
    await asyncio.sleep(0.3)  # the AI turn's debounce is 0.05 s; each attempt waits 0.5 s
    assert world.env.fake.requests == [], "no model call while the file is being fetched"
    world.source.hang = False
    await world.env.listener.run_until_idle()
    [photo, reply] = await world.messages()
    assert photo.media is not None and photo.media.state is MediaState.STORED
    assert reply.body == "¿Qué te gustaría saber de la foto?"


async def test_a_download_cut_by_a_reconnect_waits_for_the_session_and_is_not_failed(
    world: World,
) -> None:
    """Every attempt finds the session offline (it is reconnecting): the voice note stays
    `pending`, not `failed`, and is fetched and heard once the session is connected again."""
    env, source = world.env, world.source
    world.heard.texts[VOICE] = "BAJA"
    source.failures.extend([NotLoggedIn("reconnecting")] * 3)
    await world.send("ptt", VOICE, mimetype="audio/ogg; codecs=opus")
    [note] = await world.messages()
    assert note.media is not None and note.media.state is MediaState.PENDING
    assert note.intent is None, "its rules wait for its words"
    assert len(source.calls) == 3

    connected = SessionStateChanged(
        env.haby, SessionState.RECONNECTING, SessionState.CONNECTED, None, datetime.now(UTC)
    )
    await env.bus.publish(connected)
    await env.listener.run_until_idle()
    [note] = await world.messages()
    assert note.media is not None and note.media.state is MediaState.STORED
    contact = await ContactRepo(env.db).get(env.haby.client_id, CONTACT)
    assert contact.opted_out_at is not None and note.intent == "opt_out"


async def test_downloads_through_one_session_are_few_at_a_time(world: World) -> None:
    """A burst of files from many chats does not crowd the page: at most `per_session`."""
    env, source = world.env, world.source
    running, most = 0, 0
    changed, gate = asyncio.Condition(), asyncio.Event()
    plain = source.download_media

    async def held(session_id: int, message_id: str, *, max_bytes: int) -> bytes:
        nonlocal running, most
        async with changed:
            running += 1
            most = max(most, running)
            changed.notify_all()
        try:
            await gate.wait()  # each download is held until the test has seen the limit
            return await plain(session_id, message_id, max_bytes=max_bytes)
        finally:
            running -= 1

    source.download_media = held  # type: ignore[method-assign]
    for n in range(10):
        phone = f"54911666000{n:02d}"
        msg_id = f"false_{phone}@c.us_MANY{n}"
        source.files[msg_id] = PHOTO + bytes([n])
        await env.inbound("", kind="image", msg_id=msg_id, sender=phone, mimetype="image/jpeg")
    async with asyncio.timeout(0.3), changed:  # well inside the 0.5 s a download may take
        await changed.wait_for(lambda: running == 3)
    await asyncio.sleep(0.05)  # time for a fourth to start, if anything let it
    assert running == 3
    gate.set()
    await env.listener.run_until_idle()
    assert most == MediaPolicy().per_session == 3
    assert len(source.calls) == 10, "each downloaded once, none timed out"
